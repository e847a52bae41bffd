//! Fuzz target `admin_body`: an admin API request body: the apply body and the password-rotation body, read as the handlers read them. The checks live in `pbx_fuzz::admin_body` (`fuzz/src/lib.rs`), which
//! the main crate's regression test runs on the kept crash inputs too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pbx_fuzz::admin_body(data));
