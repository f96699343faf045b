//! Smoke tests of the test kit itself (owned by the kit).
