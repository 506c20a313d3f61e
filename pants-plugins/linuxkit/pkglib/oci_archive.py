"""OCI image-layout tars: read buildctl's `type=oci` output, write deterministic OCI archives.

Pure Python, no Pants imports. Layers can be gigabytes: everything that moves blob content
streams it from files or tar members rather than holding it in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Iterator, Mapping, Sequence, Union

from linuxkit.pkglib.oci import (
    Descriptor,
    Index,
    Manifest,
    OciError,
    Platform,
    blob_relpath,
    check_digest,
    go_json,
    is_digest,
    manifest_platform,
    parse_index,
    parse_manifest,
    sha256_digest,
)

# Exactly what buildkit's oci exporter writes; go-containerregistry accepts any valid JSON here.
OCI_LAYOUT_COMPACT = b'{"imageLayoutVersion":"1.0.0"}'
_CHUNK = 1 << 20

BlobSource = Union[bytes, str, "os.PathLike[str]"]
TarSource = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", BinaryIO]


# --------------------------------------------------------------------------------------------
# Reading OCI tars


@dataclass(frozen=True)
class ArchiveEntry:
    """A regular file in an OCI tar, classified the way linuxkit's `ImageLoad` does."""

    name: str
    kind: str  # "blob", "index", "oci-layout" or "other"
    size: int
    digest: str = ""  # for blobs


def _entry_name(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name


def classify_entry(name: str, size: int) -> ArchiveEntry:
    name = _entry_name(name)
    if name == "index.json":
        return ArchiveEntry(name, "index", size)
    if name == "oci-layout":
        return ArchiveEntry(name, "oci-layout", size)
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "blobs" and parts[1] and parts[2]:
        digest = f"{parts[1]}:{parts[2]}"
        if not is_digest(digest):
            raise OciError(f"invalid blob file name {name} in OCI archive")
        return ArchiveEntry(name, "blob", size, digest)
    return ArchiveEntry(name, "other", size)


@contextlib.contextmanager
def _open_source(source: TarSource) -> Iterator[BinaryIO]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        yield io.BytesIO(bytes(source))
    elif isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as f:
            yield f
    else:
        yield source


def iter_oci_tar(source: TarSource) -> Iterator[tuple[ArchiveEntry, IO[bytes]]]:
    """Stream the regular files of an OCI tar in archive order (works on pipes too).

    Each yielded file object is only readable until the next iteration. Directories, links and
    other special entries are skipped, like linuxkit's loader does.
    """
    with _open_source(source) as raw:
        try:
            with tarfile.open(fileobj=raw, mode="r|*") as tar:
                for member in tar:
                    if not member.isfile():
                        continue
                    entry = classify_entry(member.name, member.size)
                    fileobj = tar.extractfile(member)
                    assert fileobj is not None
                    yield entry, fileobj
        except tarfile.TarError as e:
            raise OciError(f"invalid OCI archive: {e}")


class OciArchive:
    """Random access to an OCI image-layout tar such as buildctl's `--output type=oci` result.

    Only headers are indexed on open; blob content is read on demand (`open_blob` streams).
    Use `OciArchive.open(path_or_bytes)` as a context manager.
    """

    def __init__(self, tar: tarfile.TarFile) -> None:
        self._tar = tar
        self._members: dict[str, tarfile.TarInfo] = {}
        self._blobs: dict[str, tarfile.TarInfo] = {}
        for member in tar.getmembers():
            if not member.isfile():
                continue
            entry = classify_entry(member.name, member.size)
            self._members[entry.name] = member
            if entry.kind == "blob":
                self._blobs[entry.digest] = member

    @classmethod
    @contextlib.contextmanager
    def open(cls, source: bytes | str | os.PathLike[str] | BinaryIO) -> Iterator[OciArchive]:
        with _open_source(source) as raw:
            try:
                tar = tarfile.open(fileobj=raw, mode="r:*")
            except tarfile.TarError as e:
                raise OciError(f"invalid OCI archive: {e}")
            with tar:
                yield cls(tar)

    def _read_member(self, name: str) -> bytes | None:
        member = self._members.get(name)
        if member is None:
            return None
        f = self._tar.extractfile(member)
        assert f is not None
        return f.read()

    @property
    def oci_layout(self) -> bytes | None:
        return self._read_member("oci-layout")

    @property
    def raw_index(self) -> bytes:
        data = self._read_member("index.json")
        if data is None:
            raise OciError("OCI archive has no index.json")
        return data

    @property
    def index(self) -> Index:
        return parse_index(self.raw_index)

    @property
    def root_descriptors(self) -> tuple[Descriptor, ...]:
        return self.index.manifests

    @property
    def blob_sizes(self) -> dict[str, int]:
        return {digest: member.size for digest, member in self._blobs.items()}

    def has_blob(self, digest: str) -> bool:
        return digest in self._blobs

    def open_blob(self, digest: str) -> IO[bytes]:
        member = self._blobs.get(digest)
        if member is None:
            raise OciError(f"blob {digest} is not in the OCI archive")
        f = self._tar.extractfile(member)
        assert f is not None
        return f

    def read_blob(self, digest: str) -> bytes:
        with self.open_blob(digest) as f:
            return f.read()

    def read_index(self, desc: Descriptor) -> Index:
        return parse_index(self.read_blob(desc.digest))

    def read_manifest(self, desc: Descriptor) -> Manifest:
        return parse_manifest(self.read_blob(desc.digest))

    def platform(self, desc: Descriptor) -> Platform | None:
        return manifest_platform(desc, self.read_blob)


# --------------------------------------------------------------------------------------------
# Writing OCI archives


class _HashingReader:
    """Feeds tarfile from a file while hashing, so a path blob is read only once."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._f.read(size)
        self.hash.update(data)
        return data


def _tarinfo(name: str, *, size: int = 0, directory: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = 0o755
    else:
        info.size = size
        info.mode = 0o644
    return info


def _write_archive(out: BinaryIO, blobs: Mapping[str, BlobSource], index_blob: bytes) -> None:
    # PAX only adds extended headers when a field needs them (e.g. >8 GiB members), so for
    # ordinary content the bytes are plain ustar and identical run to run.
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        algorithms = sorted({digest.split(":")[0] for digest in blobs})
        tar.addfile(_tarinfo("blobs", directory=True))
        for algorithm in algorithms:
            tar.addfile(_tarinfo(f"blobs/{algorithm}", directory=True))
        for digest in sorted(blobs):
            source = blobs[digest]
            name = blob_relpath(digest)
            if isinstance(source, (bytes, bytearray, memoryview)):
                data = bytes(source)
                if sha256_digest(data) != digest:
                    raise OciError(f"blob content does not match its digest {digest}")
                tar.addfile(_tarinfo(name, size=len(data)), io.BytesIO(data))
            else:
                with open(source, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    reader = _HashingReader(f)
                    tar.addfile(_tarinfo(name, size=size), reader)  # type: ignore[arg-type]
                if "sha256:" + reader.hash.hexdigest() != digest:
                    raise OciError(f"blob file {source} does not match its digest {digest}")
        tar.addfile(_tarinfo("index.json", size=len(index_blob)), io.BytesIO(index_blob))
        tar.addfile(
            _tarinfo("oci-layout", size=len(OCI_LAYOUT_COMPACT)), io.BytesIO(OCI_LAYOUT_COMPACT)
        )


def write_oci_archive(
    dest: str | os.PathLike[str] | BinaryIO,
    blobs: Mapping[str, BlobSource],
    index_descriptors: Sequence[Descriptor],
) -> None:
    """Write a deterministic OCI image-layout tar (`skopeo ... oci-archive:<dest>[:<ref.name>]`).

    `blobs` maps digest -> content bytes or a file path (streamed, for big layers); every blob is
    checked against its digest. Entries are sorted with mtime 0, uid/gid 0, modes 0644/0755, so
    the same input always gives the same bytes. A path `dest` is replaced atomically.
    """
    for desc in index_descriptors:
        if desc.digest not in blobs:
            raise OciError(f"blob {desc.digest} of root descriptor is missing from the archive")
    for digest in blobs:
        check_digest(digest, "blob digest")
    index_blob = go_json(Index(manifests=tuple(index_descriptors))).encode("utf-8")
    if not isinstance(dest, (str, os.PathLike)):
        _write_archive(dest, blobs, index_blob)
        return
    with atomic_file(Path(dest)) as f:
        _write_archive(f, blobs, index_blob)  # type: ignore[arg-type]


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[IO[bytes]]:
    """Write to a temp file beside `path`, then rename over it: readers see old or new, never
    a torn file. On any error the temp file goes and `path` is untouched."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def copy_stream(src: IO[bytes], dst: IO[bytes]) -> str:
    """Copy in chunks and return the content's sha256 digest."""
    h = hashlib.sha256()
    while True:
        chunk = src.read(_CHUNK)
        if not chunk:
            break
        h.update(chunk)
        dst.write(chunk)
    return "sha256:" + h.hexdigest()
