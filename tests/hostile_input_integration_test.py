"""`pants package` of packages whose build.yml or files are hostile: each fails with one line
naming the file and field, and nothing is written outside the workspace."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gitrepo import commit_all, init_repo
from pants_run import kill_pantsd, pants_toml, run_pants


@pytest.fixture
def repo(tmp_path: Path):
    toml = pants_toml(f'[linuxkit]\ncache = "{tmp_path / "linuxkit-cache"}"\ncheck_registry = false\n')
    root = init_repo(tmp_path / "repo", {"pants.toml": toml, "secrets.env": "SECRET=1\n"})
    yield root
    kill_pantsd(root)


def one_line_error(root: Path, target: str) -> str:
    result = run_pants(root, "package", target)
    assert result.exit_code != 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "LinuxkitError" in line]
    assert len(lines) == 1, result.stderr
    return lines[0]


def add_package(root: Path, name: str, build_yml: str, dockerfile: str) -> Path:
    pkg = root / "pkg" / name
    pkg.mkdir(parents=True)
    (pkg / "build.yml").write_text(build_yml)
    (pkg / "Dockerfile").write_text(dockerfile)
    (pkg / "BUILD").write_text("linuxkit_package()\n")
    return pkg


def test_a_tag_cannot_add_buildctl_output_fields(repo: Path, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned.tar"
    add_package(repo, "evil", f'image: evil\ntag: "{{{{.Hash}}}},dest={pwned},name=x"\n', "FROM scratch\n")
    commit_all(repo, "evil")
    line = one_line_error(repo, "pkg/evil:")
    assert "pkg/evil/build.yml: tag: rendered tag" in line and "is not a valid tag" in line
    assert not pwned.exists()


def test_a_symlink_out_of_the_package_is_refused(repo: Path) -> None:
    pkg = add_package(repo, "leak", "image: leak\narches: [amd64]\n", "FROM scratch\nCOPY cfg /cfg\n")
    os.symlink("../../secrets.env", pkg / "cfg")
    commit_all(repo, "leak")
    line = one_line_error(repo, "pkg/leak:")
    assert "pkg/leak/build.yml: symlink pkg/leak/cfg -> ../../secrets.env leads outside pkg/leak" in line
    assert not any((repo / "dist").rglob("*.tar"))


def test_a_bad_org_option_names_the_option(repo: Path) -> None:
    add_package(repo, "good", "image: good\n", "FROM scratch\n")
    commit_all(repo, "good")
    result = run_pants(repo, "linuxkit-show-tag", "--linuxkit-org=Me,type=local", "pkg/good:")
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if "is not a valid org" in line]
    assert len(lines) == 1 and "[linuxkit].org" in lines[0] and '"Me,type=local"' in lines[0], result.stderr
