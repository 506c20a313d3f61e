"""SBOM attestations as `linuxkit pkg build` makes them (on by default), with the backend's own
generator image: read back from the OCI archive and the linuxkit cache, and, where the linuxkit
CLI is installed (`LINUXKIT_BIN`), through `linuxkit cache ls`, `pkg build` and `build`."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from gitrepo import GIT_ENV, git, init_repo
from linuxkit_reference import linuxkit_binary
from pants_run import pants_toml, run_pants

ATTESTATION = "attestation-manifest"
SPDX = "https://spdx.dev/Document"
PACKAGE = {
    "pkg/sbom/build.yml": "image: sbom-sample\narches: [amd64, arm64]\n",
    "pkg/sbom/Dockerfile": "FROM scratch\nCOPY hello /etc/hello\nCOPY build.yml /\n",
    "pkg/sbom/hello": "hello\n",
    "pkg/sbom/BUILD": "linuxkit_package()\n",
}


def blobs_of(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive) as tar:
        return {m.name.rsplit("/", 1)[1]: tar.extractfile(m).read()  # type: ignore[union-attr]
                for m in tar.getmembers() if m.isfile() and m.name.startswith("blobs/")}  # fmt: skip


def children(archive: Path) -> tuple[list[dict], dict[str, bytes]]:
    """The multi-arch index's manifests, and every blob, of a package's OCI archive."""
    blobs = blobs_of(archive)
    with tarfile.open(archive) as tar:
        (root,) = json.loads(tar.extractfile("index.json").read())["manifests"]  # type: ignore[union-attr]
    return json.loads(blobs[root["digest"][7:]])["manifests"], blobs


def images(manifests: list[dict]) -> dict[str, str]:
    return {m["platform"]["architecture"]: m["digest"] for m in manifests if m["platform"]["os"] == "linux"}


def statement(blobs: dict[str, bytes], attestation: dict) -> dict:
    manifest = json.loads(blobs[attestation["digest"][7:]])
    (layer,) = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.in-toto+json"
    assert layer["annotations"]["in-toto.io/predicate-type"] == SPDX
    return json.loads(blobs[layer["digest"][7:]])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """pkg/sbom built with the defaults, and again with `--linuxkit-sbom-scanner=false`."""
    tmp = tmp_path_factory.mktemp("sbom")
    cache = tmp / "cache"
    root = init_repo(tmp / "repo", {**PACKAGE, "pants.toml": pants_toml(f'[linuxkit]\ncache = "{cache}"\n')})
    run_pants(root, "package", "pkg/sbom:").assert_success()
    with_sbom = tmp / "with-sbom.oci.tar"
    (root / "dist/pkg.sbom/sbom.oci.tar").rename(with_sbom)
    run_pants(root, f"--linuxkit-cache={tmp / 'plain-cache'}", "--linuxkit-sbom-scanner=false",
              "package", "pkg/sbom:").assert_success()  # fmt: skip
    name = f"docker.io/linuxkit/sbom-sample:{git(root, 'rev-parse', 'HEAD:pkg/sbom').strip()}"
    return root, cache, name, with_sbom, root / "dist/pkg.sbom/sbom.oci.tar"


def test_each_platform_has_one_spdx_attestation_listing_its_files(built) -> None:
    _, _, name, with_sbom, _ = built
    manifests, blobs = children(with_sbom)
    by_arch = images(manifests)
    assert sorted(by_arch) == ["amd64", "arm64"]
    attestations = [m for m in manifests if m.get("annotations", {}).get("vnd.docker.reference.type") == ATTESTATION]
    assert len(manifests) == 4 and len(attestations) == 2
    for arch, image in by_arch.items():
        (attestation,) = [a for a in attestations if a["annotations"]["vnd.docker.reference.digest"] == image]
        assert attestation["platform"] == {"architecture": "unknown", "os": "unknown"}
        stmt = statement(blobs, attestation)
        assert stmt["predicateType"] == SPDX
        assert [s["digest"]["sha256"] for s in stmt["subject"]] == [image[7:]]
        spdx = stmt["predicate"]
        assert spdx["spdxVersion"].startswith("SPDX-2")
        files = {f["fileName"]: f for f in spdx["files"]}
        assert {"etc/hello", "build.yml"} <= set(files), arch
        hello = {c["algorithm"]: c["checksumValue"] for c in files["etc/hello"]["checksums"]}
        assert hello["SHA256"] == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        # Reproducible: dated by the build's SOURCE_DATE_EPOCH (the package's last commit), not
        # the wall clock, and no random namespace (scripts/sbom_scanner.go).
        assert spdx["creationInfo"]["created"] == GIT_ENV["GIT_COMMITTER_DATE"]
        assert any(c.startswith("Tool: syft-") for c in spdx["creationInfo"]["creators"])


def test_sbom_scanner_false_gives_the_plain_images(built) -> None:
    _, _, _, with_sbom, plain = built
    manifests, _ = children(plain)
    assert [m["platform"] for m in manifests] == [
        {"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}
    ]
    assert all("annotations" not in m for m in manifests)
    # The images themselves are the same with and without their SBOMs.
    assert images(manifests) == images(children(with_sbom)[0])


def test_the_linuxkit_cache_holds_the_attestations(built) -> None:
    _, cache, name, with_sbom, _ = built
    root = json.loads((cache / "index.json").read_text())["manifests"]
    entries = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in root}
    index = json.loads((cache / "blobs/sha256" / entries[name]["digest"][7:]).read_text())
    assert index["manifests"] == children(with_sbom)[0]
    for arch in ("amd64", "arm64"):  # the per-arch entries, as buildkit exported them
        per_arch = json.loads((cache / "blobs/sha256" / entries[f"{name}-{arch}"]["digest"][7:]).read_text())
        assert [m["platform"]["os"] for m in per_arch["manifests"]] == ["linux", "unknown"]
        for manifest in per_arch["manifests"]:
            assert (cache / "blobs/sha256" / manifest["digest"][7:]).is_file()


needs_cli = pytest.mark.skipif(linuxkit_binary() is None, reason="the linuxkit CLI is not installed (set LINUXKIT_BIN)")


def cli(*args: str, cwd: Path) -> str:
    out = subprocess.run([linuxkit_binary(), *args], cwd=cwd, capture_output=True, text=True, timeout=300)  # type: ignore[list-item]
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout + out.stderr


@needs_cli
def test_the_linuxkit_cli_lists_skips_and_builds_from_our_cache(built, tmp_path: Path) -> None:
    root, cache, name, _, _ = built
    listed = cli("cache", "ls", "--cache", str(cache), cwd=root)
    assert {name, f"{name}-amd64", f"{name}-arm64"} <= {line.split()[0] for line in listed.splitlines()[1:]}
    built_out = cli("pkg", "build", "--cache", str(cache), "--platforms", "linux/amd64,linux/arm64", "pkg/sbom", cwd=root)
    assert built_out.count("in local cache, skipping build") == 2, built_out
    # `linuxkit build` gathers the images' SBOMs into sbom.spdx.json (LinuxKit's test 000_build/050_sbom).
    (tmp_path / "os.yml").write_text(f"init:\n  - {name}\n")
    cli("build", "--cache", str(cache), "--format", "tar", "--arch", "amd64", "--o", str(tmp_path / "os.tar"),
        str(tmp_path / "os.yml"), cwd=tmp_path)  # fmt: skip
    with tarfile.open(tmp_path / "os.tar") as tar:
        spdx = json.loads(tar.extractfile("sbom.spdx.json").read())  # type: ignore[union-attr]
    assert "etc/hello" in {f["fileName"] for f in spdx["files"]}
