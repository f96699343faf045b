//! Cross-check: sigstore-python accepts what the kit mints.
