from __future__ import annotations

import os
import subprocess
from pathlib import Path

from linuxkit.pkglib import git_state

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@e", "GIT_COMMITTER_DATE": "2026-01-02T03:04:05Z"}  # fmt: skip


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], env=ENV, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip


def commit(repo: Path, content: str) -> str:
    (repo / "pkg").mkdir(exist_ok=True)
    (repo / "pkg/build.yml").write_text(content)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", content)
    return git(repo, "rev-parse", "HEAD")


def hash_of(repo: Path) -> git_state.PackageGitHash:
    return git_state.package_git_hash(git_state.RepoCache(), str(repo / "pkg"))


def test_go_pkg_version_and_head_tags(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    first = commit(tmp_path, "image: a\n")
    assert hash_of(tmp_path).go_pkg_version == f"v0.0.0-20260102030405-{first[:12]}"
    git(tmp_path, "tag", "v1.2.3")
    git(tmp_path, "tag", "pkg-v1.2.3")
    state = hash_of(tmp_path)
    assert (state.go_pkg_version, state.head_tags) == ("v1.2.3", ("pkg-v1.2.3", "v1.2.3"))
    second = commit(tmp_path, "image: b\n")
    state = hash_of(tmp_path)
    assert state.go_pkg_version == f"v1.2.4-0.20260102030405-{second[:12]}"
    assert state.head_tags == ()
