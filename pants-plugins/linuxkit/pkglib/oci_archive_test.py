"""Reading buildctl's OCI tars and writing deterministic OCI archives (`oci_archive`)."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from linuxkit.pkglib import oci, oci_archive
from linuxkit.pkglib.oci import Descriptor, Index, Manifest, OciError, Platform
from linuxkit.pkglib.oci import sha256_digest as digest

A = "sha256:" + "a" * 64
C = "sha256:" + "c" * 64


# --------------------------------------------------------------------------------------------
# A tar shaped like `buildctl build --output type=oci,dest=…,name=docker.io/linuxkit/foo:abc-arm64`
# (buildkit v0.32, no attestations): dirs, 0444 blobs, containerd key order in index.json, and a
# bare manifest as the single root, with the platform on the root descriptor.


def make_image(arch: str = "arm64", layer: bytes = b"layer-bytes") -> dict[str, bytes]:
    config = json.dumps(
        {"architecture": arch, "os": "linux", "rootfs": {"type": "layers"}}
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": oci.OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": digest(layer),
                    "size": len(layer),
                }
            ],
        },
        indent=2,
    ).encode()
    return {"config": config, "layer": layer, "manifest": manifest}


def buildctl_tar(
    image: dict[str, bytes],
    *,
    name: str | None = "docker.io/linuxkit/foo:abc-arm64",
    platform: bool = True,
) -> bytes:
    root: dict = {
        "mediaType": oci.OCI_MANIFEST,
        "digest": digest(image["manifest"]),
        "size": len(image["manifest"]),
    }
    annotations = {"org.opencontainers.image.created": "2026-11-23T10:52:15Z"}
    if name:
        annotations.update(
            {oci.ANNOTATION_IMAGE_NAME: name, oci.ANNOTATION_REF_NAME: name.rsplit(":", 1)[1]}
        )
    root["annotations"] = annotations
    if platform:
        root["platform"] = {"architecture": "arm64", "os": "linux"}
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": [root]}, separators=(",", ":")
    )
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for d in ("blobs/", "blobs/sha256/"):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for blob in sorted(image.values(), key=digest):
            info = tarfile.TarInfo("blobs/sha256/" + digest(blob)[7:])
            info.size, info.mode = len(blob), 0o444
            tar.addfile(info, io.BytesIO(blob))
        for name_, data in (("index.json", index.encode()), ("oci-layout", oci_archive.OCI_LAYOUT_COMPACT)):
            info = tarfile.TarInfo(name_)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_read_buildctl_tar(tmp_path: Path) -> None:
    image = make_image()
    data = buildctl_tar(image)
    path = tmp_path / "out.tar"
    path.write_bytes(data)
    for source in (data, path, str(path)):
        with oci_archive.OciArchive.open(source) as archive:
            assert archive.oci_layout == b'{"imageLayoutVersion":"1.0.0"}'
            (root,) = archive.root_descriptors
            assert root.is_image and root.digest == digest(image["manifest"])
            assert root.annotation(oci.ANNOTATION_IMAGE_NAME) == "docker.io/linuxkit/foo:abc-arm64"
            assert root.annotation(oci.ANNOTATION_REF_NAME) == "abc-arm64"
            assert archive.platform(root) == Platform("arm64", "linux")
            assert archive.blob_sizes == {digest(b): len(b) for b in image.values()}
            manifest = archive.read_manifest(root)
            assert manifest.config.digest == digest(image["config"])
            assert archive.read_blob(manifest.layers[0].digest) == b"layer-bytes"
            with pytest.raises(OciError, match="not in the OCI archive"):
                archive.open_blob(C)


def test_platform_falls_back_to_image_config() -> None:
    image = make_image("riscv64")
    with oci_archive.OciArchive.open(buildctl_tar(image, platform=False)) as archive:
        (root,) = archive.root_descriptors
        assert root.platform is None
        assert archive.platform(root) == Platform("riscv64", "linux")


class PipeReader(io.RawIOBase):
    """A non-seekable stream, like buildctl's stdout."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        chunk = self._data.read(min(len(b), 100))
        b[: len(chunk)] = chunk
        return len(chunk)


def test_iter_oci_tar_streams_from_a_pipe() -> None:
    image = make_image()
    entries = [(entry, f.read()) for entry, f in oci_archive.iter_oci_tar(PipeReader(buildctl_tar(image)))]
    kinds = [(entry.kind, entry.digest) for entry, _ in entries]
    assert kinds == [("blob", d) for d in sorted(digest(b) for b in image.values())] + [
        ("index", ""),
        ("oci-layout", ""),
    ]
    for entry, content in entries:
        if entry.kind == "blob":
            assert digest(content) == entry.digest


def test_classify_entry() -> None:
    assert oci_archive.classify_entry("./index.json", 1).kind == "index"
    assert oci_archive.classify_entry("manifest.json", 1).kind == "other"
    assert oci_archive.classify_entry("blobs/sha256/" + "a" * 64, 1).digest == A
    with pytest.raises(OciError, match="invalid blob file name"):
        oci_archive.classify_entry("blobs/sha256/..", 1)


# --------------------------------------------------------------------------------------------
# Writing archives


def test_write_oci_archive_is_deterministic_and_readable(tmp_path: Path) -> None:
    image = make_image()
    layer_file = tmp_path / "layer"
    layer_file.write_bytes(image["layer"])
    blobs: dict[str, oci_archive.BlobSource] = {
        digest(image["manifest"]): image["manifest"],
        digest(image["config"]): image["config"],
    }
    blobs[digest(image["layer"])] = layer_file  # streamed from disk
    root = Descriptor(
        oci.OCI_MANIFEST,
        len(image["manifest"]),
        digest(image["manifest"]),
        annotations={oci.ANNOTATION_REF_NAME: "docker.io/linuxkit/foo:abc"},
    )

    first = tmp_path / "a.tar"
    oci_archive.write_oci_archive(first, blobs, [root])
    second = io.BytesIO()
    oci_archive.write_oci_archive(second, dict(reversed(list(blobs.items()))), [root])
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.getvalue()).digest()

    with tarfile.open(first) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        assert names == sorted(names)
        assert names[:2] == ["blobs", "blobs/sha256"] and names[-2:] == ["index.json", "oci-layout"]
        assert all(m.mtime == 0 and m.uid == 0 and m.gid == 0 and m.uname == "" for m in members)
        assert {m.name: oct(m.mode) for m in members if m.isdir()} == {
            "blobs": "0o755",
            "blobs/sha256": "0o755",
        }
        assert {oct(m.mode) for m in members if m.isfile()} == {"0o644"}
    with oci_archive.OciArchive.open(first) as archive:
        assert archive.raw_index == oci.go_json(Index(manifests=(root,))).encode()
        assert archive.read_blob(digest(image["layer"])) == image["layer"]
        assert archive.oci_layout == oci_archive.OCI_LAYOUT_COMPACT


def test_write_oci_archive_rejects_bad_input_and_leaves_dest_alone(tmp_path: Path) -> None:
    image = make_image()
    dest = tmp_path / "x.tar"
    dest.write_bytes(b"old")
    root = Descriptor(oci.OCI_MANIFEST, len(image["manifest"]), digest(image["manifest"]))
    with pytest.raises(OciError, match="missing from the archive"):
        oci_archive.write_oci_archive(dest, {}, [root])
    with pytest.raises(OciError, match="does not match its digest"):
        oci_archive.write_oci_archive(dest, {digest(image["manifest"]): b"tampered"}, [root])
    wrong = tmp_path / "wrong"
    wrong.write_bytes(b"tampered")
    with pytest.raises(OciError, match="does not match its digest"):
        oci_archive.write_oci_archive(dest, {digest(image["manifest"]): wrong}, [root])
    assert dest.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wrong", "x.tar"]


def test_manifest_round_trip() -> None:
    image = make_image()
    manifest = oci.parse_manifest(image["manifest"])
    assert isinstance(manifest, Manifest) and manifest.layers[0].size == len(image["layer"])
    assert oci.parse_manifest(oci.go_json(manifest)) == manifest
    assert oci.parse_config_platform(image["config"]) == Platform("arm64", "linux")
