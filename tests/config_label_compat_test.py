"""The org.mobyproject.config label against what the real `linuxkit pkg build` writes.

`pkg build --dry-run` prints the `docker buildx build ... --label=K=V` command it would run
(docs/linuxkit-pkg.md §3.13), which carries the label value byte for byte. Needs the real CLI.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from gitrepo import init_repo
from linuxkit.pkglib import build_yml
from linuxkit_reference import linuxkit_binary

pytestmark = pytest.mark.skipif(
    linuxkit_binary() is None,
    reason="no linuxkit CLI: set LINUXKIT_BIN (or put linuxkit on PATH) to compare with it",
)

CONFIGS = {
    "getty": """\
  pid: host
  net: host
  binds: [/etc/resolv.conf:/etc/resolv.conf, /run:/run]
  capabilities: [all]
  devices:
    - {path: /dev/console, type: c, major: 5, minor: 1, mode: 0666}
    - {path: all, type: b}
""",
    "runtime": """\
  runtime:
    mounts: [{type: cgroup, options: [rw]}]
    interfaces: [{name: eth0, add: veth, peer: eth1}]
    bindNS: {net: /run/netns/x}
  oomScoreAdj: -800
  readonly: false
  uid: 0666
  additionalGids: [1, "two"]
  sysctl: {z: "1", a: "<&>"}
  resources: {memory: {limit: 1024}, blockio: {weight: 10}}
  uidMappings: [{containerid: 0, hostid: 1000, size: 1}]
""",
}


def cli_label(pkg_dir: Path) -> str | None:
    out = subprocess.run(
        [linuxkit_binary(), "pkg", "build", "--dry-run", "--force", "--platforms", "linux/amd64",
         "--cache", str(pkg_dir.parent / "cache"), str(pkg_dir)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    text = out.stdout + out.stderr
    marker = "--label=org.mobyproject.config="
    start = text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    _, end = json.JSONDecoder().raw_decode(text, start)
    return text[start:end]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_label_matches_linuxkit(tmp_path: Path, name: str) -> None:
    text = f"image: {name}\nconfig:\n{CONFIGS[name]}"
    root = init_repo(tmp_path / "repo", {"build.yml": text, "Dockerfile": "FROM scratch\n"})
    decoded = build_yml.decode_yaml(text, "build.yml")
    ours = build_yml.make_build_yml(decoded.keys, path="build.yml", read_package_file=lambda _: None)
    assert ours.config_label == cli_label(root)
