#!/usr/bin/env bash
# The pure core (`bottle-attest`, shared/core) must not depend on anything that does network
# I/O: no async runtime, no HTTP client, no TLS stack (issue 12). Its source is kept free of
# std::fs/env/net by shared/core/clippy.toml; this checks its dependency graph. CI runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

forbidden='^(tokio|tokio-util|reqwest|hyper|hyper-util|hyper-rustls|h2|http-body|rustls|tokio-rustls|mio|socket2|octocrab|oci-client)$'
found=$(cargo tree -p bottle-attest -e normal --prefix none --locked \
    | awk '{print $1}' | sort -u | grep -E "$forbidden" || true)
if [ -n "$found" ]; then
    echo "error: the pure core bottle-attest depends on network crates:" >&2
    echo "$found" | sed 's/^/  /' >&2
    echo "  (see: cargo tree -p bottle-attest -e normal -i <crate>)" >&2
    exit 1
fi
echo "purity: bottle-attest has no network, runtime or TLS dependency"
