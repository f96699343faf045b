//! libFuzzer entry point; the body is [`bottle_attest_fuzz::api_page`], which `tests/replay.rs`
//! also runs over `corpus/api_page/` on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bottle_attest_fuzz::api_page(data));
