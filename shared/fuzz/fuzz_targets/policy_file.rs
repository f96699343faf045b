//! libFuzzer entry point; the body is [`bottle_attest_fuzz::policy_file`], which `tests/replay.rs`
//! also runs over `corpus/policy_file/` on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bottle_attest_fuzz::policy_file(data));
