//! libFuzzer entry point; the body is [`bottle_attest_fuzz::formula_json`], which `tests/replay.rs`
//! also runs over `corpus/formula_json/` on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bottle_attest_fuzz::formula_json(data));
