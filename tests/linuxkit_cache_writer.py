"""A second writer of a linuxkit cache that behaves as the `linuxkit` CLI does, for concurrency
tests; and a checker of a cache's integrity.

The writer follows linuxkit's src/cmd/linuxkit/cache (write.go: `ImageLoad`, `IndexWrite`,
`DescriptorWrite`) over go-containerregistry's `layout`, including what makes it hard to share:
its lock is `fcntl(F_SETLKW, F_WRLCK)` on `<cache>/.lock` (util/filelock_unix.go); blobs and
`index.json` are written in place (`os.Create`, `os.WriteFile`), not renamed; `IndexWrite` reads
the root index under the lock, drops it, takes it again to merge, deletes the old index blob and
writes a root entry that has only its ref name. Each step it loads a small random image for a
`linux/riscv64` platform and indexes it under a name already in the cache (often one the backend
wrote) or one of its own.

    python linuxkit_cache_writer.py <cache> <stop-file>   # until <stop-file> exists; prints counts
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import random
import sys
import time
from pathlib import Path

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPES = (OCI_INDEX, "application/vnd.docker.distribution.manifest.list.v2+json")
MANIFEST_TYPES = (OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json")
REF_NAME = "org.opencontainers.image.ref.name"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _blob_path(cache: Path, digest: str) -> Path:
    return cache / "blobs" / "sha256" / digest.split(":", 1)[1]


class _Lock:
    def __init__(self, cache: Path) -> None:
        self.path = cache / ".lock"

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.lockf(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        fcntl.lockf(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _write_in_place(path: Path, data: bytes) -> None:
    """os.Create / os.WriteFile: truncate, then write (in two parts, so a reader that does not
    take the lock can see half a file)."""
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
        f.flush()
        time.sleep(0.002)
        f.write(data[len(data) // 2 :])


def _write_blob(cache: Path, data: bytes) -> str:
    digest = _digest(data)
    path = _blob_path(cache, digest)
    if not path.exists():  # layout.WriteBlob with size -1: any file of that name will do
        _write_in_place(path, data)
    return digest


def _root(cache: Path) -> dict:
    return json.loads((cache / "index.json").read_bytes())


def _write_root(cache: Path, root: dict) -> None:
    _write_in_place(cache / "index.json", json.dumps(root, indent=3).encode())


def _image(cache: Path) -> dict:
    """ImageLoad of a one-layer linux/riscv64 image; returns its descriptor."""
    layer = os.urandom(64)
    config = json.dumps({"architecture": "riscv64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": [_digest(layer)]}}).encode()  # fmt: skip
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _digest(layer), "size": len(layer)}],
    }).encode()  # fmt: skip
    for blob in (layer, config, manifest):
        _write_blob(cache, blob)
    return {"mediaType": OCI_MANIFEST, "digest": _digest(manifest), "size": len(manifest),
            "platform": {"architecture": "riscv64", "os": "linux"}}  # fmt: skip


def index_write(cache: Path, name: str, desc: dict) -> None:
    """linuxkit's IndexWrite of one platform descriptor (may fail as linuxkit's does, when the
    index it read before re-locking is gone)."""
    with _Lock(cache):
        existing = [m for m in _root(cache)["manifests"]
                    if m.get("annotations", {}).get(REF_NAME) == name]  # fmt: skip
    if any(m["mediaType"] in MANIFEST_TYPES for m in existing):
        return  # "already exists in cache and is not an index"
    with _Lock(cache):
        indexes = [m for m in existing if m["mediaType"] in INDEX_TYPES]
        manifests = [desc]
        if indexes:
            old = indexes[0]["digest"]
            index = json.loads(_blob_path(cache, old).read_bytes())  # FileNotFoundError: as linuxkit
            manifests = [m for m in index["manifests"]
                         if (m.get("platform") or {}).get("architecture") != "riscv64"] + [desc]  # fmt: skip
            _blob_path(cache, old).unlink(missing_ok=True)  # RemoveBlob(oldhash)
        blob = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests},
                          separators=(",", ":")).encode()  # fmt: skip
        digest = _write_blob(cache, blob)
        # DescriptorWrite: RemoveDescriptors, then AppendDescriptor (two in-place rewrites).
        root = _root(cache)
        root["manifests"] = [m for m in root["manifests"]
                             if m.get("annotations", {}).get(REF_NAME) != name]  # fmt: skip
        _write_root(cache, root)
        root["manifests"].append({"mediaType": OCI_INDEX, "size": len(blob), "digest": digest,
                                  "annotations": {REF_NAME: name}})  # fmt: skip
        _write_root(cache, root)


def run(cache: Path, stop: Path) -> tuple[int, int]:
    rng = random.Random(os.getpid())
    done = failed = 0
    while not stop.exists():
        if not (cache / "index.json").exists():
            time.sleep(0.05)
            continue
        with _Lock(cache):
            desc = _image(cache)
            names = [m.get("annotations", {}).get(REF_NAME) for m in _root(cache)["manifests"]]
        ours = [n for n in names if n and not n.rsplit(":", 1)[-1].endswith(("-amd64", "-arm64"))]
        name = rng.choice(ours) if ours and rng.random() < 0.7 else f"docker.io/lkwriter/x:{rng.randrange(8)}"
        try:
            index_write(cache, name, desc)
            done += 1
        except (OSError, ValueError):
            failed += 1  # linuxkit would report an error; the cache must stay valid regardless
        time.sleep(rng.uniform(0.01, 0.1))
    return done, failed


def verify(cache: Path) -> list[str]:
    """Every problem with the cache: a root entry or anything it reaches (index children,
    manifests, configs, layers) whose blob is missing or whose digest or size does not match."""
    problems: list[str] = []
    seen: set[str] = set()

    def check(desc: dict, where: str) -> bytes | None:
        path = _blob_path(cache, desc["digest"])
        if not path.is_file():
            problems.append(f"{where}: blob {desc['digest']} is missing")
            return None
        data = path.read_bytes()
        if _digest(data) != desc["digest"] or len(data) != desc["size"]:
            problems.append(f"{where}: blob {desc['digest']} has digest {_digest(data)}, "
                            f"size {len(data)} (descriptor says {desc['size']})")  # fmt: skip
            return None
        return data

    def walk(desc: dict, where: str) -> None:
        if desc["digest"] in seen:
            return
        seen.add(desc["digest"])
        data = check(desc, where)
        if data is None:
            return
        if desc["mediaType"] in INDEX_TYPES:
            for child in json.loads(data)["manifests"]:
                walk(child, f"{where} > {child['digest'][:19]}")
        elif desc["mediaType"] in MANIFEST_TYPES:
            manifest = json.loads(data)
            for blob in [manifest["config"], *manifest["layers"]]:
                check(blob, f"{where} > {blob['digest'][:19]}")

    for entry in _root(cache)["manifests"]:
        walk(entry, entry.get("annotations", {}).get(REF_NAME, entry["digest"]))
    return problems


if __name__ == "__main__":
    print(*run(Path(sys.argv[1]), Path(sys.argv[2])))
