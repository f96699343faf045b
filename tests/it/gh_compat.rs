//! (in progress) gh-compatible mode, driven as brew drives gh.
