"""Sample packages that need a registry on 127.0.0.1: RUN steps on a busybox base for three
platforms (non-native ones under qemu), no network for RUN steps, depends.docker-images."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from busybox_base import push_busybox_base
from gitrepo import commit_all, init_repo
from pants_run import pants_toml, run_pants
from registry import Registry

SAMPLES = Path("pkg")
PACKAGES = ["busybox-run", "network-none", "depends-target", "depends-target-dir"]
SAMPLE_BASE = "127.0.0.1:5000/library/busybox:1.35"
SAMPLE_DIGEST = "sha256:8131c0e15476458366d294bb29a01f1be1011386bfc612e840544ce98ab33d9c"


@pytest.fixture(scope="module")
def busybox():
    with Registry() as registry:
        ref = push_busybox_base(registry)
        _, _, digest = registry.manifest("library/busybox:1.35")
        yield registry, ref, digest


@pytest.fixture
def repo(tmp_path: Path, busybox) -> Path:
    registry, ref, digest = busybox
    files = {"pants.toml": pants_toml(f'[linuxkit]\ncache = "{tmp_path / "cache"}"\nbuild_args = ["BUSYBOX={ref}"]\n')}
    for name in PACKAGES:
        for path in (SAMPLES / name).rglob("*"):
            if path.is_file():
                # The samples name the base as served on port 5000; Debian's busybox decides its digest.
                files[str(path)] = path.read_text().replace(SAMPLE_BASE, ref).replace(SAMPLE_DIGEST, digest)
        files[f"pkg/{name}/BUILD"] = "linuxkit_package()\n"
    return init_repo(tmp_path / "repo", files)


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


def test_run_steps_on_three_platforms(repo: Path, tmp_path: Path) -> None:
    run_pants(repo, "package", "pkg/busybox-run:").assert_success()
    archive = repo / "dist/pkg.busybox-run/busybox-run.oci.tar"
    for arch, machine in [("amd64", b"x86_64\n"), ("arm64", b"aarch64\n"), ("s390x", b"s390x\n")]:
        assert files_in(archive, arch, tmp_path)["etc/machine"] == machine


def test_network_false_gives_run_steps_only_loopback(repo: Path, tmp_path: Path) -> None:
    run_pants(repo, "package", "pkg/network-none:").assert_success()
    net_dev = files_in(repo / "dist/pkg.network-none/network-none.oci.tar", "amd64", tmp_path)["etc/net-dev"]
    interfaces = [line.split(b":")[0].strip() for line in net_dev.splitlines()[2:]]
    assert interfaces == [b"lo"]


def test_depends_docker_images_target_and_target_dir(repo: Path, tmp_path: Path, busybox) -> None:
    registry, ref, digest = busybox
    run_pants(repo, "package", "pkg/depends-target:", "pkg/depends-target-dir:").assert_success()
    one = files_in(repo / "dist/pkg.depends-target/depends-target.oci.tar", "amd64", tmp_path)
    with tarfile.open(fileobj=io.BytesIO(one["images/all.tar"])) as saved:
        manifest = json.loads(saved.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert manifest[0]["RepoTags"] == [ref]
    per_image = files_in(repo / "dist/pkg.depends-target-dir/depends-target-dir.oci.tar", "amd64", tmp_path / "d")
    assert list(per_image) == [f"images/busybox@{digest}.tar"]


def test_digest_missing_from_registry_is_one_line(repo: Path, busybox) -> None:
    registry, ref, digest = busybox
    missing = "sha256:" + "0" * 64
    build_yml = (repo / "pkg/depends-target/build.yml").read_text().replace(digest, missing)
    (repo / "pkg/depends-target/build.yml").write_text(build_yml)
    commit_all(repo, "missing digest")
    result = run_pants(repo, "package", "pkg/depends-target:")
    assert result.exit_code != 0
    lines = [l for l in result.stderr.splitlines() if "cannot fetch" in l]
    assert len(lines) == 1 and f"{registry.host}/library/busybox:1.35@{missing}" in lines[0]
    assert "pkg/depends-target/build.yml: depends.docker-images" in lines[0]
