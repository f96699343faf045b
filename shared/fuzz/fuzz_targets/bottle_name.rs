//! libFuzzer entry point; the body is [`bottle_attest_fuzz::bottle_name`], which `tests/replay.rs`
//! also runs over `corpus/bottle_name/` on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bottle_attest_fuzz::bottle_name(data));
