"""`[linuxkit].docker`: the built platforms land in a real docker engine (dockerd started here)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from gitrepo import git, init_repo
from pants_run import pants_toml, run_pants


@pytest.fixture
def dockerd():
    if shutil.which("dockerd") is None or os.geteuid() != 0:
        pytest.skip("needs dockerd (Debian's docker.io) and root")
    # Short: dockerd's containerd puts its socket under the exec root (108-byte socket paths).
    root = Path(tempfile.mkdtemp(prefix="dk", dir="/tmp"))
    host = f"unix://{root}/docker.sock"
    proc = subprocess.Popen(
        ["dockerd", "--data-root", f"{root}/data", "--exec-root", f"{root}/exec", "--host", host,
         "--pidfile", f"{root}/docker.pid", "--iptables=false", "--bridge=none"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    env = {**os.environ, "DOCKER_HOST": host}
    for _ in range(100):
        if subprocess.run(["docker", "version"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.2)
    yield host
    proc.terminate()
    proc.wait(timeout=60)
    shutil.rmtree(root, ignore_errors=True)


def test_docker_loads_every_platform_and_tags_the_native_one(tmp_path: Path, dockerd: str) -> None:
    root = init_repo(tmp_path / "repo", {
        "pants.toml": pants_toml(f'[linuxkit]\ncache = "{tmp_path / "cache"}"\n'),
        "pkg/hello/build.yml": "image: hello\narches: [amd64, arm64]\n",
        "pkg/hello/Dockerfile": "FROM scratch\nCOPY build.yml /\n",
        "pkg/hello/BUILD": "linuxkit_package()\n",
    })  # fmt: skip
    run_pants(root, "--linuxkit-docker", "package", "pkg/hello:", env={"DOCKER_HOST": dockerd}).assert_success()
    tag = f"linuxkit/hello:{git(root, 'rev-parse', 'HEAD:pkg/hello').strip()}"
    images = subprocess.run(
        ["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        env={**os.environ, "DOCKER_HOST": dockerd}, check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    assert sorted(images) == sorted([tag, f"{tag}-amd64", f"{tag}-arm64"])
