//! Fuzz target `sdp`: a message body: the SDP functions the engine calls (audio endpoint, codec choice, pointing at the relay, narrowing, answering). The checks live in `pbx_fuzz::sdp` (`fuzz/src/lib.rs`), which
//! the main crate's regression test runs on the kept crash inputs too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pbx_fuzz::sdp(data));
