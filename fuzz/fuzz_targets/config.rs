//! Fuzz target `config`: a config's files: the YAML loader, shape check, validation, rendering and planning. The checks live in `pbx_fuzz::config` (`fuzz/src/lib.rs`), which
//! the main crate's regression test runs on the kept crash inputs too.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| pbx_fuzz::config(data));
