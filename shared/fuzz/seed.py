#!/usr/bin/env python3
"""Write the seed inputs of every fuzz target into a directory (default: shared/fuzz/seeds).

The seeds come from the project's real data: the bundles, API bodies and Homebrew fragments of
tests/fixtures/corpus, the formula JSON and OCI document shapes the tests build
(tests/it/backfill.rs, tests/it/gh_compat.rs, tests/kit/registry.rs), the README's policy
example, and journal records made of real DSSE envelopes and certificates.

The committed corpus (shared/fuzz/corpus/<target>/) is what `cargo fuzz cmin` kept of these
seeds plus what the fuzzer found; see shared/fuzz/README.md. Run again to rebuild it:

    python3 shared/fuzz/seed.py /tmp/seeds
    cargo +nightly fuzz run <target> --fuzz-dir shared/fuzz --features libfuzzer \
        shared/fuzz/corpus/<target> /tmp/seeds/<target> -- -max_total_time=600
"""

import base64
import glob
import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "corpus")
GHCR = "https://ghcr.io/v2/homebrew/core"


def write(out, target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def sha256(data):
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def bundle_files():
    files = sorted(glob.glob(os.path.join(FIXTURES, "bundles", "*", "*.json")))
    files += sorted(glob.glob(os.path.join(FIXTURES, "bundles", "*", "*.jsonl")))
    return files


def load_bundles():
    """Every bundle of the fixtures, as JSON values (JSON Lines and API bodies unpacked)."""
    out = []
    for path in bundle_files():
        text = open(path, encoding="utf-8").read()
        docs = []
        for doc in [text] + (text.splitlines() if "\n" in text.strip() else []):
            try:
                docs.append(json.loads(doc))
            except ValueError:
                pass  # a deliberately malformed fixture, or one line of many
        for doc in docs:
            if isinstance(doc, dict) and "attestations" in doc:
                docs_inner = [a.get("bundle") for a in doc["attestations"]]
            else:
                docs_inner = [doc]
            for b in docs_inner:
                if isinstance(b, dict) and "mediaType" in b:
                    out.append((os.path.basename(path), b))
    return out


def seed_bundle(out, bundles):
    for path in bundle_files():
        write(out, "bundle", os.path.basename(path), open(path, "rb").read())
    # A sidecar and JSON Lines made of real bundles.
    two = [b for _, b in bundles[:2]]
    write(out, "bundle", "sidecar-two.json", json.dumps(two))
    write(out, "bundle", "lines-two.jsonl", "\n".join(json.dumps(b) for b in two) + "\n")


def dsse_payloads(bundles):
    for name, b in bundles:
        env = b.get("dsseEnvelope")
        if env and "payload" in env:
            try:
                yield name, base64.b64decode(env["payload"])
            except ValueError:
                pass


def seed_statement(out, bundles):
    seen = set()
    for name, payload in dsse_payloads(bundles):
        h = sha256(payload)
        if h in seen:
            continue
        seen.add(h)
        write(out, "statement", name + ".payload.json", payload)
    partial = json.load(open(os.path.join(FIXTURES, "bundles", "homebrew-partial",
                                          "zrok-0.4.48-bottles.PARTIAL.json")))
    subjects = [{"name": s["name"], "digest": {"sha256": s["sha256"]}}
                for s in partial["recovered"]["subjects"]]
    if subjects:
        write(out, "statement", "zrok-0.4.48.statement.json", json.dumps({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": subjects,
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {"buildDefinition": {"buildType": "https://actions.github.io/buildtypes/workflow/v1"}},
        }))


def seed_sidecar(out, bundles):
    bs = [b for _, b in bundles]
    write(out, "sidecar", "one.sigs", json.dumps(bs[:1]))
    write(out, "sidecar", "three.sigs", json.dumps(bs[2:5]))
    write(out, "sidecar", "empty.sigs", "[]")
    write(out, "sidecar", "garbage-then-bundle.sigs", json.dumps([{"nope": 1}, 7, None, bs[0]]))
    write(out, "sidecar", "api-entries.sigs", json.dumps([{"bundle": bs[1]}, {"bundle_url": "https://blob.invalid/x"}]))
    for name, b in bundles:
        if "konnekt" in name or "cli-sigstore-js-2.1.0" in name:
            write(out, "sidecar", name + ".sigs", json.dumps([b]))


def seed_api_page(out, bundles):
    for path in sorted(glob.glob(os.path.join(FIXTURES, "bundles", "api", "*.json"))):
        raw = open(path, "rb").read()
        write(out, "api_page", os.path.basename(path), raw)
        page = json.loads(raw)
        for a in page["attestations"]:
            a["bundle"] = None
        write(out, "api_page", "url-only-" + os.path.basename(path), json.dumps(page))
    write(out, "api_page", "none.json", '{"attestations":[]}')
    write(out, "api_page", "mixed.json", json.dumps({"attestations": [
        {"bundle": bundles[0][1], "repository_id": 1, "initiator": "user"},
        {"bundle": None, "bundle_url": "https://blob.invalid/2", "repository_id": 1},
        {"repository_id": 2},
        {"bundle": {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}},
    ]}))


def formula(name, version, tags, revision=0, rebuild=0, deps=(), root=GHCR, extra=True):
    files = {}
    for tag in tags:
        digest = sha256(f"{name}-{tag}")
        files[tag] = {"cellar": ":any", "url": f"{root}/{name.replace('@', '/')}/blobs/sha256:{digest}",
                      "sha256": digest}
    f = {"name": name, "versions": {"stable": version}, "revision": revision,
         "dependencies": list(deps),
         "bottle": {"stable": {"rebuild": rebuild, "root_url": root, "files": files}}}
    if extra:
        f["full_name"] = name
        f["versions"].update({"head": None, "bottle": True})
    return f


def seed_formula_json(out):
    wget = formula("wget", "1.24.5", ["arm64_sonoma"], revision=1, rebuild=2,
                   deps=["libidn2", "openssl@3"])
    write(out, "formula_json", "wget.json", json.dumps(wget))
    tags = ["arm64_sequoia", "arm64_sonoma", "arm64_ventura", "sonoma", "ventura", "x86_64_linux"]
    zrok = formula("zrok", "0.4.48", tags)
    # zrok 0.4.48's real bottle digests (tests/fixtures/corpus/bundles/homebrew-partial).
    partial = json.load(open(os.path.join(FIXTURES, "bundles", "homebrew-partial",
                                          "zrok-0.4.48-bottles.PARTIAL.json")))
    for subject in partial["recovered"]["subjects"]:
        tag = subject["name"].split(".bottle")[0].rsplit(".", 1)[1]
        zrok["bottle"]["stable"]["files"][tag] = {
            "cellar": ":any_skip_relocation",
            "url": f"{GHCR}/zrok/blobs/sha256:{subject['sha256']}",
            "sha256": subject["sha256"],
        }
    index = [
        zrok,
        wget,
        formula("openssl@3", "3.3.1", tags, deps=["ca-certificates"]),
        formula("ca-certificates", "2024-07-02", ["all"]),
        formula("libidn2", "2.3.7", tags[:3], deps=["libunistring", "gettext"]),
        formula("libunistring", "1.2", tags[:2], deps=["libidn2"]),  # a cycle
        formula("libsigc++", "3.6.0", ["sonoma"], extra=False),
        {"name": "headonly", "versions": {"stable": None}, "bottle": {}},
        {"name": "unbottled", "versions": {"stable": "1.0"}},
    ]
    write(out, "formula_json", "formula.json", json.dumps(index))
    write(out, "formula_json", "gh-compat.json", json.dumps([
        formula("jq", "1.7.1", ["x86_64_linux"], extra=False),
        formula("gone", "3.0", ["x86_64_linux"], extra=False),
    ]))
    bad = formula("bad", "1.0", ["arm64_sonoma", "all"])
    bad["bottle"]["stable"]["files"]["arm64_sonoma"]["sha256"] = "not hex"
    write(out, "formula_json", "malformed-digest.json", json.dumps([bad]))
    write(out, "formula_json", "mirror-root.json", json.dumps(
        formula("tree", "2.1.3", ["arm64_sonoma"], root="https://mirror.example/bottles")))


OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def oci_documents(name, version, rebuild, tags, bottle_digest_for, wrong_annotation=(), decoy=()):
    """An index and its platform manifests shaped like tests/kit/registry.rs's pushes."""
    version_rebuild = f"{version}-{rebuild}" if rebuild else version
    formula_annotations = {
        "com.github.package.type": "homebrew_bottle",
        "org.opencontainers.image.created": "2024-03-01",
        "org.opencontainers.image.description": f"{name}: a test formula",
        "org.opencontainers.image.ref.name": version_rebuild,
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.vendor": "homebrew",
        "org.opencontainers.image.version": version,
    }
    manifests, entries = {}, []
    for tag in tags:
        ref_name = f"{version}.{tag}.{rebuild}" if rebuild else f"{version}.{tag}"
        blob_digest = bottle_digest_for(tag)
        layer_digest = sha256(b"decoy") if tag in decoy else blob_digest
        os_ = "linux" if tag.endswith("linux") else "darwin"
        arch = "arm64" if tag.startswith("arm64") else "amd64"
        platform = {"architecture": arch, "os": os_, "os.version": "macOS 14" if os_ == "darwin" else "Ubuntu 22.04"}
        tab = {"homebrew_version": "4.4.0", "changed_files": [], "arch": arch,
               "built_on": {"os": "Macintosh" if os_ == "darwin" else "Linux"}}
        descriptor = {
            "org.opencontainers.image.ref.name": ref_name,
            "sh.brew.bottle.digest": blob_digest,
            "sh.brew.bottle.size": "1234",
            "sh.brew.tab": json.dumps(tab),
        }
        annotations = dict(formula_annotations, **descriptor)
        annotations["org.opencontainers.image.title"] = f"{name} {ref_name}"
        manifest = json.dumps({
            "schemaVersion": 2,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": "sha256:" + sha256(json.dumps(platform)), "size": 100},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": "sha256:" + layer_digest, "size": 1234,
                        "annotations": {"org.opencontainers.image.title": f"{name}--{version}.{tag}.bottle.tar.gz"}}],
            "annotations": dict(sorted(annotations.items())),
        }, indent=2).encode()
        manifests[tag] = manifest
        if tag in wrong_annotation:
            descriptor = dict(descriptor, **{"sh.brew.bottle.digest": sha256(b"some other bottle")})
        entries.append({"mediaType": OCI_MANIFEST, "digest": "sha256:" + sha256(manifest),
                        "size": len(manifest), "platform": platform, "annotations": descriptor})
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries,
                        "annotations": formula_annotations}, indent=2).encode()
    return index, manifests


def seed_oci(out):
    # The target checks bottle `testball--1.0_1.arm64_sonoma.bottle.1.tar.gz` whose sha256 is
    # sha256("testball bottle") (src/lib.rs).
    good = sha256(b"testball bottle")
    digest_for = lambda tag: good if tag == "arm64_sonoma" else sha256(f"testball-{tag}")
    tags = ["arm64_sonoma", "sonoma", "x86_64_linux"]
    index, manifests = oci_documents("testball", "1.0_1", 1, tags, digest_for)
    write(out, "oci", "good", index + b"\0" + manifests["arm64_sonoma"])
    write(out, "oci", "other-platform-manifest", index + b"\0" + manifests["x86_64_linux"])
    index, manifests = oci_documents("testball", "1.0_1", 1, tags, digest_for, wrong_annotation=["arm64_sonoma"])
    write(out, "oci", "wrong-digest-annotation", index + b"\0" + manifests["arm64_sonoma"])
    index, manifests = oci_documents("testball", "1.0_1", 1, tags, digest_for, decoy=["arm64_sonoma"])
    write(out, "oci", "decoy-layer", index + b"\0" + manifests["arm64_sonoma"])
    index, manifests = oci_documents("testball", "1.0_1", 0, tags, digest_for)
    write(out, "oci", "no-platform-rebuild-0", index + b"\0" + manifests["arm64_sonoma"])
    index, _ = oci_documents("testball", "1.0_1", 1, ["all"], digest_for)
    write(out, "oci", "index-only-all", index)


README_POLICY = '''name = "homebrew-core"              # for messages

[[source]]                          # sources, in waterfall order
name = "homebrew-core"
repository = "Homebrew/homebrew-core"   # where attestations live and whose workflows may sign
workflows = ["*"]                   # workflow file names under .github/workflows/; "*" or omitted = any
refs = ["refs/heads/master", "refs/heads/main"]   # omitted = any ref
# issuer = "https://token.actions.githubusercontent.com"      (default)
# source_repository = "https://github.com/<repository>"       (default)
# predicate_type = "https://slsa.dev/provenance/v1"           (default)
# subject = "filename"              # or "cache-name": <sha256(url)>--<filename>
# when = "always"                   # default for the first source

[[source]]
name = "backfill"
repository = "trailofbits/homebrew-brew-verify"
workflows = ["backfill_signatures.yml"]
subject = "cache-name"
# bottle_root = "https://ghcr.io/v2/homebrew/core"            (default, for cache-name)
logged_at_or_before = "2024-03-14T00:00:00Z"
when = "earlier-missing"            # default for later sources: only if all earlier had nothing
'''


def seed_policy_file(out):
    write(out, "policy_file", "readme.toml", README_POLICY)
    write(out, "policy_file", "readme.json", json.dumps({
        "name": "homebrew-core",
        "source": [
            {"name": "homebrew-core", "repository": "Homebrew/homebrew-core", "workflows": ["*"],
             "refs": ["refs/heads/master", "refs/heads/main"]},
            {"name": "backfill", "repository": "trailofbits/homebrew-brew-verify",
             "workflows": ["backfill_signatures.yml"], "subject": "cache-name",
             "bottle_root": GHCR, "logged_at_or_before": "2024-03-14T00:00:00Z",
             "when": "earlier-missing"},
        ]}, indent=2))
    # A tap's policy naming the real bundle's signer (the target evaluates it on that bundle).
    write(out, "policy_file", "konnekt.toml", '''name = "konnekt"

[[source]]
name = "release"
repository = "kollektiv-mc/Konnekt"
issuer = "https://token.actions.githubusercontent.com"
predicate_type = "https://slsa.dev/provenance/v1"
subject = "filename"

[[source]]
name = "mirror"
repository = "someone/homebrew-tap"
workflows = ["backfill.yml"]
subject = "cache-name"
bottle_root = "https://mirror.example/v2/someone/tap"
when = "always"
''')


def seed_bottle_name(out):
    names = [
        "wget--1.24.5.arm64_sonoma.bottle.tar.gz",
        "openssl@3--3.3.1_1.x86_64_linux.bottle.2.tar.gz",
        "a--b--2024-01.all.bottle.tar.gz",
        "libsigc++--3.6.0.sonoma.bottle.tar.gz",
        "zrok--0.4.48.arm64_sequoia.bottle.tar.gz",
        "zrok--0.4.48.x86_64_linux.bottle.1.tar.gz",
        "wget--1.0.arm64_sonoma.bottle.x.tar.gz",
        "../x--1.0.sonoma.bottle.tar.gz",
        "python@3.12--3.12.5.arm64_ventura.bottle.18446744073709551616.tar.gz",
    ]
    for i, n in enumerate(names):
        write(out, "bottle_name", f"name-{i}", n)


def seed_journal_line(out, bundles):
    lines, batch = [], 0
    for name, b in bundles:
        env = b.get("dsseEnvelope")
        material = b.get("verificationMaterial", {})
        cert = (material.get("certificate") or {}).get("rawBytes") or \
            ((material.get("x509CertificateChain") or {}).get("certificates") or [{}])[0].get("rawBytes")
        if not env or not cert or "konnekt" not in name and "cli-sigstore-js-2.1.0.v0.3" not in name:
            continue
        batch += 1
        try:
            n = len(json.loads(base64.b64decode(env["payload"]))["subject"])
        except (ValueError, KeyError):
            n = 0
        lines.append({"v": 1, "at": "2025-03-01T12:00:00.123456789Z", "type": "prepared",
                      "batch": batch, "subjects": n, "envelope": env, "certificate": cert})
        lines.append({"v": 1, "at": "2025-03-01T12:00:01Z", "type": "signed", "batch": batch,
                      "bundle": f"bundles/batch-{batch}.json", "bundle_sha256": sha256(json.dumps(b)),
                      "log_index": 123456789 + batch, "recovered": batch % 2 == 0})
        lines.append({"v": 1, "at": "2025-03-01T12:00:02Z", "type": "upload-started", "batch": batch,
                      "repo": "someone/homebrew-tap"})
        lines.append({"v": 1, "at": "2025-03-01T12:00:03Z", "type": "uploaded", "batch": batch,
                      "repo": "someone/homebrew-tap", "id": 4242 + batch, "found_existing": False})
    lines.append({"v": 1, "at": "2025-03-01T12:00:04Z", "type": "abandoned", "batch": batch,
                  "reason": "the bundle failed verification: ✗ signature"})
    lines.append({"v": 1, "at": "2025-03-01T12:00:05+02:00", "type": "uploaded", "batch": batch,
                  "repo": "Someone/Homebrew-Tap", "id": None, "found_existing": True})
    text = "".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines)
    write(out, "journal_line", "journal.jsonl", text + '{"v":1,"at":"2025-03-01T1')
    for i, l in enumerate(lines):
        if l["type"] != "prepared":
            write(out, "journal_line", f"line-{i}-{l['type']}", json.dumps(l, separators=(",", ":")) + "\n")
    write(out, "journal_line", "version-2", '{"v":2,"at":"2025-03-01T12:00:00Z","type":"abandoned","batch":1,"reason":"x"}\n\n  \n')


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "seeds")
    bundles = load_bundles()
    seed_bundle(out, bundles)
    seed_statement(out, bundles)
    seed_sidecar(out, bundles)
    seed_api_page(out, bundles)
    seed_formula_json(out)
    seed_oci(out)
    seed_policy_file(out)
    seed_bottle_name(out)
    seed_journal_line(out, bundles)
    for target in sorted(os.listdir(out)):
        files = os.listdir(os.path.join(out, target))
        size = sum(os.path.getsize(os.path.join(out, target, f)) for f in files)
        print(f"{target}: {len(files)} seeds, {size} bytes")


if __name__ == "__main__":
    main()
