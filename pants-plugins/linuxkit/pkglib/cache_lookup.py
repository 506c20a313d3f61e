"""What the backend records in, and looks up from, the linuxkit cache beyond linuxkit's format.

Recording. A package that references other packages is built from more than its tag says (their
tags reach it as build args, their images as bases), so its cache entry carries a fingerprint
of those inputs, and the manifests built from them, as annotations of its root entry:

  dev.pants-linuxkit.inputs            the inputs fingerprint
  dev.pants-linuxkit.inputs.manifests  comma-separated digests of the manifests built from them

linuxkit's `IndexWrite` merges platforms into an existing index, so an index can hold platforms
built from different inputs; only the listed manifests are current. linuxkit itself writes root
entries without these annotations, so an entry it rewrote is current for no inputs.

Looking up. `index_snapshot` reads `index.json` (under the cache lock: linuxkit rewrites it in
place) only when its stat changed, and keeps the previous snapshot object when the bytes are the
same, so a caller that memoizes on the snapshot does no work while the cache is unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from linuxkit.pkglib import linuxkit_cache as lc
from linuxkit.pkglib.oci import Descriptor, OciError, parse_index

INPUTS_ANNOTATION = "dev.pants-linuxkit.inputs"
BUILT_ANNOTATION = "dev.pants-linuxkit.inputs.manifests"


def store_build(
    cache: lc.LinuxkitCache, name: str, inputs: str, tars: Sequence[str]
) -> tuple[Descriptor, dict[str, str]]:
    """Load built per-arch OCI tars into the cache and write (or update) the index `name`.
    Returns the index's root entry and, per tar, the digest of its image manifest.

    Everything happens under one hold of the cache lock, so no other writer (another checkout,
    the linuxkit CLI) can replace or delete the index blob between writing it and naming it.
    With `inputs`, the entry records which of its manifests were built from them: the ones just
    built plus, if the entry already recorded the same inputs, those of its earlier platforms
    that are still in the index.
    """
    with lc.locked(cache):
        previous = lc.find_root(cache, name)
        per_tar = {tar: lc.arch_descriptors(cache, lc.load_build_output(cache, tar)) for tar in tars}
        built = [d for descs in per_tar.values() for d in descs]
        images = {tar: next((d.digest for d in descs if d.is_image), "") for tar, descs in per_tar.items()}
        root = lc.write_index(cache, name, built)
        if not inputs:
            return root, images
        current = {d.digest for d in built if d.is_image}
        if previous is not None and previous.annotation(INPUTS_ANNOTATION) == inputs:
            children = {d.digest for d in parse_index(lc.read_verified(cache, root.digest)).manifests}
            current |= children & set(_built_manifests(previous))
        annotations = {INPUTS_ANNOTATION: inputs, BUILT_ANNOTATION: ",".join(sorted(current))}
        return lc.write_descriptor(cache, name, root.with_annotations(annotations)), images


def _built_manifests(root: Descriptor) -> list[str]:
    return [d for d in (root.annotation(BUILT_ANNOTATION) or "").split(",") if d]


def current_platform(
    cache: lc.LinuxkitCache, root: Descriptor | None, arch: str, inputs: str
) -> str | None:
    """The manifest digest for `linux/<arch>` under root entry `root`, if the cache holds all of
    its blobs and, when `inputs` is given, it was built from those inputs; else None.

    Index and manifest blobs are checked against their digests: a corrupt one is a miss, so the
    platform is rebuilt (and the rebuild replaces the blob)."""
    if root is None:
        return None
    read = lambda digest: lc.read_verified(cache, digest)  # noqa: E731
    try:
        image = lc.platform_image(root, read, arch)
        if image is None or not lc.image_complete(image, read, cache.has_blob):
            return None
    except (OciError, OSError):
        return None
    if inputs and (
        root.annotation(INPUTS_ANNOTATION) != inputs or image.digest not in _built_manifests(root)
    ):
        return None
    return image.digest


@dataclass(frozen=True)
class IndexSnapshot:
    """The root entries of `index.json` by name (linuxkit's `FindRoot`); equal when the bytes
    of `index.json` are."""

    fingerprint: str  # sha256 of index.json, "" when it does not exist
    roots: Mapping[str, Descriptor] = field(compare=False, hash=False, repr=False)


EMPTY_SNAPSHOT = IndexSnapshot("", {})
# A same-size rewrite in place within the file system's timestamp granularity keeps the stat: a
# snapshot is trusted by stat alone once index.json is older than this.
_SETTLED_SECONDS = 2.0
_SNAPSHOTS: dict[str, tuple[tuple[int, ...], bool, IndexSnapshot]] = {}
_SNAPSHOTS_GUARD = threading.Lock()


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def index_snapshot(cache_dir: str) -> IndexSnapshot:
    """The cache's root entries, re-read only when `index.json` changed (see the module doc).

    A missing cache is empty; an unreadable or malformed `index.json` raises OciError/OSError."""
    path = os.path.join(cache_dir, "index.json")
    try:
        key = _stat_key(os.stat(path))
    except FileNotFoundError:
        return EMPTY_SNAPSHOT
    with _SNAPSHOTS_GUARD:
        memo = _SNAPSHOTS.get(cache_dir)
    if memo is not None and memo[0] == key and memo[1]:
        return memo[2]
    cache = lc.LinuxkitCache(Path(cache_dir))
    with lc.locked(cache, required=False):
        with contextlib.suppress(FileNotFoundError):
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                data = f.read()
            read_at = time.time()
            fingerprint = hashlib.sha256(data).hexdigest()
            if memo is not None and memo[2].fingerprint == fingerprint:
                snapshot = memo[2]
            else:
                try:
                    manifests = parse_index(data).manifests
                except OciError as e:
                    raise OciError(f"{path}: {e}")
                snapshot = IndexSnapshot(fingerprint, lc.roots_by_name(manifests))
            settled = read_at - st.st_mtime > _SETTLED_SECONDS
            with _SNAPSHOTS_GUARD:
                _SNAPSHOTS[cache_dir] = (_stat_key(st), settled, snapshot)
            return snapshot
    return EMPTY_SNAPSHOT
