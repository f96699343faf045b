#!/usr/bin/env python3
"""A TUF repository for the test kit, made with python-tuf's Metadata API.

brew-verify refreshes its Sigstore trusted root through TUF with the Rust `sigstore-tuf` crate.
To test that client against something it did not produce itself, the kit's repositories are
written here by python-tuf (an independent implementation, the one sigstore-python uses) and
then checked with python-tuf's own client, `tuf.ngclient.Updater`, so every fixture is real TUF.

Layout (as Sigstore's repositories, consistent snapshots):

    OUT/root.json, OUT/N.root.json (every version), OUT/timestamp.json,
    OUT/N.snapshot.json, OUT/N.targets.json, OUT/targets/<sha256-hex>.trusted_root.json

Usage (driven by tests/kit/tuf.rs):

    repo.py apply STATE OUT < plan.json   # run the plan's steps; prints one JSON line per state
    repo.py check URL_OR_DIR CACHE [--bootstrap ROOT]   # python-tuf's client; prints JSON

STATE holds the keys (PEM), the good repository (`good/`), the good timestamps ever published
(`history/`), version high-water marks (`state.json`) and the warm ngclient cache the
self-check uses (`client/`). Each step writes one complete repository directory OUT/NNNN-label.

A plan is `{"steps": [STEP, ...]}`. Good steps change the repository and every later state:

    {"op": "init", "trusted_root": PATH, "key_types": {"root": "ecdsa", ...}, "expires": {...}}
    {"op": "publish", "trusted_root": PATH}          new trusted_root.json target
    {"op": "rotate", "roles": ["root", "timestamp"]}  new keys; root vN+1 signed by old and new
    {"op": "set_expiry", "expires": {"timestamp": RFC3339, ...}}   (future times only)

Attack steps write one hostile state and leave the good repository as it was (but consume the
version numbers they used, so a later good version is always above anything a client saw):

    {"op": "attack", "kind": "expired", "role": "timestamp"|"snapshot"|"targets"|"root"}
    {"op": "attack", "kind": "replay_timestamp"}     the previous good timestamp, verbatim
    {"op": "attack", "kind": "replay_snapshot"}      a fresh timestamp pinning an older snapshot
    {"op": "attack", "kind": "target_hash_mismatch", "trusted_root": PATH}
    {"op": "attack", "kind": "root_below_threshold"} root vN+1 wanting 2 signatures, with 1

Any step may carry a "label" naming its directory. An expired root is a root version the client
keeps (it verifies before its expiry is checked), so nothing good can follow that attack.

Every state is self-checked with python-tuf's client: a good state must refresh from root v1
(fresh cache) and from the warm cache, yielding the newest trusted_root.json; an attack state
must be refused from the warm cache with the exception the attack calls for. A state that
fails its check makes the script exit 1: a fixture that is not what it claims is a broken test.
"""

from __future__ import annotations

import copy
import hashlib
import json
import shutil
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib import parse

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api import exceptions
from tuf.api.metadata import (
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer
from tuf.ngclient import Updater
from tuf.ngclient.fetcher import FetcherInterface

TOP_LEVEL = ("root", "timestamp", "snapshot", "targets")
TARGET = "trusted_root.json"
# Sigstore's repositories keep root for a year and renew the online roles often.
DEFAULT_EXPIRY = {"root": 365, "targets": 180, "snapshot": 30, "timestamp": 7}
# Which python-tuf exception a client must raise for each attack (the self-check's oracle).
ATTACK_ERRORS = {
    "expired": exceptions.ExpiredMetadataError,
    "replay_timestamp": exceptions.BadVersionNumberError,
    "replay_snapshot": exceptions.BadVersionNumberError,
    "target_hash_mismatch": exceptions.LengthOrHashMismatchError,
    "root_below_threshold": exceptions.UnsignedMetadataError,
}
# Pretty, sorted JSON like Sigstore's repositories (signatures cover canonical JSON anyway).
SERIALIZER = JSONSerializer(compact=False)


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


class Repo:
    """The good repository and its keys, persisted in STATE between runs."""

    def __init__(self, state: Path) -> None:
        self.state = state
        self.good = state / "good"
        self.keys = state / "keys"
        self.history = state / "history"
        meta = json.loads((state / "state.json").read_text()) if (state / "state.json").exists() else {}
        # Highest version of each online role any state (good or attack) has used.
        self.high: dict[str, int] = meta.get("high", {})
        # Key names (files under keys/) of each role, and the key types new keys get.
        self.role_keys: dict[str, list[str]] = meta.get("role_keys", {})
        self.key_types: dict[str, str] = meta.get("key_types", {})
        self.counter: int = meta.get("counter", 0)
        self.published: bytes | None = None
        if (self.good / "root.json").exists():
            self.root = Metadata[Root].from_file(str(self.good / "root.json"))
            self.timestamp = Metadata[Timestamp].from_file(str(self.good / "timestamp.json"))
            snap_version = self.timestamp.signed.snapshot_meta.version
            self.snapshot = Metadata[Snapshot].from_file(str(self.good / f"{snap_version}.snapshot.json"))
            targets_version = self.snapshot.signed.meta["targets.json"].version
            self.targets = Metadata[Targets].from_file(str(self.good / f"{targets_version}.targets.json"))
            info = self.targets.signed.targets[TARGET]
            self.published = (self.good / "targets" / f"{info.hashes['sha256']}.{TARGET}").read_bytes()

    def save(self) -> None:
        meta = {
            "high": self.high,
            "role_keys": self.role_keys,
            "key_types": self.key_types,
            "counter": self.counter,
        }
        (self.state / "state.json").write_text(json.dumps(meta, indent=1))

    # Keys ------------------------------------------------------------------------------------

    def new_key(self, role: str) -> tuple[str, CryptoSigner]:
        """A fresh key for `role`, saved as keys/<role>-<n>.pem; returns its name and signer."""
        kind = self.key_types.get(role, "ecdsa")
        signer = CryptoSigner.generate_ed25519() if kind == "ed25519" else CryptoSigner.generate_ecdsa()
        self.keys.mkdir(parents=True, exist_ok=True)
        existing = len(list(self.keys.glob(f"{role}-*.pem")))
        name = f"{role}-{existing + 1}"
        (self.keys / f"{name}.pem").write_bytes(signer.private_bytes)
        return name, signer

    def signer(self, name: str) -> CryptoSigner:
        private = load_pem_private_key((self.keys / f"{name}.pem").read_bytes(), password=None)
        return CryptoSigner(private)  # type: ignore[arg-type]

    def signers(self, role: str) -> list[CryptoSigner]:
        return [self.signer(name) for name in self.role_keys[role]]

    # Signing ---------------------------------------------------------------------------------

    def sign(self, md: Metadata, signers: list[CryptoSigner]) -> Metadata:
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        return md

    def bump(self, role: str) -> int:
        version = self.high.get(role, 0) + 1
        self.high[role] = version
        return version

    def expiry(self, role: str, expires: dict[str, str] | None) -> datetime:
        if expires and role in expires:
            return parse_time(expires[role])
        return now() + timedelta(days=DEFAULT_EXPIRY[role])

    def new_targets(self, target: bytes, expires: dict | None) -> Metadata[Targets]:
        targets = copy.deepcopy(self.targets)
        targets.signed.version = self.bump("targets")
        targets.signed.expires = self.expiry("targets", expires)
        targets.signed.targets[TARGET] = TargetFile.from_data(TARGET, target, ["sha256"])
        return self.sign(targets, self.signers("targets"))

    def new_snapshot(self, targets: Metadata[Targets], expires: dict | None) -> Metadata[Snapshot]:
        snapshot = copy.deepcopy(self.snapshot)
        snapshot.signed.version = self.bump("snapshot")
        snapshot.signed.expires = self.expiry("snapshot", expires)
        snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
        return self.sign(snapshot, self.signers("snapshot"))

    def new_timestamp(
        self, snapshot: Metadata[Snapshot], expires: dict | None, snapshot_bytes: bytes | None = None
    ) -> Metadata[Timestamp]:
        """A new timestamp pinning `snapshot` by version, length and hash (of `snapshot_bytes`,
        the file as served, when given)."""
        timestamp = copy.deepcopy(self.timestamp)
        timestamp.signed.version = self.bump("timestamp")
        timestamp.signed.expires = self.expiry("timestamp", expires)
        snapshot_bytes = snapshot_bytes or snapshot.to_bytes(SERIALIZER)
        timestamp.signed.snapshot_meta = MetaFile.from_data(snapshot.signed.version, snapshot_bytes, ["sha256"])
        return self.sign(timestamp, self.signers("timestamp"))

    # Steps -----------------------------------------------------------------------------------

    def init(self, step: dict) -> None:
        self.key_types = {role: "ecdsa" for role in TOP_LEVEL} | step.get("key_types", {})
        expires = step.get("expires")
        root = Metadata(Root(expires=self.expiry("root", expires), consistent_snapshot=True))
        signers = {}
        for role in TOP_LEVEL:
            name, signer = self.new_key(role)
            root.signed.add_key(signer.public_key, role)
            signers[role] = signer
            self.role_keys[role] = [name]
        self.root = self.sign(root, [signers["root"]])
        target = Path(step["trusted_root"]).read_bytes()
        # Templates: commit_target gives each its first version, 1.
        self.targets = Metadata(Targets())
        self.snapshot = Metadata(Snapshot())
        self.timestamp = Metadata(Timestamp())
        self.commit_target(target, expires)

    def commit_target(self, target: bytes, expires: dict | None) -> None:
        self.targets = self.new_targets(target, expires)
        self.snapshot = self.new_snapshot(self.targets, expires)
        self.timestamp = self.new_timestamp(self.snapshot, expires)
        self.published = target

    def publish(self, step: dict) -> None:
        self.commit_target(Path(step["trusted_root"]).read_bytes(), step.get("expires"))

    def rotate(self, step: dict) -> None:
        roles = step.get("roles", ["root"])
        old_root_signers = self.signers("root")
        root = copy.deepcopy(self.root)
        root.signed.version += 1
        root.signed.expires = self.expiry("root", step.get("expires"))
        for role in roles:
            for keyid in list(root.signed.roles[role].keyids):
                root.signed.revoke_key(keyid, role)
            name, signer = self.new_key(role)
            root.signed.add_key(signer.public_key, role)
            self.role_keys[role] = [name]
        # Signed by the old root's keys (the client's trust carries over) and the new ones
        # (the new root vouches for itself), as TUF requires of every root rotation.
        self.root = self.sign(root, old_root_signers + self.signers("root"))
        # Online roles re-signed under their (possibly new) keys, new versions throughout.
        self.commit_target(self.published or b"", step.get("expires"))

    def set_expiry(self, step: dict) -> None:
        expires = step["expires"]
        for role, text in expires.items():
            if parse_time(text) <= now():
                raise ValueError(f"set_expiry wants a future time for {role}; use the 'expired' attack")
        if "root" in expires:
            root = copy.deepcopy(self.root)
            root.signed.version += 1
            root.signed.expires = parse_time(expires["root"])
            self.root = self.sign(root, self.signers("root"))
        self.commit_target(self.published or b"", expires)

    # Writing ---------------------------------------------------------------------------------

    def write_good(self) -> None:
        """Add the current metadata to good/ (older versions stay, as in a real repository)."""
        self.good.mkdir(parents=True, exist_ok=True)
        (self.good / "targets").mkdir(exist_ok=True)
        root_bytes = self.root.to_bytes(SERIALIZER)
        (self.good / f"{self.root.signed.version}.root.json").write_bytes(root_bytes)
        (self.good / "root.json").write_bytes(root_bytes)
        (self.good / f"{self.snapshot.signed.version}.snapshot.json").write_bytes(self.snapshot.to_bytes(SERIALIZER))
        (self.good / f"{self.targets.signed.version}.targets.json").write_bytes(self.targets.to_bytes(SERIALIZER))
        timestamp_bytes = self.timestamp.to_bytes(SERIALIZER)
        (self.good / "timestamp.json").write_bytes(timestamp_bytes)
        self.history.mkdir(exist_ok=True)
        (self.history / f"{self.timestamp.signed.version}.timestamp.json").write_bytes(timestamp_bytes)
        assert self.published is not None
        digest = hashlib.sha256(self.published).hexdigest()
        (self.good / "targets" / f"{digest}.{TARGET}").write_bytes(self.published)

    def attack(self, step: dict, out: Path) -> None:
        """Write a hostile state to `out` (a copy of good/), leaving the good repository alone."""
        kind = step["kind"]
        saved = (self.root, self.timestamp, self.snapshot, self.targets, self.published)
        try:
            if kind == "expired":
                role = step.get("role", "timestamp")
                past = (now() - timedelta(days=1)).isoformat()
                if role == "root":
                    root = copy.deepcopy(self.root)
                    root.signed.version += 1
                    root.signed.expires = parse_time(past)
                    root = self.sign(root, self.signers("root"))
                    (out / f"{root.signed.version}.root.json").write_bytes(root.to_bytes(SERIALIZER))
                    (out / "root.json").write_bytes(root.to_bytes(SERIALIZER))
                else:
                    self.commit_target(self.published or b"", {role: past})
                    self.write_online(out)
            elif kind == "replay_timestamp":
                versions = sorted(int(p.name.split(".")[0]) for p in self.history.glob("*.timestamp.json"))
                older = [v for v in versions if v < self.timestamp.signed.version]
                if not older:
                    raise ValueError("replay_timestamp needs an earlier good timestamp")
                shutil.copy(self.history / f"{older[-1]}.timestamp.json", out / "timestamp.json")
            elif kind == "replay_snapshot":
                older = self.snapshot.signed.version - 1
                while older > 0 and not (self.good / f"{older}.snapshot.json").exists():
                    older -= 1
                if older <= 0:
                    raise ValueError("replay_snapshot needs an earlier good snapshot")
                old_bytes = (self.good / f"{older}.snapshot.json").read_bytes()
                self.snapshot = Metadata[Snapshot].from_bytes(old_bytes)
                self.timestamp = self.new_timestamp(self.snapshot, None, old_bytes)
                (out / "timestamp.json").write_bytes(self.timestamp.to_bytes(SERIALIZER))
            elif kind == "target_hash_mismatch":
                target = Path(step["trusted_root"]).read_bytes()
                self.commit_target(target, None)
                self.write_online(out)
                # Same length, one byte changed: the hash check, not the length check, fires.
                tampered = bytearray(target)
                tampered[len(tampered) // 2] ^= 0x01
                digest = hashlib.sha256(target).hexdigest()
                (out / "targets" / f"{digest}.{TARGET}").write_bytes(bytes(tampered))
            elif kind == "root_below_threshold":
                root = copy.deepcopy(self.root)
                root.signed.version += 1
                _, extra = self.new_key("root")
                root.signed.add_key(extra.public_key, "root")
                root.signed.roles["root"].threshold = 2
                # Only the current root key signs: the old root's threshold (1) is met, the
                # new root's own threshold (2) is not.
                root = self.sign(root, self.signers("root"))
                (out / f"{root.signed.version}.root.json").write_bytes(root.to_bytes(SERIALIZER))
            else:
                raise ValueError(f"unknown attack {kind!r}")
        finally:
            self.root, self.timestamp, self.snapshot, self.targets, self.published = saved

    def write_online(self, out: Path) -> None:
        """Write the current (attack-modified) online metadata and target into `out`."""
        (out / f"{self.snapshot.signed.version}.snapshot.json").write_bytes(self.snapshot.to_bytes(SERIALIZER))
        (out / f"{self.targets.signed.version}.targets.json").write_bytes(self.targets.to_bytes(SERIALIZER))
        (out / "timestamp.json").write_bytes(self.timestamp.to_bytes(SERIALIZER))
        assert self.published is not None
        digest = hashlib.sha256(self.published).hexdigest()
        (out / "targets" / f"{digest}.{TARGET}").write_bytes(self.published)

    def describe(self) -> dict:
        return {
            "root_version": self.root.signed.version,
            "timestamp_version": self.timestamp.signed.version,
            "snapshot_version": self.snapshot.signed.version,
            "targets_version": self.targets.signed.version,
            "target_sha256": hashlib.sha256(self.published or b"").hexdigest(),
        }


# python-tuf's client ------------------------------------------------------------------------


class FileFetcher(FetcherInterface):
    """ngclient's fetcher for `file://` URLs: a missing file is a 404, as over HTTP."""

    def _fetch(self, url: str) -> Iterator[bytes]:
        path = Path(parse.unquote(parse.urlparse(url).path))
        if not path.is_file():
            raise exceptions.DownloadHTTPError(f"{path} not found", 404)
        return iter([path.read_bytes()])


def client_check(base: str, cache: Path, bootstrap: Path | None) -> dict:
    """Refresh with python-tuf's ngclient and fetch trusted_root.json; never raises for TUF."""
    if "://" in base:
        url, fetcher = base.rstrip("/") + "/", None
    else:
        url, fetcher = Path(base).resolve().as_uri() + "/", FileFetcher()
    cache.mkdir(parents=True, exist_ok=True)
    targets_dir = cache / "targets"
    targets_dir.mkdir(exist_ok=True)
    result: dict = {"ok": False, "error_type": None, "error": None}
    try:
        updater = Updater(
            metadata_dir=str(cache),
            metadata_base_url=url,
            target_base_url=url + "targets/",
            target_dir=str(targets_dir),
            fetcher=fetcher,
            bootstrap=bootstrap.read_bytes() if bootstrap else None,
        )
        updater.refresh()
        info = updater.get_targetinfo(TARGET)
        if info is None:
            raise LookupError(f"{TARGET} is not a target")
        path = updater.find_cached_target(info) or updater.download_target(info)
        data = Path(path).read_bytes()
        trusted = updater._trusted_set  # noqa: SLF001 (versions for the report)
        result.update(
            ok=True,
            root_version=trusted.root.version,
            timestamp_version=trusted.timestamp.version,
            snapshot_version=trusted.snapshot.version,
            targets_version=trusted.targets.version,
            target_sha256=hashlib.sha256(data).hexdigest(),
        )
    except (exceptions.RepositoryError, exceptions.DownloadError, LookupError) as e:
        result.update(error_type=type(e).__name__, error=str(e))
        result["error_class"] = [c.__name__ for c in type(e).__mro__]
    return result


def self_check(repo: Repo, out: Path, step: dict) -> dict:
    """Check a state with ngclient: good from fresh and warm caches, attacks refused when warm."""
    warm = repo.state / "client"
    v1 = repo.good / "1.root.json"
    if step["op"] != "attack":
        with tempfile.TemporaryDirectory() as fresh:
            cold = client_check(str(out), Path(fresh), v1)
        result = client_check(str(out), warm, None if (warm / "root.json").exists() else v1)
        for name, got in (("fresh", cold), ("warm", result)):
            if not got["ok"] or got["target_sha256"] != repo.describe()["target_sha256"]:
                raise AssertionError(f"python-tuf refused good state {out.name} ({name} cache): {got}")
        return {"python_tuf": "ok"}
    expected = ATTACK_ERRORS[step["kind"]]
    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch) / "client"
        shutil.copytree(warm, cache)
        result = client_check(str(out), cache, None)
    if result["ok"] or expected.__name__ not in result.get("error_class", []):
        raise AssertionError(f"python-tuf did not refuse {out.name} with {expected.__name__}: {result}")
    return {"python_tuf": result["error_type"], "python_tuf_error": result["error"]}


def apply(state: Path, out_root: Path, plan: dict) -> int:
    state.mkdir(parents=True, exist_ok=True)
    out_root.mkdir(parents=True, exist_ok=True)
    repo = Repo(state)
    for step in plan["steps"]:
        op = step["op"]
        if op == "init" and (repo.good / "root.json").exists():
            raise ValueError("init on a repository that exists")
        repo.counter += 1
        label = step.get("label") or op
        if op == "attack" and "label" not in step:
            label = "-".join(["attack", step["kind"]] + ([step["role"]] if "role" in step else []))
        out = out_root / f"{repo.counter:04}-{label}"
        if op == "attack":
            shutil.copytree(repo.good, out)
            repo.attack(step, out)
            described = {"kind": "attack", "attack": step["kind"]}
        else:
            {"init": repo.init, "publish": repo.publish, "rotate": repo.rotate, "set_expiry": repo.set_expiry}[op](step)
            repo.write_good()
            shutil.copytree(repo.good, out)
            described = {"kind": "good"} | repo.describe()
        repo.save()
        described |= {"dir": str(out), "label": label} | self_check(repo, out, step)
        print(json.dumps(described), flush=True)
    return 0


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "apply":
        return apply(Path(argv[1]), Path(argv[2]), json.load(sys.stdin))
    if len(argv) >= 3 and argv[0] == "check":
        bootstrap = Path(argv[argv.index("--bootstrap") + 1]) if "--bootstrap" in argv else None
        print(json.dumps(client_check(argv[1], Path(argv[2]), bootstrap)))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
