#!/usr/bin/env bash
# The project's test command (README, "Set up"). Installs what the tests need that cargo does
# not, when it is missing and we may: sigstore-python 4.5.1 in .venv (the independent verifier
# the test kit is checked against), and from Debian docker-registry (the local GHCR stand-in)
# and ruby (brew's side of the gh-compatible contract). Then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v ruby >/dev/null 2>&1 || need+=(ruby)
python3 -c 'import ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
    else
        echo "note: missing ${need[*]}; the tests that need them skip (under CI they fail)." >&2
        echo "      install with: sudo apt-get install ${need[*]}" >&2
    fi
fi
bash tests/scripts/python-venv.sh
cargo test --workspace --locked "$@"
# The vendored, patched dependencies (patches/*/PATCH.md): their own library tests, which
# compare each change with the published crate's behaviour. Not workspace members, so run here.
for crate in patches/*/; do
    CARGO_TARGET_DIR=target/patches cargo test --manifest-path "${crate}Cargo.toml" --lib --locked
done
