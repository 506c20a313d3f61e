"""OCI image-layout primitives: read buildctl's `type=oci` tar, write OCI archives and indexes.

LinuxKit keeps its cache as an OCI image layout written through go-containerregistry, and the
real `linuxkit` CLI must keep reading what this plugin writes. So the types here are the
go-containerregistry types (`v1.IndexManifest`, `v1.Descriptor`, `v1.Platform`, `v1.Manifest`):
decoding drops unknown fields the way Go does, and `go_json` / `go_json_indent` encode them with
Go's field order, `omitempty` rules and escaping. An index blob's digest is the SHA-256 of those
bytes, so "close enough" JSON would give different digests than linuxkit.

Pure Python, no Pants imports. Layers can be gigabytes: everything that moves blob content
streams it from files or tar members rather than holding it in memory.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    IO,
    Any,
    BinaryIO,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
    Tuple,
    Union,
)

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.gojson import go_string

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

# Layers a registry need not serve (and a layout need not hold): skipped when exporting.
FOREIGN_LAYER_TYPES = frozenset(
    {
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
    }
)

ANNOTATION_REF_NAME = "org.opencontainers.image.ref.name"
ANNOTATION_IMAGE_NAME = "io.containerd.image.name"  # buildkit's oci exporter sets it to `name=`
ANNOTATION_REFERENCE_DIGEST = "vnd.docker.reference.digest"  # attestation -> the image it is about
ANNOTATION_REFERENCE_TYPE = "vnd.docker.reference.type"

# Exactly what buildkit's oci exporter writes; go-containerregistry accepts any valid JSON here.
OCI_LAYOUT_COMPACT = b'{"imageLayoutVersion":"1.0.0"}'

_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
_CHUNK = 1 << 20

Annotations = Tuple[Tuple[str, str], ...]
BlobSource = Union[bytes, str, "os.PathLike[str]"]
TarSource = Union[bytes, bytearray, memoryview, str, "os.PathLike[str]", BinaryIO]


class OciError(LinuxkitError):
    """OCI content (an index, manifest, blob or archive) is malformed or incomplete."""


# --------------------------------------------------------------------------------------------
# Digests and media types


def is_digest(value: str) -> bool:
    """go-containerregistry's `v1.NewHash` only accepts `sha256:<64 lower-case hex>`."""
    return isinstance(value, str) and _DIGEST_RE.fullmatch(value) is not None


def check_digest(value: Any, what: str = "digest") -> str:
    if not is_digest(value):
        raise OciError(f"invalid {what} {value!r}: want sha256:<64 hex digits>")
    return value


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def blob_relpath(digest: str) -> str:
    """`blobs/sha256/<hex>`; validating first keeps a hostile digest from escaping the layout."""
    algorithm, hex_ = check_digest(digest).split(":")
    return f"blobs/{algorithm}/{hex_}"


def is_index_media_type(media_type: str) -> bool:
    return media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST)


def is_image_media_type(media_type: str) -> bool:
    return media_type in (OCI_MANIFEST, DOCKER_MANIFEST)


# --------------------------------------------------------------------------------------------
# go-containerregistry types


def _normalise_annotations(value: Any) -> Annotations:
    if value is None:
        return ()
    items = value.items() if isinstance(value, Mapping) else value
    result = {}
    for key, val in items:
        if not isinstance(key, str) or not isinstance(val, str):
            raise OciError(f"annotation {key!r}: {val!r} is not a string pair")
        result[key] = val
    return tuple(sorted(result.items(), key=lambda kv: kv[0].encode("utf-8", "surrogatepass")))


def _string_tuple(value: Any, what: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise OciError(f"{what} must be a list of strings, not {value!r}")
    return tuple(value)


def _get_str(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = obj.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise OciError(f"{what}: {key} must be a string, not {value!r}")
    return value


def _get_object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise OciError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Platform:
    """`v1.Platform`. linuxkit matches on os/architecture (and os.version for index updates)."""

    architecture: str
    os: str
    os_version: str = ""
    os_features: Tuple[str, ...] = ()
    variant: str = ""
    features: Tuple[str, ...] = ()

    @classmethod
    def from_json(cls, obj: Any) -> Platform:
        obj = _get_object(obj, "platform")
        return cls(
            architecture=_get_str(obj, "architecture", "platform"),
            os=_get_str(obj, "os", "platform"),
            os_version=_get_str(obj, "os.version", "platform"),
            os_features=_string_tuple(obj.get("os.features"), "platform os.features"),
            variant=_get_str(obj, "variant", "platform"),
            features=_string_tuple(obj.get("features"), "platform features"),
        )

    @property
    def is_unknown(self) -> bool:
        """buildkit's attestation manifests carry platform `unknown/unknown`."""
        return self.os == "unknown" and self.architecture == "unknown"

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)

    def _go_fields(self) -> list[tuple[str, Any]]:
        fields: list[tuple[str, Any]] = [("architecture", self.architecture), ("os", self.os)]
        if self.os_version:
            fields.append(("os.version", self.os_version))
        if self.os_features:
            fields.append(("os.features", list(self.os_features)))
        if self.variant:
            fields.append(("variant", self.variant))
        if self.features:
            fields.append(("features", list(self.features)))
        return fields


@dataclass(frozen=True)
class Descriptor:
    """`v1.Descriptor`. Annotations are kept as sorted pairs so descriptors stay hashable;
    pass a dict to the constructor and it is normalised."""

    media_type: str
    size: int
    digest: str
    data: bytes = b""
    urls: Tuple[str, ...] = ()
    annotations: Annotations = field(default=())
    platform: Platform | None = None
    artifact_type: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "annotations", _normalise_annotations(self.annotations))
        object.__setattr__(self, "urls", tuple(self.urls))

    @classmethod
    def from_json(cls, obj: Any) -> Descriptor:
        obj = _get_object(obj, "descriptor")
        size = obj.get("size", 0)
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise OciError(f"descriptor size must be a non-negative integer, not {size!r}")
        data = obj.get("data")
        if data is None:
            raw = b""
        elif isinstance(data, str):
            try:
                raw = base64.b64decode(data, validate=True)
            except ValueError as e:
                raise OciError(f"descriptor data is not base64: {e}")
        else:
            raise OciError(f"descriptor data must be a base64 string, not {data!r}")
        platform = obj.get("platform")
        annotations = obj.get("annotations")
        if annotations is not None:
            annotations = _get_object(annotations, "descriptor annotations")
        return cls(
            media_type=_get_str(obj, "mediaType", "descriptor"),
            size=size,
            digest=check_digest(obj.get("digest"), "descriptor digest"),
            data=raw,
            urls=_string_tuple(obj.get("urls"), "descriptor urls"),
            annotations=annotations,  # type: ignore[arg-type]
            platform=None if platform is None else Platform.from_json(platform),
            artifact_type=_get_str(obj, "artifactType", "descriptor"),
        )

    def annotation(self, key: str, default: str | None = None) -> str | None:
        for k, v in self.annotations:
            if k == key:
                return v
        return default

    def annotations_dict(self) -> dict[str, str]:
        return dict(self.annotations)

    def with_annotations(self, annotations: Mapping[str, str] | None) -> Descriptor:
        """A copy whose annotations are exactly `annotations`."""
        return _replace(self, annotations=annotations)

    def with_annotation(self, key: str, value: str) -> Descriptor:
        return self.with_annotations({**self.annotations_dict(), key: value})

    def with_platform(self, platform: Platform | None) -> Descriptor:
        return _replace(self, platform=platform)

    @property
    def ref_name(self) -> str | None:
        return self.annotation(ANNOTATION_REF_NAME)

    @property
    def is_index(self) -> bool:
        return is_index_media_type(self.media_type)

    @property
    def is_image(self) -> bool:
        return is_image_media_type(self.media_type)

    def _go_fields(self) -> list[tuple[str, Any]]:
        fields: list[tuple[str, Any]] = [
            ("mediaType", self.media_type),
            ("size", self.size),
            ("digest", self.digest),
        ]
        if self.data:
            fields.append(("data", self.data))
        if self.urls:
            fields.append(("urls", list(self.urls)))
        if self.annotations:
            fields.append(("annotations", dict(self.annotations)))
        if self.platform is not None:
            fields.append(("platform", self.platform))
        if self.artifact_type:
            fields.append(("artifactType", self.artifact_type))
        return fields


def _replace(desc: Descriptor, **changes: Any) -> Descriptor:
    return dataclasses.replace(desc, **changes)


@dataclass(frozen=True)
class Index:
    """`v1.IndexManifest`. `manifests` always encodes as a list (`[]` when empty)."""

    manifests: Tuple[Descriptor, ...] = ()
    schema_version: int = 2
    media_type: str = OCI_INDEX
    annotations: Annotations = field(default=())
    subject: Descriptor | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "manifests", tuple(self.manifests))
        object.__setattr__(self, "annotations", _normalise_annotations(self.annotations))

    @classmethod
    def from_json(cls, obj: Any) -> Index:
        obj = _get_object(obj, "index")
        manifests = obj.get("manifests") or []
        if not isinstance(manifests, list):
            raise OciError("index manifests must be a list")
        schema = obj.get("schemaVersion", 0)
        if isinstance(schema, bool) or not isinstance(schema, int):
            raise OciError(f"index schemaVersion must be an integer, not {schema!r}")
        subject = obj.get("subject")
        annotations = obj.get("annotations")
        if annotations is not None:
            annotations = _get_object(annotations, "index annotations")
        return cls(
            manifests=tuple(Descriptor.from_json(m) for m in manifests),
            schema_version=schema,
            media_type=_get_str(obj, "mediaType", "index"),
            annotations=annotations,  # type: ignore[arg-type]
            subject=None if subject is None else Descriptor.from_json(subject),
        )

    def _go_fields(self) -> list[tuple[str, Any]]:
        fields: list[tuple[str, Any]] = [("schemaVersion", self.schema_version)]
        if self.media_type:
            fields.append(("mediaType", self.media_type))
        fields.append(("manifests", list(self.manifests)))
        if self.annotations:
            fields.append(("annotations", dict(self.annotations)))
        if self.subject is not None:
            fields.append(("subject", self.subject))
        return fields


@dataclass(frozen=True)
class Manifest:
    """`v1.Manifest` (an image manifest): what linuxkit needs to know which blobs make an image."""

    config: Descriptor
    layers: Tuple[Descriptor, ...] = ()
    schema_version: int = 2
    media_type: str = OCI_MANIFEST
    annotations: Annotations = field(default=())
    subject: Descriptor | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "annotations", _normalise_annotations(self.annotations))

    @classmethod
    def from_json(cls, obj: Any) -> Manifest:
        obj = _get_object(obj, "manifest")
        if "config" not in obj:
            raise OciError("manifest has no config descriptor")
        layers = obj.get("layers") or []
        if not isinstance(layers, list):
            raise OciError("manifest layers must be a list")
        schema = obj.get("schemaVersion", 0)
        if isinstance(schema, bool) or not isinstance(schema, int):
            raise OciError(f"manifest schemaVersion must be an integer, not {schema!r}")
        subject = obj.get("subject")
        annotations = obj.get("annotations")
        if annotations is not None:
            annotations = _get_object(annotations, "manifest annotations")
        return cls(
            config=Descriptor.from_json(obj["config"]),
            layers=tuple(Descriptor.from_json(layer) for layer in layers),
            schema_version=schema,
            media_type=_get_str(obj, "mediaType", "manifest"),
            annotations=annotations,  # type: ignore[arg-type]
            subject=None if subject is None else Descriptor.from_json(subject),
        )

    def _go_fields(self) -> list[tuple[str, Any]]:
        fields: list[tuple[str, Any]] = [("schemaVersion", self.schema_version)]
        if self.media_type:
            fields.append(("mediaType", self.media_type))
        fields += [("config", self.config), ("layers", list(self.layers))]
        if self.annotations:
            fields.append(("annotations", dict(self.annotations)))
        if self.subject is not None:
            fields.append(("subject", self.subject))
        return fields


def _load_json(data: bytes | str, what: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise OciError(f"{what} is not valid JSON: {e}")


def parse_index(data: bytes | str) -> Index:
    return Index.from_json(_load_json(data, "index"))


def parse_manifest(data: bytes | str) -> Manifest:
    return Manifest.from_json(_load_json(data, "manifest"))


def parse_config_platform(data: bytes | str) -> Platform:
    """The platform an image config blob declares (`os`, `architecture`, `variant`, ...)."""
    return Platform.from_json(_get_object(_load_json(data, "image config"), "image config"))


def manifest_platform(desc: Descriptor, read_blob: Callable[[str], bytes]) -> Platform | None:
    """The descriptor's platform, else the one its image's config blob declares.

    buildkit puts the platform on the descriptor; a bare manifest from elsewhere may not have one,
    and then go-containerregistry (like us) falls back to the config. Indexes have no platform.
    """
    if desc.platform is not None:
        return desc.platform
    if not desc.is_image:
        return None
    manifest = parse_manifest(read_blob(desc.digest))
    return parse_config_platform(read_blob(manifest.config.digest))


# --------------------------------------------------------------------------------------------
# Go's encoding/json


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, (Index, Descriptor, Platform, Manifest)):
        out.append("{")
        for i, (key, item) in enumerate(value._go_fields()):
            if i:
                out.append(",")
            out.append(go_string(key))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, str):
        out.append(go_string(value))
    elif isinstance(value, (bytes, bytearray)):  # Go's []byte
        out.append(go_string(base64.b64encode(bytes(value)).decode("ascii")))
    elif isinstance(value, Mapping):  # a Go map: keys sorted by their bytes
        out.append("{")
        items = sorted(value.items(), key=lambda kv: kv[0].encode("utf-8", "surrogatepass"))
        for i, (key, item) in enumerate(items):
            if i:
                out.append(",")
            out.append(go_string(key))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"go_json cannot encode {type(value).__name__}")


def go_json(obj: Any) -> str:
    """`json.Marshal(obj)` for the go-containerregistry types above (struct field order,
    `omitempty`) and for plain values (dicts encode as Go maps: sorted keys). Strings get Go's
    escaping: `<`, `>`, `&`, U+2028 and U+2029 as `\\u00XX`/`\\u20XX`."""
    out: list[str] = []
    _encode(obj, out)
    return "".join(out)


def indent_json(compact: str, indent: str = "   ", prefix: str = "") -> str:
    """Go's `json.Indent`: re-lay compact JSON; empty objects and arrays stay `{}` / `[]`."""
    out: list[str] = []
    depth = 0
    need_indent = False
    in_string = escaped = False

    def newline() -> None:
        out.append("\n" + prefix + indent * depth)

    for ch in compact:
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
            continue
        if ch in " \t\r\n":
            continue
        if need_indent and ch not in "]}":
            need_indent = False
            depth += 1
            newline()
        if ch == '"':
            in_string = True
            out.append(ch)
        elif ch in "{[":
            out.append(ch)
            need_indent = True  # delayed, so that an empty container stays on one line
        elif ch == ",":
            out.append(ch)
            newline()
        elif ch == ":":
            out.append(": ")
        elif ch in "]}":
            if need_indent:
                need_indent = False
            else:
                depth -= 1
                newline()
            out.append(ch)
        else:
            out.append(ch)
    return "".join(out)


def go_json_indent(obj: Any, indent: str = "   ", prefix: str = "") -> str:
    """`json.MarshalIndent(obj, prefix, indent)`; linuxkit's cache `index.json` uses 3 spaces."""
    return indent_json(go_json(obj), indent, prefix)


def build_index(
    descriptors: Iterable[Descriptor], annotations: Mapping[str, str] | None = None
) -> tuple[bytes, Descriptor]:
    """A multi-arch OCI index over `descriptors` (in the given order): its blob and descriptor.

    The descriptor carries no annotations or platform; callers add the ref name where needed.
    """
    blob = go_json(Index(manifests=tuple(descriptors), annotations=annotations)).encode("utf-8")
    return blob, Descriptor(media_type=OCI_INDEX, size=len(blob), digest=sha256_digest(blob))


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
