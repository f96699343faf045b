#!/usr/bin/env bash
# Creates `.venv` in the workspace root with sigstore-python 4.5.1, the independent verifier that
# tests/it/sigstore_python.rs cross-checks the test kit's bundles against (DESIGN.md section 6).
# Idempotent: an existing venv with the right version is left alone.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
version="4.5.1"

if [[ -x "$venv/bin/sigstore" ]] && "$venv/bin/pip" show sigstore 2>/dev/null | grep -qx "Version: $version"; then
    echo "sigstore-python $version already in $venv"
    exit 0
fi

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "sigstore==$version"
"$venv/bin/sigstore" --version
