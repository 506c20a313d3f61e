"""`LINUXKIT_MIRROR` / `[linuxkit].mirror` with the primary registry unreachable: the base image
BuildKit pulls and the `depends.docker-images` image come from a second local registry serving
as the mirror; a publish still goes to the primary (and fails, naming it), never to the mirror."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from busybox_base import push_busybox_base
from gitrepo import init_repo
from pants_run import pants_toml, run_pants
from registry import Registry, free_port


@pytest.fixture(scope="module")
def mirror():
    with Registry() as registry:
        push_busybox_base(registry)
        _, _, digest = registry.manifest("library/busybox:1.35")
        yield registry, digest


def test_reads_go_to_the_mirror_and_pushes_never(tmp_path: Path, mirror) -> None:
    registry, digest = mirror
    primary = f"127.0.0.1:{free_port()}"  # nothing listens there
    base = f"{primary}/library/busybox:1.35"
    files = {
        "pants.toml": pants_toml(f'[linuxkit]\ncache = "{tmp_path / "cache"}"\n'),
        "pkg/m/BUILD": "linuxkit_package()\n",
        "pkg/m/build.yml": (
            f"image: mirrored\norg: {primary}/lk\narches: [amd64]\n"
            f"depends:\n  docker-images:\n    target: images/all.tar\n    list:\n      - {base}@{digest}\n"
        ),
        "pkg/m/Dockerfile": f"FROM {base}\nCOPY images /images\n",
    }
    repo = init_repo(tmp_path / "repo", files)
    env = {"LINUXKIT_MIRROR": f"{primary}=http://{registry.host}"}

    run_pants(repo, "package", "pkg/m:", env=env).assert_success()
    archive = repo / "dist/pkg.m/m.oci.tar"
    out = tmp_path / "unpacked"
    subprocess.run(["skopeo", "copy", "-q", f"oci-archive:{archive}", f"dir:{out}"], check=True)
    layers = [b for b in out.iterdir() if len(b.name) == 64 and tarfile.is_tarfile(b)]
    names = {m.name for layer in layers for m in tarfile.open(layer).getmembers()}
    assert "bin/busybox" in names  # the base, pulled by BuildKit from the mirror
    saved = next(tarfile.open(layer) for layer in layers if "images/all.tar" in tarfile.open(layer).getnames())
    with tarfile.open(fileobj=io.BytesIO(saved.extractfile("images/all.tar").read())) as all_tar:  # type: ignore[union-attr]
        assert json.loads(all_tar.extractfile("manifest.json").read())[0]["RepoTags"] == [base]  # type: ignore[union-attr]

    # Without the mirror the same build cannot reach its registry.
    unmirrored = run_pants(repo, "package", "--linuxkit-force", "pkg/m:")
    assert unmirrored.exit_code != 0 and primary in unmirrored.stderr

    result = run_pants(repo, "publish", "pkg/m:", env=env)
    assert result.exit_code != 0 and primary in result.stderr
    assert not any(repo_name.startswith("lk/") for repo_name in registry.catalog())
