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


def commit_at(repo: Path, when: int, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    git(repo, "add", "-A")
    stamp = f"@{when} +0000"
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", f"at {when}"], check=True,
                   env={**ENV, "GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp})  # fmt: skip


def epoch(repo: Path, *dirs: str) -> int:
    return git_state.source_date_epoch(git_state.RepoCache(), [str(repo / d) for d in dirs])


def git_log_time(repo: Path, path: str) -> int:
    return int(git(repo, "log", "-1", "--format=%ct", "--", path))


def test_source_date_epoch_is_the_last_commit_that_changed_the_package(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    commit_at(tmp_path, 1000, {"pkg/a/build.yml": "image: a\n", "src/x": "1"})
    commit_at(tmp_path, 2000, {"src/x": "2"})
    assert epoch(tmp_path, "pkg/a") == git_log_time(tmp_path, "pkg/a") == 1000
    assert epoch(tmp_path, "pkg/a", "src") == 2000  # extra sources count
    (tmp_path / "pkg/a/new").write_text("dirty")  # a dirty package keeps its last commit's time
    assert epoch(tmp_path, "pkg/a") == 1000
    commit_at(tmp_path, 3000, {"pkg/a/build.yml": "image: b\n"})
    assert epoch(tmp_path, "pkg/a") == 3000
    assert epoch(tmp_path, "") == 3000  # a package at the top level


def test_source_date_epoch_follows_merges_as_git_log_does(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q", "-b", "main")
    commit_at(tmp_path, 1000, {"pkg/a/f": "1", "pkg/b/f": "1"})
    git(tmp_path, "checkout", "-qb", "side")
    commit_at(tmp_path, 2000, {"pkg/a/f": "side"})
    git(tmp_path, "checkout", "-q", "main")
    commit_at(tmp_path, 3000, {"pkg/b/f": "main"})
    stamp = "@4000 +0000"
    subprocess.run(["git", "-C", str(tmp_path), "merge", "-q", "--no-ff", "-m", "merge", "side"], check=True,
                   env={**ENV, "GIT_COMMITTER_DATE": stamp, "GIT_AUTHOR_DATE": stamp})  # fmt: skip
    for pkg, expected in (("pkg/a", 2000), ("pkg/b", 3000)):
        assert epoch(tmp_path, pkg) == git_log_time(tmp_path, pkg) == expected
    # Both sides changed pkg/c: the merge itself is its last change.
    commit_at(tmp_path, 5000, {"pkg/c/f": "main"})
    git(tmp_path, "checkout", "-q", "side")
    commit_at(tmp_path, 6000, {"pkg/c/f": "side"})
    git(tmp_path, "checkout", "-q", "main")
    (tmp_path / "pkg/c/f").write_text("both")
    subprocess.run(["git", "-C", str(tmp_path), "merge", "-q", "-s", "ours", "--no-commit", "side"], env=ENV)
    (tmp_path / "pkg/c/f").write_text("both")
    commit_at(tmp_path, 7000, {"pkg/c/f": "both"})
    assert epoch(tmp_path, "pkg/c") == git_log_time(tmp_path, "pkg/c") == 7000


def test_source_date_epoch_without_history(tmp_path: Path) -> None:
    assert epoch(tmp_path / "none", "") == 0  # outside git
    git(tmp_path, "init", "-q", "-b", "main")
    commit_at(tmp_path, 1000, {"src/x": "1"})
    (tmp_path / "pkg/new").mkdir(parents=True)
    assert epoch(tmp_path, "pkg/new") == 1000  # not in HEAD: HEAD's time
