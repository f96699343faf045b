//! libFuzzer entry point; the body is [`bottle_attest_fuzz::journal_line`], which `tests/replay.rs`
//! also runs over `corpus/journal_line/` on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bottle_attest_fuzz::journal_line(data));
