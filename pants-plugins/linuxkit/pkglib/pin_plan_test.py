import os
import subprocess
from pathlib import Path

import pytest

from linuxkit.pkglib import pin_plan
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.git_state import RepoCache

ENV = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@e", "GIT_COMMITTER_NAME": "t",
       "GIT_COMMITTER_EMAIL": "t@e"}  # fmt: skip
H0 = "0" * 40


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=ENV).stdout.strip()  # fmt: skip


def make_repo(tmp_path: Path, files: dict) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    write(tmp_path, files)
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "init")
    return tmp_path


def write(root: Path, files: dict) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def repo_of(path: Path):
    return RepoCache().find(str(path))


def test_committed_tree_matches_git_after_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, {"a/x": "1", "a/sub/y": "2", "a/gone": "3", "b/z": "4", "a/run": "5"})
    write(tmp_path, {"a/x": "changed", "a/sub/new/deep": "untracked", "a/zz": "edited on disk"})
    (tmp_path / "a/gone").unlink()
    (tmp_path / "a/run").chmod(0o755)
    (tmp_path / ".gitignore").write_text("*.log\n")
    (tmp_path / "a/ignored.log").write_text("ignored")
    edits = {"a/sub/y": b"edited in memory", "b/new": b"new in memory"}
    tree = pin_plan.CommittedTree(repo_of(tmp_path), edits)
    expected_a, expected_b, expected_root = tree.tree_hash("a"), tree.tree_hash("b"), tree.tree_hash("")
    for path, content in edits.items():
        (tmp_path / path).write_bytes(content)
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "next")
    assert expected_a == git(tmp_path, "rev-parse", "HEAD:a")
    assert expected_b == git(tmp_path, "rev-parse", "HEAD:b")
    assert expected_root == git(tmp_path, "rev-parse", "HEAD^{tree}")


def test_plan_converges_through_a_chain_in_one_pass(tmp_path: Path) -> None:
    # c pins b, b pins a, the image yml pins all three: one plan, one commit, then nothing stale.
    files = {
        "pkg/a/Dockerfile": "FROM scratch\n",
        "pkg/b/Dockerfile": f"FROM linuxkit/a:{H0}\n",
        "pkg/c/Dockerfile": f"ARG BASE=linuxkit/b:{H0}-amd64\nFROM $BASE\n",
        "examples/x.yml": f"init:\n  - linuxkit/a:{H0}\nonboot:\n  - image: linuxkit/c:{H0}\n",
    }
    make_repo(tmp_path, files)
    packages = tuple(pin_plan.PinnedPackage(f"pkg/{n}", f"linuxkit/{n}", "{{.Hash}}") for n in "abc")
    result = pin_plan.plan(repo_of(tmp_path), packages, files)
    assert len(result.stale) == 4
    write(tmp_path, result.edits)
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "fix")
    for name in "abc":
        tag = git(tmp_path, "rev-parse", f"HEAD:pkg/{name}")
        assert result.tags[f"linuxkit/{name}"] == tag
    assert f"linuxkit/b:{git(tmp_path, 'rev-parse', 'HEAD:pkg/b')}-amd64" in result.edits["pkg/c/Dockerfile"]
    fresh = {p: (tmp_path / p).read_text() for p in files}
    again = pin_plan.plan(repo_of(tmp_path), packages, fresh)
    assert again.stale == () and again.edits == {}


def test_a_package_pinning_itself_is_left_alone(tmp_path: Path) -> None:
    files = {"pkg/a/test.sh": f"docker run linuxkit/a:{H0}\n", "test/a.sh": f"docker run linuxkit/a:{H0}\n"}
    make_repo(tmp_path, files)
    packages = (pin_plan.PinnedPackage("pkg/a", "linuxkit/a", "{{.Hash}}"),)
    result = pin_plan.plan(repo_of(tmp_path), packages, files)
    assert list(result.edits) == ["test/a.sh"]


def test_plan_reports_a_pin_cycle_in_one_line(tmp_path: Path) -> None:
    files = {"pkg/a/Dockerfile": f"FROM linuxkit/b:{H0}\n", "pkg/b/Dockerfile": f"FROM linuxkit/a:{H0}\n"}
    make_repo(tmp_path, files)
    packages = tuple(pin_plan.PinnedPackage(f"pkg/{n}", f"linuxkit/{n}", "{{.Hash}}") for n in "ab")
    with pytest.raises(LinuxkitError, match=r"^pins do not converge .*pkg/a/Dockerfile") as e:
        pin_plan.plan(repo_of(tmp_path), packages, files)
    assert "\n" not in str(e.value)
