"""The linuxkit cache (`~/.linuxkit/cache`): an OCI image layout shared with the `linuxkit` CLI.

`linuxkit build` and `linuxkit cache ls/export` read the same directory, so this writes it the way
linuxkit's `cache` package (through go-containerregistry's `layout`) does: `oci-layout` and the
initial `index.json` bytes, `index.json` re-marshalled with a 3-space indent, every root entry
named by `org.opencontainers.image.ref.name` = the full containerd-form name, and the
`ImageLoad` / `IndexWrite` / `FindDescriptor` / `ImageInCache` rules of its
src/cmd/linuxkit/cache/write.go and find.go.

Deliberate differences, all invisible to linuxkit: `index.json` and blobs are written to a temp
file and renamed (an interrupted write leaves the old cache valid), blobs are checked against
their digest while they are written, and the old index blob is deleted only after the new
`index.json` is in place. Names passed in are full containerd-form names
(`docker.io/linuxkit/foo:abc`); callers expand.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Callable, Iterator, Sequence

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci import (
    ANNOTATION_IMAGE_NAME,
    ANNOTATION_REF_NAME,
    ANNOTATION_REFERENCE_DIGEST,
    FOREIGN_LAYER_TYPES,
    OCI_INDEX,
    Descriptor,
    Index,
    OciError,
    Platform,
    attestations_for,
    build_index,
    blob_relpath,
    go_json,
    go_json_indent,
    is_digest,
    manifest_platform,
    parse_index,
    parse_manifest,
    sha256_digest,
)
from linuxkit.pkglib.oci_archive import (
    BlobSource,
    TarSource,
    atomic_file,
    copy_stream,
    iter_oci_tar,
    write_oci_archive,
)

# go-containerregistry's `layout` constant, byte for byte (4-space indent, no trailing newline).
OCI_LAYOUT_BYTES = b'{\n    "imageLayoutVersion": "1.0.0"\n}'
# `layout.Write(path, empty.Index)`: compact json.Marshal of an empty IndexManifest.
EMPTY_INDEX_BYTES = (
    b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
)
ROOT_INDEX_INDENT = "   "


@dataclass(frozen=True)
class LinuxkitCache:
    """An opened cache directory (see `open_cache`)."""

    root: Path

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    @property
    def layout_path(self) -> Path:
        return self.root / "oci-layout"

    @property
    def lock_path(self) -> Path:
        return self.root / ".lock"

    def blob_path(self, digest: str) -> Path:
        return self.root / blob_relpath(digest)

    def has_blob(self, digest: str) -> bool:
        return self.blob_path(digest).is_file()

    def read_blob(self, digest: str) -> bytes:
        try:
            return self.blob_path(digest).read_bytes()
        except FileNotFoundError:
            raise OciError(f"blob {digest} is not in the linuxkit cache {self.root}")


def default_cache_dir() -> Path:
    """linuxkit's default `--cache`: `~/.linuxkit/cache`."""
    return Path.home() / ".linuxkit" / "cache"


# --------------------------------------------------------------------------------------------
# Locking


class _ProcessLock:
    """One `.lock` per process: POSIX record locks are per process and are all dropped when any
    fd of the file closes, so nested or concurrent (threaded) users must share one fd."""

    def __init__(self) -> None:
        self.thread_lock = threading.RLock()
        self.depth = 0
        self.fd: int | None = None


_LOCKS: dict[str, _ProcessLock] = {}
_LOCKS_GUARD = threading.Lock()


@contextlib.contextmanager
def locked(cache: LinuxkitCache, *, required: bool = True) -> Iterator[None]:
    """Hold the cache's exclusive `.lock` (linuxkit takes `fcntl(F_SETLKW, F_WRLCK)` on it).

    Re-entrant within a process. With `required=False` (pure reads), a cache we may not write
    to is read without the lock instead of failing.
    """
    key = os.path.abspath(cache.lock_path)
    with _LOCKS_GUARD:
        state = _LOCKS.setdefault(key, _ProcessLock())
    with state.thread_lock:
        if state.depth == 0:
            try:
                fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as e:
                if required or e.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
                    raise
                yield
                return
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX)
            except BaseException:
                os.close(fd)
                raise
            state.fd = fd
        state.depth += 1
        try:
            yield
        finally:
            state.depth -= 1
            if state.depth == 0 and state.fd is not None:
                fd, state.fd = state.fd, None
                try:
                    fcntl.lockf(fd, fcntl.LOCK_UN)
                finally:
                    os.close(fd)


# --------------------------------------------------------------------------------------------
# Files


def _write_file_atomic(path: Path, data: bytes) -> None:
    with atomic_file(path) as f:
        f.write(data)


def open_cache(directory: str | os.PathLike[str]) -> LinuxkitCache:
    """Open the cache at `directory`, initialising it the way linuxkit's `cache.Get` does."""
    cache = LinuxkitCache(Path(directory).absolute())
    cache.root.mkdir(parents=True, exist_ok=True)
    with locked(cache):
        if not cache.index_path.exists():
            _write_file_atomic(cache.layout_path, OCI_LAYOUT_BYTES)
            _write_file_atomic(cache.index_path, EMPTY_INDEX_BYTES)
        elif not cache.layout_path.exists():
            _write_file_atomic(cache.layout_path, OCI_LAYOUT_BYTES)
        (cache.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    return cache


def read_index(cache: LinuxkitCache) -> Index:
    """The cache's root `index.json`."""
    with locked(cache, required=False):
        try:
            data = cache.index_path.read_bytes()
        except FileNotFoundError:
            raise OciError(f"{cache.root} is not a linuxkit cache: index.json is missing")
    try:
        return parse_index(data)
    except OciError as e:
        raise OciError(f"{cache.index_path}: {e}")


def _write_root_index(cache: LinuxkitCache, index: Index) -> None:
    _write_file_atomic(cache.index_path, go_json_indent(index, ROOT_INDEX_INDENT).encode("utf-8"))


def _update_root(
    cache: LinuxkitCache, update: Callable[[list[Descriptor]], list[Descriptor]]
) -> None:
    with locked(cache):
        index = read_index(cache)
        manifests = update(list(index.manifests))
        _write_root_index(cache, dataclasses.replace(index, manifests=tuple(manifests)))


def write_blob(
    cache: LinuxkitCache, digest: str, source: bytes | IO[bytes], size: int | None = None
) -> Path:
    """Store a blob unless an intact one (content hashing to `digest`) is already there.

    `source` may be bytes or a readable stream (copied in chunks). The content must hash to
    `digest`; a mismatch raises and stores nothing. A corrupt or truncated blob already in the
    cache is replaced, so rebuilding what it belongs to repairs the cache.
    """
    path = cache.blob_path(digest)
    if isinstance(source, (bytes, bytearray)):
        size = len(source)
    with locked(cache):
        if path.is_file() and (size is None or path.stat().st_size == size) and _intact(path, digest):
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path) as f:
            if isinstance(source, (bytes, bytearray)):
                f.write(source)
                actual = sha256_digest(bytes(source))
            else:
                actual = copy_stream(source, f)
            if actual != digest:
                raise OciError(f"blob {digest} has content with digest {actual}")
    return path


def _intact(path: Path, digest: str) -> bool:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest() == digest


def _remove_blob(cache: LinuxkitCache, digest: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        cache.blob_path(digest).unlink()


# --------------------------------------------------------------------------------------------
# Root entries


def _put_named(
    manifests: list[Descriptor], name: str, desc: Descriptor
) -> tuple[list[Descriptor], Descriptor]:
    """`DescriptorWrite`: drop every entry called `name`, append `desc` renamed to `name`."""
    if not name:
        raise OciError("cannot write descriptor without reference name")
    named = desc.with_annotation(ANNOTATION_REF_NAME, name)
    return [m for m in manifests if m.ref_name != name] + [named], named


def write_descriptor(cache: LinuxkitCache, name: str, desc: Descriptor) -> Descriptor:
    """Record `desc` under `name` (e.g. a release tag); returns the entry as written."""
    written: list[Descriptor] = []

    def update(manifests: list[Descriptor]) -> list[Descriptor]:
        manifests, named = _put_named(manifests, name, desc)
        written.append(named)
        return manifests

    _update_root(cache, update)
    return written[0]


def load_build_output(cache: LinuxkitCache, oci_tar: TarSource) -> tuple[Descriptor, ...]:
    """linuxkit's `ImageLoad`: store a buildkit `type=oci` tar's blobs and name its roots.

    `oci_tar` is bytes, a path or a readable stream (read once, in order, so a pipe from
    buildctl works and layers are never held in memory). Every root descriptor of the tar's
    `index.json` is returned; each one with an `io.containerd.image.name` annotation is recorded
    under that name with `org.opencontainers.image.ref.name` set to it (and, as in linuxkit,
    the returned descriptor carries that ref name too).
    """
    with locked(cache):
        index_data: bytes | None = None
        for entry, f in iter_oci_tar(oci_tar):
            if entry.kind == "blob":
                write_blob(cache, entry.digest, f, entry.size)
            elif entry.kind == "index":
                index_data = f.read()
        if index_data is None:
            return ()
        try:
            roots = parse_index(index_data).manifests
        except OciError as e:
            raise OciError(f"error reading index.json of the build output: {e}")
        result: list[Descriptor] = []

        def update(manifests: list[Descriptor]) -> list[Descriptor]:
            for desc in roots:
                name = desc.annotation(ANNOTATION_IMAGE_NAME)
                if name is not None:
                    manifests, desc = _put_named(manifests, name, desc)
                result.append(desc)
            return manifests

        if any(desc.annotation(ANNOTATION_IMAGE_NAME) is not None for desc in roots):
            _update_root(cache, update)
        else:
            result = list(roots)
        return tuple(result)


def arch_descriptors(cache: LinuxkitCache, roots: Sequence[Descriptor]) -> tuple[Descriptor, ...]:
    """What one per-arch build contributes to the multi-arch index (linuxkit's pkglib `build`).

    linuxkit requires exactly one root and returns the `manifests` of its index (the image and
    its attestation manifests). Without attestations buildkit exports a bare manifest instead;
    linuxkit would then find nothing, we return that manifest as an index child would look
    (platform set, buildkit's root annotations dropped).
    """
    if not roots:
        raise LinuxkitError("no index descriptor returned from load")
    if len(roots) > 1:
        raise LinuxkitError("more than one index descriptor returned from load")
    root = roots[0]
    if root.is_index:
        return parse_index(cache.read_blob(root.digest)).manifests
    if root.is_image:
        platform = manifest_platform(root, cache.read_blob)
        return (
            Descriptor(
                media_type=root.media_type, size=root.size, digest=root.digest, platform=platform
            ),
        )
    return ()


def _platform_key(platform: Platform) -> str:
    return f"{platform.os}/{platform.architecture}/{platform.os_version}"


def merge_index_manifests(
    existing: Sequence[Descriptor], new: Sequence[Descriptor]
) -> tuple[Descriptor, ...]:
    """`IndexWrite`'s update of an existing index's `manifests` with newly built descriptors.

    Existing entries keep their order, an entry whose os/architecture/os.version matches a new
    platform descriptor is replaced in place; remaining new platform descriptors follow (linuxkit
    appends them in Go map order, we keep build order), then new descriptors without a real
    platform (attestations). Duplicate digests are dropped, and so are attestations whose
    `vnd.docker.reference.digest` no longer points at anything in the list.
    """
    replacements: dict[str, Descriptor] = {}
    non_platform: list[Descriptor] = []
    for desc in new:
        if desc.platform is None or desc.platform.is_unknown:
            non_platform.append(desc)
        else:
            replacements[_platform_key(desc.platform)] = desc
    merged: list[Descriptor] = []
    for desc in existing:
        if desc.platform is not None and _platform_key(desc.platform) in replacements:
            merged.append(replacements.pop(_platform_key(desc.platform)))
        else:
            merged.append(desc)
    merged += replacements.values()
    merged += non_platform
    referenced = {desc.digest for desc in merged}
    result: list[Descriptor] = []
    applied: set[str] = set()
    for desc in merged:
        if desc.digest in applied:
            continue
        target = desc.annotation(ANNOTATION_REFERENCE_DIGEST)
        if target is None or target in referenced:
            result.append(desc)
            applied.add(desc.digest)
    return tuple(result)


def write_index(cache: LinuxkitCache, ref: str, descriptors: Sequence[Descriptor]) -> Descriptor:
    """linuxkit's `IndexWrite`: create or update the multi-arch index named `ref`.

    Returns the root entry written: `{mediaType: OCI index, size, digest, annotations:
    {ref.name: ref}}`. The replaced index blob is deleted, as linuxkit does, even if another
    name (a release tag) still points at it. If the old index blob is gone or corrupt the index
    is rebuilt from `descriptors` alone (linuxkit would fail instead).
    """
    if not descriptors:
        raise LinuxkitError("cannot create index without any manifests")
    with locked(cache):
        root = read_index(cache)
        named = [desc for desc in root.manifests if desc.ref_name == ref]
        if any(desc.is_image for desc in named):
            raise LinuxkitError(f"image named {ref} already exists in cache and is not an index")
        existing = next((desc for desc in named if desc.is_index), None)
        old_digest: str | None = None
        index = Index(manifests=tuple(descriptors))
        if existing is not None:
            old_digest = existing.digest
            try:
                old = parse_index(read_verified(cache, existing.digest))
            except OciError:  # gone or corrupt: start afresh from `descriptors`
                pass
            else:
                index = dataclasses.replace(
                    old, manifests=merge_index_manifests(old.manifests, descriptors)
                )
        blob = go_json(index).encode("utf-8")
        digest = sha256_digest(blob)
        write_blob(cache, digest, blob)
        entry = Descriptor(media_type=OCI_INDEX, size=len(blob), digest=digest)
        manifests, entry = _put_named(list(root.manifests), ref, entry)
        _write_root_index(cache, dataclasses.replace(root, manifests=tuple(manifests)))
        if old_digest is not None and old_digest != digest:
            _remove_blob(cache, old_digest)
        return entry


# --------------------------------------------------------------------------------------------
# Lookups


def find_descriptor(cache: LinuxkitCache, ref: str) -> Descriptor | None:
    """linuxkit's `FindDescriptor`: the first root entry for `ref`, or None.

    `name@sha256:…` (or `name:tag@sha256:…`) matches by digest only; otherwise the
    `org.opencontainers.image.ref.name` must equal `ref` exactly (anything after `@` dropped).
    """
    manifests = read_index(cache).manifests
    name = ref
    if "@" in ref:
        name, _, digest = ref.rpartition("@")
        if is_digest(digest):
            return next((desc for desc in manifests if desc.digest == digest), None)
    return next((desc for desc in manifests if desc.ref_name == name), None)


def roots_by_name(manifests: Sequence[Descriptor]) -> dict[str, Descriptor]:
    """linuxkit's `FindRoot` for every name at once: per ref name, the first image entry, else
    the first index entry."""
    images: dict[str, Descriptor] = {}
    indexes: dict[str, Descriptor] = {}
    for desc in manifests:
        name = desc.ref_name
        if name is None:
            continue
        if desc.is_image:
            images.setdefault(name, desc)
        elif desc.is_index:
            indexes.setdefault(name, desc)
    return {**indexes, **images}


def find_root(cache: LinuxkitCache, name: str) -> Descriptor | None:
    """linuxkit's `FindRoot`: an image entry named `name` first, else an index entry."""
    return roots_by_name(read_index(cache).manifests).get(name)


def read_verified(cache: LinuxkitCache, digest: str) -> bytes:
    """A blob's content, checked against its digest (a torn or corrupt blob raises OciError)."""
    data = cache.read_blob(digest)
    if sha256_digest(data) != digest:
        raise OciError(f"blob {digest} in the linuxkit cache {cache.root} is corrupt")
    return data


def platform_image(
    root: Descriptor, read_blob: Callable[[str], bytes], arch: str
) -> Descriptor | None:
    """The image a root entry resolves to for `linux/<arch>` (linuxkit's `findImage`).

    A plain image matches any arch; in an index, the first image child whose platform has
    os `linux` and that architecture (variant ignored, so `arm64` matches `arm64/v8`).
    """
    if root.is_image:
        return root
    try:
        children = parse_index(read_blob(root.digest)).manifests
    except OciError:
        return None
    for child in children:
        platform = child.platform
        if (
            child.is_image
            and platform is not None
            and platform.os == "linux"
            and platform.architecture == arch
        ):
            return child
    return None


def image_complete(image: Descriptor, read_blob: Callable[[str], bytes],
                   has_blob: Callable[[str], bool]) -> bool:  # fmt: skip
    """linuxkit's `ImageInCache` check on a found image: its manifest parses and its config
    and layer blobs are present."""
    try:
        manifest = parse_manifest(read_blob(image.digest))
    except OciError:
        return False
    return all(has_blob(layer.digest) for layer in manifest.layers) and has_blob(
        manifest.config.digest
    )


def find_image(cache: LinuxkitCache, ref: str, arch: str) -> Descriptor | None:
    """The image manifest `ref` resolves to for `linux/<arch>` (see `platform_image`)."""
    root = find_root(cache, ref)
    return None if root is None else platform_image(root, cache.read_blob, arch)


def image_in_cache(cache: LinuxkitCache, ref: str, arch: str) -> bool:
    """linuxkit's `ImageInCache` (src/cmd/linuxkit/cache/write.go): the image for `linux/<arch>`
    and all of its layer blobs and its config blob are present."""
    image = find_image(cache, ref, arch)
    return image is not None and image_complete(image, cache.read_blob, cache.has_blob)


# --------------------------------------------------------------------------------------------
# Export


def referenced_blobs(cache: LinuxkitCache, desc: Descriptor) -> dict[str, BlobSource]:
    """Every blob reachable from `desc` (indexes, manifests, configs, layers), by digest.

    Blobs are file paths, except a missing blob whose content the descriptor embeds (`data`,
    e.g. the `{}` config of attestation manifests). Foreign/non-distributable layers that are
    absent are left out; any other missing blob is an error.
    """
    blobs: dict[str, BlobSource] = {}

    def add(d: Descriptor) -> bool:
        if d.digest in blobs:
            return False
        if cache.has_blob(d.digest):
            blobs[d.digest] = str(cache.blob_path(d.digest))
        elif d.data and sha256_digest(d.data) == d.digest:
            blobs[d.digest] = d.data
        elif d.media_type in FOREIGN_LAYER_TYPES:
            return False
        else:
            raise OciError(f"blob {d.digest} ({d.media_type}) is missing from the linuxkit cache")
        return True

    def walk(d: Descriptor) -> None:
        if not add(d):
            return
        if d.is_index:
            for child in parse_index(cache.read_blob(d.digest)).manifests:
                walk(child)
        elif d.is_image:
            manifest = parse_manifest(cache.read_blob(d.digest))
            add(manifest.config)
            for layer in manifest.layers:
                add(layer)

    walk(desc)
    return blobs


def export_image(
    cache: LinuxkitCache,
    ref: str,
    dest: str | os.PathLike[str] | IO[bytes],
    *,
    arch: str | None = None,
    name: str | None = None,
) -> Descriptor:
    """Write `ref` from the cache as an OCI archive (all platforms, or only `linux/<arch>`).

    The archive's single root is named `name` (default `ref`) in both
    `org.opencontainers.image.ref.name` (skopeo's `oci-archive:<file>:<name>`) and
    `io.containerd.image.name` (what `docker load` / `ctr import` tag it as). Returns that root.
    A platform with attestations is exported as buildkit does: an index of image and attestations.
    """
    if arch is None:
        found = find_descriptor(cache, ref)
    else:
        found = find_image(cache, ref, arch)
        if found is not None and found.platform is None:
            found = found.with_platform(manifest_platform(found, cache.read_blob))
    if found is None:
        what = f"{ref} for linux/{arch}" if arch else ref
        raise LinuxkitError(f"image {what} not found in the linuxkit cache {cache.root}")
    with locked(cache, required=False):
        blobs = referenced_blobs(cache, found)
        parent = find_root(cache, ref) if arch else None
        siblings = parse_index(cache.read_blob(parent.digest)).manifests if parent and parent.is_index else ()
        if attestations := attestations_for(siblings, found.digest):
            index, found = build_index((found, *attestations))
            blobs.update(kv for a in attestations for kv in referenced_blobs(cache, a).items())
            blobs[found.digest] = index
        root = found.with_annotations({ANNOTATION_REF_NAME: name or ref, ANNOTATION_IMAGE_NAME: name or ref})
        write_oci_archive(dest, blobs, [root])  # type: ignore[arg-type]
    return root
