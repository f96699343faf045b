#!/usr/bin/env python3
"""In-process sigstore-python verification of the corpus, for comparison with `cargo bench
-p bottle-attest --bench verify`.

Same work per bundle as the Rust benchmark: parse the bundle JSON (`Bundle.from_json`) and verify
it with an exact `Identity(identity=..., issuer=...)` policy against the production root, the
artifact digest known in advance (computed outside the timed region). For DSSE bundles the
in-toto statement's subjects are also matched against the digest, as `sigstore verify` does and
as the Rust verifier does inside `verify_bundle_exact`.

Cases: every PASS case of tests/fixtures/corpus/cases.json with root `production`, except those
sigstore-python 4.5.1 cannot verify: bundles with an `intoto/0.0.2` log entry (it accepts only
`dsse/0.0.1` and `hashedrekord`) and `sha512:` inputs (it verifies SHA-256 only). A case that
sigstore-python rejects for another reason is skipped and named, not timed.

Run with the workspace venv: `.venv/bin/python scripts/bench_sigstore_python.py [--quick]`.
No network: every non-loopback connection is refused (the trusted root comes from
sigstore-python's offline cache, seeded from its embedded copy).

Output: a report, then `PYTHON_CASES id,id,...` (the cases timed, for `scripts/bench.sh` to
compare the same subset) and, last, `RESULT python_verify_median_us=... ...`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fixtures" / "corpus"
CORPUS_PRODUCTION_ROOT = CORPUS / "roots" / "trusted_root.production.json"
INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"


def _refuse_network() -> None:
    """Make any non-loopback connection fail loudly: the benchmark must stay offline."""
    real_connect = socket.socket.connect

    def connect(self: socket.socket, address: object) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0] if isinstance(address, tuple) else address
            if host not in ("127.0.0.1", "::1", "localhost"):
                raise OSError(f"bench_sigstore_python: network access refused ({address!r})")
        return real_connect(self, address)

    socket.socket.connect = connect  # type: ignore[method-assign]


_refuse_network()

try:
    from sigstore.hashes import Hashed
    from sigstore.models import Bundle, TrustedRoot
    from sigstore.verify import Verifier
    from sigstore.verify.policy import Identity
    from sigstore_models.common.v1 import HashAlgorithm
except ImportError as e:  # pragma: no cover - environment problem
    sys.exit(
        f"error: cannot import sigstore ({e}).\n"
        "hint: create the venv with `bash tests/scripts/python-venv.sh` and run this script "
        "with `.venv/bin/python`"
    )


def quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated quantile of sorted samples (same definition as the Rust bench)."""
    if not sorted_values:
        return float("nan")
    pos = q * (len(sorted_values) - 1)
    lo, hi = int(pos), min(int(pos) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bundle_texts(raw: bytes) -> list[bytes]:
    """The bundle(s) in a file: one bundle, JSON Lines, an attestations API body, or an array."""
    try:
        value = json.loads(raw)
    except ValueError:
        return [line for line in raw.splitlines() if line.strip()]
    if isinstance(value, dict) and "attestations" in value:
        return [json.dumps(a["bundle"]).encode() for a in value["attestations"] if "bundle" in a]
    if isinstance(value, list):
        return [json.dumps(v).encode() for v in value]
    return [raw]


def entry_kinds(text: bytes) -> list[str]:
    value = json.loads(text)
    entries = value.get("verificationMaterial", {}).get("tlogEntries", [])
    return [f"{e['kindVersion']['kind']}/{e['kindVersion']['version']}" for e in entries]


class Prepared:
    def __init__(self, case: dict, texts: list[bytes], sha256: bytes) -> None:
        self.id: str = case["id"]
        self.texts = texts
        self.sha256 = sha256
        self.hashed = Hashed(algorithm=HashAlgorithm.SHA2_256, digest=sha256)
        self.policy = Identity(identity=case["identity"], issuer=case["issuer"])
        self.kinds = entry_kinds(texts[0])


def verify_one(verifier: Verifier, case: Prepared, text: bytes) -> None:
    """Parse + verify one bundle; raises on failure."""
    bundle = Bundle.from_json(text)
    if bundle._dsse_envelope is not None:
        payload_type, payload = verifier.verify_dsse(bundle, case.policy)
        if payload_type != INTOTO_PAYLOAD_TYPE:
            raise ValueError(f"unexpected DSSE payload type {payload_type}")
        statement = json.loads(payload)
        want = case.sha256.hex()
        if not any(s.get("digest", {}).get("sha256") == want for s in statement["subject"]):
            raise ValueError("no statement subject matches the artifact digest")
    else:
        verifier.verify_artifact(case.hashed, bundle, case.policy)


def run_case(verifier: Verifier, case: Prepared) -> None:
    """Like the Rust bench: the case passes if any bundle in the file verifies."""
    errors = []
    for text in case.texts:
        try:
            verify_one(verifier, case, text)
            return
        except Exception as e:  # noqa: BLE001 - collected and re-raised below
            errors.append(f"{type(e).__name__}: {e}")
    raise RuntimeError("; ".join(errors))


def load_verifier(force_file: bool) -> tuple[Verifier, str, float]:
    corpus_root = TrustedRoot.from_file(str(CORPUS_PRODUCTION_ROOT))
    start = time.perf_counter()
    if force_file:
        verifier = Verifier(trusted_root=corpus_root)
        how = f"Verifier(trusted_root=TrustedRoot.from_file({CORPUS_PRODUCTION_ROOT.relative_to(ROOT)}))"
    else:
        verifier = Verifier.production(offline=True)
        how = "Verifier.production(offline=True)"
    elapsed_us = (time.perf_counter() - start) * 1e6
    if not force_file and verifier._trusted_root._inner != corpus_root._inner:
        # The offline TUF cache holds a root other than the embedded one the Rust side uses:
        # fall back to the corpus copy so that both verify against the same root.
        print(
            "warning: the offline TUF cache's trusted root differs from "
            f"{CORPUS_PRODUCTION_ROOT.relative_to(ROOT)}; using the corpus file instead",
            file=sys.stderr,
        )
        return load_verifier(True)
    return verifier, how, elapsed_us


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few rounds, ~0.5 s budget")
    parser.add_argument(
        "--root-file",
        action="store_true",
        help="build the verifier from the corpus trusted_root.production.json, not the TUF cache",
    )
    parser.add_argument("--budget", type=float, default=None, help="timed seconds (default 5)")
    args, _unknown = parser.parse_known_args()  # ignore e.g. `--bench` like the Rust benches
    warmup, min_rounds, max_rounds, budget = (1, 3, 30, 0.5) if args.quick else (3, 10, 200, 5.0)
    if args.budget is not None:
        budget = args.budget

    cases = json.loads((CORPUS / "cases.json").read_text())
    cases = [c for c in cases if c["expected"] == "PASS" and c["root"] == "production"]

    prepared: list[Prepared] = []
    skipped: list[tuple[str, str]] = []
    for case in cases:
        raw = (CORPUS / case["bundle"]).read_bytes()
        texts = bundle_texts(raw)
        kinds = sorted({k for t in texts for k in entry_kinds(t)})
        inp: str = case["input"]
        if inp.startswith("sha512:"):
            skipped.append((case["id"], "sha512 input (sigstore-python verifies SHA-256 only)"))
            continue
        if any(k.startswith("intoto/") for k in kinds):
            skipped.append((case["id"], f"{', '.join(kinds)} entry (unsupported by sigstore-python)"))
            continue
        if inp.startswith("sha256:"):
            sha256 = bytes.fromhex(inp.removeprefix("sha256:"))
        else:
            sha256 = hashlib.sha256((CORPUS / inp).read_bytes()).digest()
        prepared.append(Prepared(case, texts, sha256))

    verifier, how, verifier_us = load_verifier(args.root_file)

    # One untimed pass: anything sigstore-python rejects is reported and left out.
    timed: list[Prepared] = []
    for case in prepared:
        try:
            run_case(verifier, case)
            timed.append(case)
        except Exception as e:  # noqa: BLE001
            skipped.append((case.id, f"sigstore-python rejects it: {e}"))
    if not timed:
        print("error: sigstore-python verified none of the cases", file=sys.stderr)
        return 1

    for _ in range(warmup):
        for case in timed:
            run_case(verifier, case)

    samples: dict[str, list[float]] = {c.id: [] for c in timed}
    rounds = 0
    started = time.perf_counter()
    while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() - started < budget):
        for case in timed:
            t0 = time.perf_counter_ns()
            run_case(verifier, case)
            samples[case.id].append((time.perf_counter_ns() - t0) / 1e3)
        rounds += 1
    wall = time.perf_counter() - started

    pooled = sorted(s for v in samples.values() for s in v)
    median, p90 = quantile(pooled, 0.5), quantile(pooled, 0.9)
    import sigstore

    print(
        f"sigstore-python {sigstore.__version__} (Python {sys.version.split()[0]}), "
        f"mode {'quick' if args.quick else 'full'}: {len(timed)} cases x {rounds} rounds = "
        f"{len(pooled)} samples in {wall:.2f} s (after {warmup} warm-up rounds)"
    )
    print(f"verifier: {how}, built in {verifier_us:.0f} µs (once, not in the per-bundle numbers)")
    print()
    print("per bundle, Bundle.from_json + verify (µs):")
    print(
        f"  {len(timed)} cases   median {median:8.1f}  p90 {p90:8.1f}  "
        f"mean {statistics.fmean(pooled):8.1f}"
    )
    print()
    print("every case (median / p90 µs):")
    for case in timed:
        s = sorted(samples[case.id])
        print(
            f"  {case.id:<47} {', '.join(case.kinds):<20} "
            f"{quantile(s, 0.5):8.1f} / {quantile(s, 0.9):8.1f}"
        )
    print()
    print(f"skipped {len(skipped)} of {len(cases)} PASS production cases:")
    for case_id, why in skipped:
        print(f"  {case_id:<47} {why}")
    print()
    print("PYTHON_CASES " + ",".join(c.id for c in timed))
    print(
        f"RESULT python_verify_median_us={median:.1f} python_verify_p90_us={p90:.1f} "
        f"python_verifier_build_us={verifier_us:.0f} cases={len(timed)} skipped={len(skipped)} "
        f"rounds={rounds}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
