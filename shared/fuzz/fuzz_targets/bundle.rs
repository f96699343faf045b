//! libFuzzer entry point; the body is [`bottle_attest_fuzz::bundle`], which `tests/replay.rs`
//! also runs over `corpus/bundle/` on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bottle_attest_fuzz::bundle(data));
