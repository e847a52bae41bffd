//! The RFC 3261 transaction state machines, sans-io (being written).
