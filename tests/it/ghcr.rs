//! (in progress) GHCR client against the local registry.
