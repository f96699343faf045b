#!/usr/bin/env bash
# The project's test command (README, "Set up"). Installs what the tests need that cargo does
# not — sigstore-python 4.5.1 in .venv, the independent verifier the test kit is checked
# against — then runs every test of the workspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash tests/scripts/python-venv.sh
cargo test --workspace --locked "$@"
