"""OCI types and their JSON: descriptors, indexes, manifests, platforms, and multi-arch indexes.

LinuxKit keeps its cache as an OCI image layout written through go-containerregistry, and the
real `linuxkit` CLI must keep reading what this plugin writes. So the types here are the
go-containerregistry types (`v1.IndexManifest`, `v1.Descriptor`, `v1.Platform`, `v1.Manifest`):
decoding drops unknown fields the way Go does, and `go_json` / `go_json_indent` encode them with
Go's field order, `omitempty` rules and escaping. An index blob's digest is the SHA-256 of those
bytes, so "close enough" JSON would give different digests than linuxkit.

Pure Python, no Pants imports. Reading and writing OCI image-layout tars is `oci_archive`.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Tuple

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
REFERENCE_TYPE_ATTESTATION = "attestation-manifest"

_DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")

Annotations = Tuple[Tuple[str, str], ...]


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
        return cls(manifests=tuple(Descriptor.from_json(m) for m in manifests), **_common_fields(obj, "index"))

    def _go_fields(self) -> list[tuple[str, Any]]:
        return _go_fields(self, [("manifests", list(self.manifests))])


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
        return cls(
            config=Descriptor.from_json(obj["config"]),
            layers=tuple(Descriptor.from_json(layer) for layer in layers),
            **_common_fields(obj, "manifest"),
        )

    def _go_fields(self) -> list[tuple[str, Any]]:
        return _go_fields(self, [("config", self.config), ("layers", list(self.layers))])


def _common_fields(obj: dict, what: str) -> dict[str, Any]:
    """The fields an index and an image manifest share, from their JSON."""
    schema = obj.get("schemaVersion", 0)
    if isinstance(schema, bool) or not isinstance(schema, int):
        raise OciError(f"{what} schemaVersion must be an integer, not {schema!r}")
    subject = obj.get("subject")
    annotations = obj.get("annotations")
    return {
        "schema_version": schema,
        "media_type": _get_str(obj, "mediaType", what),
        "annotations": None if annotations is None else _get_object(annotations, f"{what} annotations"),
        "subject": None if subject is None else Descriptor.from_json(subject),
    }


def _go_fields(doc: Index | Manifest, own: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """An index's or image manifest's fields in Go's order, `own` between the shared ones."""
    fields: list[tuple[str, Any]] = [("schemaVersion", doc.schema_version)]
    if doc.media_type:
        fields.append(("mediaType", doc.media_type))
    fields += own
    if doc.annotations:
        fields.append(("annotations", dict(doc.annotations)))
    if doc.subject is not None:
        fields.append(("subject", doc.subject))
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


def attestations_for(manifests: Iterable[Descriptor], image_digest: str) -> Tuple[Descriptor, ...]:
    """The attestation manifests (buildkit's SBOMs) an index holds for one of its images: platform
    `unknown/unknown`, `vnd.docker.reference.digest` naming the image."""
    return tuple(
        desc for desc in manifests
        if desc.annotation(ANNOTATION_REFERENCE_TYPE) == REFERENCE_TYPE_ATTESTATION
        and desc.annotation(ANNOTATION_REFERENCE_DIGEST) == image_digest
    )  # fmt: skip
