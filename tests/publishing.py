"""The repository the publish tests push: init (amd64, arm64) and other (skip_push)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from gitrepo import init_repo
from pants_run import pants_toml, run_pants
from registry import Registry

PACKAGE = {
    "pkg/init/build.yml": "image: init\narches: [amd64, arm64]\n",
    "pkg/init/Dockerfile": "FROM scratch\nCOPY hello /hello\n",
    "pkg/init/hello": "hello\n",
    "pkg/init/BUILD": "linuxkit_package()\n",
    "pkg/other/build.yml": "image: other\narches: [amd64]\n",
    "pkg/other/Dockerfile": "FROM scratch\nCOPY build.yml /\n",
    "pkg/other/BUILD": "linuxkit_package(skip_push=True)\n",
}


def make_repo(tmp_path: Path, registry: Registry, extra: str = "") -> Path:
    config = f'[linuxkit]\norg = "{registry.host}/lk"\ncache = "{tmp_path / "cache"}"\n{extra}'
    return init_repo(tmp_path / "repo", {**PACKAGE, "pants.toml": pants_toml(config)})


def raw(registry: Registry, ref: str, *args: str) -> dict:
    out = subprocess.run(
        ["skopeo", "inspect", "--raw", *args, f"docker://{registry.host}/{ref}"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return json.loads(out.stdout)


def publish(root: Path, *args: str):
    return run_pants(root, *args, "publish", "pkg::")
