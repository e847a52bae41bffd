//! SIP messages: parse and print, sans-io (being written).
