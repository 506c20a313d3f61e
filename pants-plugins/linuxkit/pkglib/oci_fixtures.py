"""OCI content for linuxkit cache tests: per-arch images, attestations, and the tars buildctl
writes for them."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

from linuxkit.pkglib import linuxkit_cache as lc
from linuxkit.pkglib import oci, oci_archive
from linuxkit.pkglib.oci import Descriptor, Platform

NAME = "docker.io/linuxkit/foo:abc"
CONFIG_MT = "application/vnd.oci.image.config.v1+json"
LAYER_MT = "application/vnd.oci.image.layer.v1.tar+gzip"


def digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Image:
    """One platform image (config + one layer + manifest), with its blobs."""

    def __init__(self, arch: str, salt: str = "") -> None:
        self.arch = arch
        self.layer = f"layer {arch} {salt}".encode()
        self.config = json.dumps({"architecture": arch, "os": "linux", "salt": salt}).encode()
        self.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": oci.OCI_MANIFEST,
                "config": {
                    "mediaType": CONFIG_MT,
                    "digest": digest(self.config),
                    "size": len(self.config),
                },
                "layers": [
                    {"mediaType": LAYER_MT, "digest": digest(self.layer), "size": len(self.layer)}
                ],
            },
            indent=2,
        ).encode()
        self.blobs = {digest(b): b for b in (self.layer, self.config, self.manifest)}

    @property
    def desc(self) -> Descriptor:
        return Descriptor(
            oci.OCI_MANIFEST,
            len(self.manifest),
            digest(self.manifest),
            platform=Platform(self.arch, "linux"),
        )


class Attestation:
    def __init__(self, subject: Image) -> None:
        empty = b"{}"
        statement = json.dumps({"subject": digest(subject.manifest)}).encode()
        self.manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": oci.OCI_MANIFEST,
                "artifactType": "application/vnd.docker.attestation.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.empty.v1+json",
                    "digest": digest(empty),
                    "size": 2,
                    "data": "e30=",
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.in-toto+json",
                        "digest": digest(statement),
                        "size": len(statement),
                    }
                ],
            }
        ).encode()
        self.blobs = {digest(b): b for b in (empty, statement, self.manifest)}
        self.desc = Descriptor(
            oci.OCI_MANIFEST,
            len(self.manifest),
            digest(self.manifest),
            annotations={
                oci.ANNOTATION_REFERENCE_DIGEST: digest(subject.manifest),
                oci.ANNOTATION_REFERENCE_TYPE: "attestation-manifest",
            },
            platform=Platform("unknown", "unknown"),
        )


def buildctl_tar(
    image: Image, *, attest: bool = False, name: str | None = None, image_name: bool = True
) -> bytes:
    """What buildkit v0.32's `--output type=oci,name=<name>` writes for one platform: a bare
    manifest root without attestations, an index (image + attestation manifest) with them."""
    name = name or f"{NAME}-{image.arch}"
    blobs = dict(image.blobs)
    annotations = {
        oci.ANNOTATION_IMAGE_NAME: name,
        "org.opencontainers.image.created": "2026-11-23T10:52:15Z",
        oci.ANNOTATION_REF_NAME: name.rsplit(":", 1)[1],
    }
    if not image_name:  # buildctl without `name=`: no name annotations at all
        annotations = {"org.opencontainers.image.created": "2026-11-23T10:52:15Z"}
    if attest:
        att = Attestation(image)
        blobs.update(att.blobs)
        index_blob = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": oci.OCI_INDEX,
                "manifests": [
                    json.loads(oci.go_json(image.desc)),
                    json.loads(oci.go_json(att.desc)),
                ],
            },
            indent=2,
        ).encode()
        blobs[digest(index_blob)] = index_blob
        root = {
            "mediaType": oci.OCI_INDEX,
            "digest": digest(index_blob),
            "size": len(index_blob),
            "annotations": annotations,
        }
    else:
        root = {
            "mediaType": oci.OCI_MANIFEST,
            "digest": digest(image.manifest),
            "size": len(image.manifest),
            "annotations": annotations,
            "platform": {"architecture": image.arch, "os": "linux"},
        }
    index = json.dumps(
        {"schemaVersion": 2, "mediaType": oci.OCI_INDEX, "manifests": [root]}, separators=(",", ":")
    ).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for d in ("blobs/", "blobs/sha256/"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for dig in sorted(blobs):
            info = tarfile.TarInfo("blobs/sha256/" + dig[7:])
            info.size, info.mode = len(blobs[dig]), 0o444
            tar.addfile(info, io.BytesIO(blobs[dig]))
        for name_, data in (("index.json", index), ("oci-layout", oci_archive.OCI_LAYOUT_COMPACT)):
            info = tarfile.TarInfo(name_)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def put_blobs(cache, *things) -> None:  # type: ignore[no-untyped-def]
    for thing in things:
        for dig, data in thing.blobs.items():
            lc.write_blob(cache, dig, data)


def other_process_can_lock(path: Path) -> bool:
    """Whether another process could take the cache's fcntl write lock right now."""
    code = (
        "import fcntl, os, sys\n"
        "fd = os.open(sys.argv[1], os.O_RDWR)\n"
        "try:\n"
        "    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)\n"
        "except OSError:\n"
        "    sys.exit(1)\n"
    )
    return subprocess.run([sys.executable, "-c", code, str(path)]).returncode == 0
