"""A multi-arch busybox base image, built offline and pushed to a test registry.

Tests cannot pull `busybox` from Docker Hub (no network), so they build one from
Debian's static busybox binaries: one OCI image per arch (a single layer with
/bin/busybox and applet symlinks) under an OCI index. Everything is
deterministic (fixed mtimes, owners, gzip header), so digests are stable.

    ref = push_busybox_base(registry)   # "127.0.0.1:PORT/library/busybox:1.35"
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

from registry import Registry

ARCHES = ("amd64", "arm64", "s390x")
APPLETS = (
    "sh", "echo", "cat", "uname", "ls", "wget", "ip", "ifconfig",
    "mkdir", "cp", "env", "test", "true",
)  # fmt: skip
ENV_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
EPOCH = "1970-01-01T00:00:00Z"

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"


def tools_dir() -> Path:
    """Where build-support/tools/install.sh puts tools ($LINUXKIT_PANTS_TOOLS)."""
    env = os.environ.get("LINUXKIT_PANTS_TOOLS")
    return Path(env) if env else Path.home() / ".cache" / "pants-linuxkit" / "tools"


def support_script(name: str) -> Path | None:
    """build-support/tools/<name>, looked up from this file and from the cwd."""
    for start in (Path(__file__).resolve().parent, Path.cwd()):
        for root in (start, *start.parents):
            script = root / "build-support" / "tools" / name
            if script.is_file():
                return script
    return None


def busybox_binary(arch: str) -> Path:
    """The static busybox for `arch` (Debian arch name), fetched by busybox.sh if missing."""
    path = tools_dir() / "busybox" / arch / "busybox"
    if not path.is_file():
        script = support_script("busybox.sh")
        if script is None:
            raise FileNotFoundError(f"{path} missing and build-support/tools/busybox.sh not found")
        subprocess.run([str(script), str(path.parent.parent)], check=True)
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing after busybox.sh (is {arch} in BUSYBOX_ARCHES?)")
    return path


# -- image building ------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _canonical_json(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def _tar_entry(name: str, kind: bytes, mode: int, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.linkname = kind, mode, size, linkname
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    return info


def layer_tar(binary: bytes) -> bytes:
    """Uncompressed layer: /bin/, /bin/busybox and the APPLETS symlinks, in a fixed order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(_tar_entry("bin", tarfile.DIRTYPE, 0o755))
        tar.addfile(_tar_entry("bin/busybox", tarfile.REGTYPE, 0o755, len(binary)), io.BytesIO(binary))
        for applet in APPLETS:
            tar.addfile(_tar_entry(f"bin/{applet}", tarfile.SYMTYPE, 0o777, linkname="busybox"))
    return buf.getvalue()


def _gzip(data: bytes) -> bytes:
    """gzip with no name and mtime 0 in the header, so the output depends on data only."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


@functools.lru_cache(maxsize=None)
def _layer(arch: str) -> tuple[bytes, str]:
    """(gzipped layer, diff_id) for `arch`; cached since gzip is the slow part."""
    tar = layer_tar(busybox_binary(arch).read_bytes())
    return _gzip(tar), _digest(tar)


def image_config(arch: str, diff_id: str) -> dict:
    return {
        "architecture": arch,
        "os": "linux",
        "created": EPOCH,
        "config": {"Env": [ENV_PATH], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": EPOCH, "created_by": "tests/busybox_base.py"}],
    }


class _BlobDir:
    """The blobs/sha256 dir of an OCI layout; `put` returns a descriptor."""

    def __init__(self, layout: Path) -> None:
        self.dir = layout / "blobs" / "sha256"
        self.dir.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes, media_type: str) -> dict:
        digest = _digest(data)
        (self.dir / digest.split(":", 1)[1]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}


def _write_image(blobs: _BlobDir, arch: str) -> dict:
    layer, diff_id = _layer(arch)
    manifest = {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": blobs.put(_canonical_json(image_config(arch, diff_id)), MT_CONFIG),
        "layers": [blobs.put(layer, MT_LAYER)],
    }
    desc = blobs.put(_canonical_json(manifest), MT_MANIFEST)
    return {**desc, "platform": {"architecture": arch, "os": "linux"}}


def write_busybox_layout(layout: Path, tag: str = "1.35", arches: tuple[str, ...] = ARCHES) -> str:
    """Write an OCI layout holding the multi-arch index as `tag`; returns the index digest."""
    blobs = _BlobDir(layout)
    index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": [_write_image(blobs, a) for a in arches]}
    desc = blobs.put(_canonical_json(index), MT_INDEX)
    top = {**desc, "annotations": {"org.opencontainers.image.ref.name": tag}}
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [top]}))
    return desc["digest"]


# -- pushing -------------------------------------------------------------------------


def skopeo_dest_args(registry: Registry) -> list[str]:
    """skopeo flags for writing to `registry` (TLS not verified, creds when needed)."""
    args = ["--dest-tls-verify=false"]
    if registry.htpasswd:
        args.append(f"--dest-creds={registry.htpasswd[0]}:{registry.htpasswd[1]}")
    if registry.cert_dir:
        args.append(f"--dest-cert-dir={registry.cert_dir}")
    return args


def push_busybox_base(
    registry: Registry,
    repo: str = "library/busybox",
    tag: str = "1.35",
    arches: tuple[str, ...] = ARCHES,
) -> str:
    """Build the busybox index for `arches`, push it as `repo:tag`; returns `host/repo:tag`."""
    ref = f"{registry.host}/{repo}:{tag}"
    with tempfile.TemporaryDirectory(prefix="busybox-oci-") as tmp:
        layout = Path(tmp) / "layout"
        write_busybox_layout(layout, tag, tuple(arches))
        proc = subprocess.run(
            ["skopeo", "--insecure-policy", "copy", "--all", "--quiet",
             *skopeo_dest_args(registry), f"oci:{layout}:{tag}", f"docker://{ref}"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"skopeo copy to {ref} failed ({proc.returncode}):\n{proc.stderr}")
    return ref
