"""The files in one platform's image of an OCI archive, read through skopeo (a tool we did not write)."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path


def files_in(archive: Path, arch: str, tmp: Path) -> dict[str, bytes]:
    out = tmp / f"unpacked-{arch}"
    tmp.mkdir(parents=True, exist_ok=True)
    subprocess.run(["skopeo", "copy", "-q", f"--override-arch={arch}", f"oci-archive:{archive}", f"dir:{out}"],
                   check=True)  # fmt: skip
    found = {}
    for blob in out.iterdir():
        if len(blob.name) != 64 or not tarfile.is_tarfile(blob):
            continue
        with tarfile.open(blob) as layer:
            for member in layer.getmembers():
                if member.isfile():
                    found[member.name] = layer.extractfile(member).read()  # type: ignore[union-attr]
    return found
