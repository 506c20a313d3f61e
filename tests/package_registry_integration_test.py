"""Sample packages that need a registry on 127.0.0.1: depends.docker-images, fetched by digest."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from busybox_base import push_busybox_base
from gitrepo import commit_all, init_repo
from image_files import files_in
from pants_run import pants_toml, run_pants
from registry import Registry

SAMPLES = Path("pkg")
PACKAGES = ["depends-target", "depends-target-dir"]
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
    files = {"pants.toml": pants_toml(f'[linuxkit]\ncache = "{tmp_path / "cache"}"\n')}
    for name in PACKAGES:
        for path in (SAMPLES / name).rglob("*"):
            if path.is_file():
                # The samples name the base as served on port 5000; Debian's busybox decides its digest.
                files[str(path)] = path.read_text().replace(SAMPLE_BASE, ref).replace(SAMPLE_DIGEST, digest)
        files[f"pkg/{name}/BUILD"] = "linuxkit_package()\n"
    return init_repo(tmp_path / "repo", files)


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
