from __future__ import annotations

import json
from pathlib import Path

from linuxkit.pkglib import oci, oci_runner
from linuxkit.pkglib.oci_archive import OciArchive, write_oci_archive
from linuxkit.pkglib.oci_fixtures import NAME, Attestation, Image, buildctl_tar, digest


def test_assemble_adds_a_pulled_platforms_attestations_after_its_image(tmp_path: Path) -> None:
    arm, amd = Image("arm64"), Image("amd64")
    att = Attestation(arm)
    (tmp_path / "arm64.tar").write_bytes(buildctl_tar(arm))  # as pulled: a bare image manifest
    (tmp_path / "amd64.tar").write_bytes(buildctl_tar(amd))  # no `amd64.att.tar`: none
    index, root = oci.build_index([att.desc])
    write_oci_archive(tmp_path / "arm64.att.tar", {**att.blobs, root.digest: index}, [root])

    oci_runner.assemble(NAME, str(tmp_path / "out"), [f"arm64={tmp_path}/arm64.tar", f"amd64={tmp_path}/amd64.tar"])
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert [d["digest"] for d in summary["platforms"]["arm64"]] == [arm.desc.digest, att.desc.digest]
    with OciArchive.open(tmp_path / "out/image.oci.tar") as archive:
        (root,) = archive.root_descriptors
        manifests = oci.parse_index(archive.read_blob(root.digest)).manifests
        assert manifests == (arm.desc, att.desc, amd.desc)
        assert archive.read_blob(digest(b"{}")) == b"{}"
