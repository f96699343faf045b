//! libFuzzer entry point; the body is [`bottle_attest_fuzz::oci`], which `tests/replay.rs`
//! also runs over `corpus/oci/` on stable.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| bottle_attest_fuzz::oci(data));
