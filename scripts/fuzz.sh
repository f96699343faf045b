#!/usr/bin/env bash
# Run every fuzz target (or the ones named) for SECONDS each, one after the other, and print the
# executions per target. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz --locked`); CI does not run this, it replays the committed corpus
# on stable through `cargo test -p bottle-attest-fuzz` (shared/fuzz/README.md).
#
#   scripts/fuzz.sh                 # every target, 600 s each
#   scripts/fuzz.sh 60 bundle oci   # two targets, 60 s each
#
# New inputs that reach new code are added to shared/fuzz/corpus/<target>/ (minimise before
# committing: `cargo +nightly fuzz cmin <target> --fuzz-dir shared/fuzz --features libfuzzer`);
# a crash leaves its input in shared/fuzz/artifacts/<target>/. Environment: FUZZ_SANITIZER
# (default `none`: panics are what we look for, and the sanitizer halves the speed; set
# `address` to check the C code reached through aws-lc). One target at a time, one process: the
# machines have two cores and other people build on them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(bundle statement sidecar api_page formula_json oci policy_file bottle_name journal_line)
fi
sanitizer=${FUZZ_SANITIZER:-none}
fuzz=(cargo +nightly fuzz)
common=(--fuzz-dir shared/fuzz --features libfuzzer --sanitizer "$sanitizer" --debug-assertions)

logs=target/fuzz-logs
mkdir -p "$logs"
if ! "${fuzz[@]}" build "${common[@]}" >"$logs/build.log" 2>&1; then
    cat "$logs/build.log" >&2
    exit 2
fi

bin=target/$(rustc -vV | sed -n 's/^host: //p')/release
failed=()
printf '%-14s %12s %8s %10s  %s\n' target executions seconds exec/s result
for target in "${targets[@]}"; do
    log="$logs/$target.log"
    status=ok
    # The binary `cargo fuzz run` would start, started directly: built once above, so that
    # editing the sources while a long run goes on does not rebuild it between targets.
    mkdir -p "shared/fuzz/artifacts/$target"
    if ! "$bin/$target" -artifact_prefix="shared/fuzz/artifacts/$target/" \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 \
        "shared/fuzz/corpus/$target" >"$log" 2>&1; then
        status="CRASH (see $log and shared/fuzz/artifacts/$target/)"
        failed+=("$target")
    fi
    # A crashed run prints no `Done` line: grep finding nothing must not end the script
    # (set -e, pipefail) before the other targets have run.
    execs=$(grep -h 'stat::number_of_executed_units' "$log" | awk '{s += $2} END {print s + 0}' || true)
    secs=$(grep -h '^Done [0-9]* runs in' "$log" | awk '{print $5}' | sort -n | tail -1 || true)
    secs=${secs:-$seconds}
    printf '%-14s %12s %8s %10s  %s\n' "$target" "$execs" "$secs" "$((execs / (secs > 0 ? secs : 1)))" "$status"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "crashed: ${failed[*]}" >&2
    exit 1
fi
