//! Fuzz target `sip_message`: a datagram or a stream's bytes: the SIP parser, the typed header views the engine reads, the answers built from a request, and the TCP framer. The checks live in `pbx_fuzz::sip_message` (`fuzz/src/lib.rs`), which
//! the main crate's regression test runs on the kept crash inputs too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pbx_fuzz::sip_message(data));
