"""The OCI layout of the backend's SBOM generator image (util_rules/sbom_scanner.py), written
without any builder: one uncompressed layer holding `syft` and `lk-sbom-scan` (mode 0755, owner
0, mtime 0, in name order), its config and manifest. The same binaries always give the same
digest. Stdlib only:

  python -m linuxkit.pkglib.scanner_layout <binaries dir> <arch> <out dir>   (prints the digest)
"""

from __future__ import annotations

import hashlib
import json
import sys
import tarfile
from pathlib import Path

from linuxkit.pkglib.oci_archive import OCI_LAYOUT_COMPACT

FILES = ("lk-sbom-scan", "syft")
ENV = ("HOME=/tmp", "SYFT_CHECK_FOR_APP_UPDATE=false", "SYFT_FILE_METADATA_SELECTION=all",
       "SYFT_FILE_METADATA_DIGESTS=sha256")  # fmt: skip
_LAYER = "application/vnd.oci.image.layer.v1.tar"


def _blob(out: Path, data: bytes) -> dict:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    (out / "blobs/sha256" / digest[7:]).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def write_layout(binaries: Path, arch: str, out: Path) -> str:
    """Write the layout into `out`; returns the image manifest's digest."""
    (out / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    part = out / "blobs/sha256/layer.tmp"
    with tarfile.open(part, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in FILES:
            info = tar.gettarinfo(str(binaries / name), arcname=name)
            info.mtime, info.mode, info.uid, info.gid, info.uname, info.gname = 0, 0o755, 0, 0, "", ""
            with open(binaries / name, "rb") as src:
                tar.addfile(info, src)
    hashed = hashlib.sha256()
    with open(part, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            hashed.update(chunk)
    layer = {"mediaType": _LAYER, "digest": "sha256:" + hashed.hexdigest(), "size": part.stat().st_size}
    part.rename(out / "blobs/sha256" / layer["digest"][7:])
    config = {
        "architecture": arch, "os": "linux",
        "config": {"Env": list(ENV), "Entrypoint": ["/lk-sbom-scan"]},
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"]]},
    }  # fmt: skip
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **_blob(out, json.dumps(config, sort_keys=True).encode())}  # fmt: skip
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": [layer]}  # fmt: skip
    manifest_desc = {"mediaType": manifest["mediaType"], **_blob(out, json.dumps(manifest).encode()),
                     "platform": {"architecture": arch, "os": "linux"}}  # fmt: skip
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [manifest_desc]}
    (out / "index.json").write_text(json.dumps(index))
    (out / "oci-layout").write_bytes(OCI_LAYOUT_COMPACT)
    return manifest_desc["digest"]


if __name__ == "__main__":
    print(write_layout(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])))
