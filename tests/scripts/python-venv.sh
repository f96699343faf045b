#!/usr/bin/env bash
# Creates `.venv` in the workspace root with sigstore-python 4.5.1, the independent verifier that
# tests/it/sigstore_python.rs cross-checks the test kit's bundles against (DESIGN.md section 6),
# and python-tuf 7.0.1, which writes and checks the kit's TUF repositories (tests/kit/tuf/repo.py).
# sigstore 4.5.1 already requires tuf (>=6,<8); the pin makes the TUF fixtures reproducible.
# Idempotent: an existing venv with the right versions is left alone.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
version="4.5.1"
tuf_version="7.0.1"

if [[ -x "$venv/bin/sigstore" ]] &&
    "$venv/bin/pip" show sigstore tuf 2>/dev/null | grep -x "Version: .*" | sort -u |
    diff -q - <(printf 'Version: %s\n' "$version" "$tuf_version" | sort -u) >/dev/null; then
    echo "sigstore-python $version and python-tuf $tuf_version already in $venv"
    exit 0
fi

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "sigstore==$version" "tuf==$tuf_version"
"$venv/bin/sigstore" --version
"$venv/bin/python" -c 'import tuf; print("python-tuf", tuf.__version__)'
