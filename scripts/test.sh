#!/usr/bin/env bash
# The project's test command (README, "Set up"). Installs what the tests need that cargo does
# not — sigstore-python 4.5.1 in .venv (the independent verifier the test kit is checked
# against) and Debian's docker-registry (the local GHCR stand-in), when missing and when we
# may — then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tests/scripts/python-venv.sh
if ! command -v docker-registry >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry
    else
        echo "note: docker-registry is not installed; the registry tests will skip (apt-get install docker-registry)" >&2
    fi
fi
cargo test --workspace --locked "$@"
