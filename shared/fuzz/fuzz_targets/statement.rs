//! libFuzzer entry point; the body is [`bottle_attest_fuzz::statement`], which `tests/replay.rs`
//! also runs over `corpus/statement/` on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bottle_attest_fuzz::statement(data));
