#!/usr/bin/env bash
# Benchmarks, all measured in one run, then a summary table:
#   1. sigstore-python in-process verification of the corpus (scripts/bench_sigstore_python.py),
#      when .venv/bin/python exists; it names the cases it can verify;
#   2. `cargo bench -p bottle-attest --bench verify`, told those cases so that the comparison is
#      on the same subset; it also times the floor (each bundle's signature checks and hashes
#      alone, same keys and messages, same backend) interleaved with ours, and the ratio;
#   3. `cargo bench -p bottle-attest-net --bench hash` (SHA-256 of a 1 GiB file vs `openssl dgst`).
#
# Usage, from anywhere in the repository:  scripts/bench.sh [--quick]
# Extra arguments go to all three benchmarks (`--quick`: shorter runs). Environment:
# BENCH_HASH_SIZE_MIB (hash file size, default 1024), BENCH_PYTHON (default .venv/bin/python).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

python="${BENCH_PYTHON:-.venv/bin/python}"
logs="$(mktemp -d "${TMPDIR:-/tmp}/brew-verify-bench.XXXXXX")"
trap 'rm -rf "$logs"' EXIT

# `result KEY FILE`: the value of KEY=... on the last `RESULT` line of FILE, or `na`.
result() {
    local line
    line="$(grep '^RESULT ' "$2" | tail -n 1 || true)"
    awk -v key="$1" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == key) { print kv[2]; found = 1 } } }
        END { if (!found) print "na" }' <<<"$line"
}

# `ratio A B FORMAT [SCALE]`: SCALE*A/B printed with FORMAT, or `n/a` when either is missing.
ratio() {
    awk -v a="$1" -v b="$2" -v fmt="$3" -v scale="${4:-1}" 'BEGIN {
        if (a == "na" || b == "na" || a == "" || b == "" || b + 0 == 0) print "n/a"
        else printf fmt "\n", scale * a / b }'
}

section() { printf '\n==== %s ====\n' "$1"; }

section "build (bench profile)"
cargo bench -p bottle-attest --bench verify --no-run
cargo bench -p bottle-attest-net --bench hash --no-run

compare_ids=""
have_python=0
section "sigstore-python"
if [[ -x "$python" ]]; then
    have_python=1
    "$python" scripts/bench_sigstore_python.py ${@+"$@"} | tee "$logs/python.txt"
    compare_ids="$(sed -n 's/^PYTHON_CASES //p' "$logs/python.txt" | tail -n 1)"
else
    echo "skipped: $python not found."
    echo "hint: create it with \`bash tests/scripts/python-venv.sh\` (sigstore-python 4.5.1), then rerun."
    : >"$logs/python.txt"
fi

section "bottle-attest verify"
BENCH_VERIFY_COMPARE_IDS="$compare_ids" \
    cargo bench -q -p bottle-attest --bench verify -- ${@+"$@"} | tee "$logs/verify.txt"

section "bottle-attest hash"
cargo bench -q -p bottle-attest-net --bench hash -- ${@+"$@"} | tee "$logs/hash.txt"

ours_all="$(result verify_median_us "$logs/verify.txt")"
ours_all_p90="$(result verify_p90_us "$logs/verify.txt")"
ours_cases="$(result cases "$logs/verify.txt")"
ours_sub="$(result pysubset_median_us "$logs/verify.txt")"
ours_sub_p90="$(result pysubset_p90_us "$logs/verify.txt")"
ours_sub_cases="$(result pysubset_cases "$logs/verify.txt")"
root_us="$(result trust_root_build_us "$logs/verify.txt")"
target_met="$(result target_met "$logs/verify.txt")"
gh_ours="$(result floor_gh_ours_us "$logs/verify.txt")"
gh_floor="$(result floor_gh_floor_us "$logs/verify.txt")"
gh_ratio="$(result floor_gh_ratio "$logs/verify.txt")"
gh_cases="$(result floor_gh_cases "$logs/verify.txt")"
all_ours="$(result floor_all_ours_us "$logs/verify.txt")"
all_floor="$(result floor_all_floor_us "$logs/verify.txt")"
all_ratio="$(result floor_all_ratio "$logs/verify.txt")"
max_ratio="$(result floor_max_ratio "$logs/verify.txt")"
floor_target="$(result floor_target "$logs/verify.txt")"
floor_met="$(result floor_target_met "$logs/verify.txt")"
py="$(result python_verify_median_us "$logs/python.txt")"
py_p90="$(result python_verify_p90_us "$logs/python.txt")"
py_cases="$(result cases "$logs/python.txt")"
py_root_us="$(result python_verifier_build_us "$logs/python.txt")"
h_ours="$(result hash_ours_gib_s "$logs/hash.txt")"
h_ssl="$(result hash_openssl_gib_s "$logs/hash.txt")"
h_mem="$(result hash_in_memory_gib_s "$logs/hash.txt")"
h_size="$(result size_mib "$logs/hash.txt")"

section "summary (one run, $(uname -m), $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo '?') CPUs)"
printf '%-46s %12s %12s\n' "" "median" "p90"
printf '%-46s %9s µs %9s µs\n' "verify, bottle-attest, all $ours_cases cases" "$ours_all" "$ours_all_p90"
printf '%-46s %9s µs %9s µs\n' "verify, bottle-attest, python-comparable $ours_sub_cases" "$ours_sub" "$ours_sub_p90"
if [[ "$have_python" == 1 ]]; then
    printf '%-46s %9s µs %9s µs\n' "verify, sigstore-python, $py_cases cases" "$py" "$py_p90"
    printf '%-46s %12s\n' "  sigstore-python / bottle-attest (same cases)" "$(ratio "$py" "$ours_sub" '%.2fx')"
else
    printf '%-46s %12s\n' "verify, sigstore-python" "not run"
fi
printf '%-46s %9s µs\n' "trusted root build, bottle-attest (once)" "$root_us"
if [[ "$have_python" == 1 ]]; then
    printf '%-46s %9s µs\n' "trusted root build, sigstore-python (once)" "$py_root_us"
fi
case "$target_met" in
    true) target_text="met" ;;
    false) target_text="NOT met" ;;
    *) target_text="n/a" ;;
esac
printf '%-46s %12s\n' "  target: bottle-attest median < 500 µs" "$target_text"
printf '%-46s %12s %12s %7s\n' "medians, interleaved in one run" "ours" "floor" "ratio"
printf '%-46s %9s µs %9s µs %7s\n' "ours vs floor, GitHub attestations ($gh_cases)" "$gh_ours" "$gh_floor" "${gh_ratio}x"
printf '%-46s %9s µs %9s µs %7s\n' "ours vs floor, all cases (median ratio)" "$all_ours" "$all_floor" "${all_ratio}x"
printf '%-46s %12s\n' "  worst case ratio" "${max_ratio}x"
case "$floor_met" in
    true) floor_text="met" ;;
    false) floor_text="NOT met" ;;
    *) floor_text="n/a" ;;
esac
printf '%-46s %12s\n' "  target: GitHub attestations <= ${floor_target}x floor" "$floor_text"
printf '%-46s %7s GiB/s\n' "sha256 ${h_size} MiB file, bottle-attest" "$h_ours"
printf '%-46s %7s GiB/s\n' "sha256 ${h_size} MiB file, openssl dgst" "$h_ssl"
printf '%-46s %12s\n' "  bottle-attest / openssl (target >= 90%)" "$(ratio "$h_ours" "$h_ssl" '%.1f%%' 100)"
printf '%-46s %7s GiB/s\n' "sha256 in memory, no I/O (ceiling)" "$h_mem"
