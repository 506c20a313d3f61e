"""A monorepo of pinned packages through whole Pants runs: `tailor`, `lint`/`fix` of pins and
`--changed-since`, on a generated repository and on a copy of a real LinuxKit tree."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from gitrepo import commit_all, git, init_repo, write
from pants_run import kill_pantsd, pants_toml, run_pants

H = "0" * 40
PIN = re.compile(r"(?<=[\s=])(linuxkit/[a-z0-9_.-]+):([0-9a-f]{40}(?:-dirty-[0-9a-f]{7})?)(\S*)")
# The linuxkit mirror's git directory (a copy of github.com/linuxkit/linuxkit), when present.
LINUXKIT_GIT_DIR = Path(os.environ.get("LINUXKIT_GIT_DIR", "/work/.mirror/linuxkit+linuxkit/repo"))


def pkg(name: str, dockerfile: str, yml: str = "", **extra: str) -> dict[str, str]:
    files = {f"pkg/{name}/build.yml": f"image: {name}\narches: [amd64]\n{yml}",
             f"pkg/{name}/Dockerfile": dockerfile, f"pkg/{name}/etc/{name}": f"{name}\n"}  # fmt: skip
    files.update({f"pkg/{name}/{k}": v for k, v in extra.items()})
    return files


def generated_files(cache: Path) -> dict[str, str]:
    """base <- mid <- top <- leaf pin each other (three levels), args names base by @lkt, lib has
    extra sources, other stands alone; an image yml, a Makefile and a test.sh pin them too."""
    return {
        **pkg("base", "FROM scratch\nCOPY etc /etc\n"),
        **pkg("mid", f"FROM linuxkit/base:{H}\nCOPY etc /etc\n"),
        **pkg("top", f"ARG MID=linuxkit/mid:{H}-amd64\nFROM --platform=linux/amd64 $MID AS mid\nCOPY etc /etc\n"),
        **pkg("leaf", f"FROM scratch\nCOPY --from=linuxkit/top:{H} /etc /etc\n"),
        "test/cases/leaf/test.sh": f"#!/bin/sh\ndocker run linuxkit/leaf:{H}-dirty-1234567 true\n",
        **pkg("args", "ARG BASE\nFROM scratch\nCOPY etc /etc\n", "buildArgs:\n  - BASE=@lkt:pkg:../base\n"),
        **pkg("lib", "FROM scratch\nCOPY shared /shared\n", "extra-sources: ['../../shared:/shared']\n"),
        **pkg("other", "FROM scratch\nCOPY etc /etc\n"),
        "shared/BUILD": "files(name='shared', sources=['*.txt'])\n",
        "shared/lib.txt": "shared\n",
        "examples/linuxkit.yml": f"kernel:\n  image: linuxkit/kernel:6.6.71\ninit:\n  - linuxkit/base:{H}\n"
        f"onboot:\n  - name: top\n    image: linuxkit/top:{H}-amd64\n",
        "tools/Makefile": f"run:\n\tdocker run linuxkit/mid:{H} true\n",
        ".gitignore": "/.pants.d/\n/.pids/\n/dist/\n",
        "pants.toml": pants_toml(f'[linuxkit]\ncache = "{cache}"\n'),
    }


def pants(root: Path, *args: str):
    return run_pants(root, "--pantsd", *args)  # many runs: pantsd keeps them short


def show_tags(root: Path) -> dict[str, str]:
    out = pants(root, "linuxkit-show-tag", "::").assert_success().stdout
    return dict(line.split(":", 1) for line in out.split())


def pins_in(root: Path) -> list[tuple[str, str, str, str]]:
    found = []
    for path in git(root, "ls-files").split():
        if path.endswith((".yml", "Dockerfile", "Makefile", "test.sh")):
            for m in PIN.finditer((root / path).read_text()):
                found.append((path, m.group(1), m.group(2), m.group(3)))
    return found


def assert_fix_then_one_commit_leaves_lint_clean(root: Path) -> None:
    pants(root, "fix", "::").assert_success()
    commit_all(root, "pants fix")
    lint = pants(root, "lint", "::")
    tags = show_tags(root)
    stale = [(p, r, t) for p, r, t, _ in pins_in(root) if r in tags and t != tags[r]]
    assert stale == []
    added = [line for line in git(root, "diff", "HEAD~1").splitlines() if line.startswith("+")]
    assert not any("-dirty-" in line for line in added)
    # Left: only -dirty- tags of images no package here produces (fix cannot know their tag).
    problems = [line for line in lint.stderr.splitlines() if re.match(r"\S+:\d+: ", line)]
    assert all(line.endswith("(never pushed)") for line in problems), lint.stderr
    assert lint.exit_code == (1 if problems else 0), lint.stderr


def changed(root: Path, dependents: str = "none") -> list[str]:
    args = ["--changed-since=HEAD~1", f"--changed-dependents={dependents}", "list"]
    return sorted(pants(root, *args).assert_success().stdout.split())


@pytest.fixture
def generated(tmp_path: Path):
    root = init_repo(tmp_path / "repo", generated_files(tmp_path / "cache"))
    pants(root, "tailor", "::").assert_success()
    commit_all(root, "tailor")
    yield root
    kill_pantsd(root)


def test_tailor_lint_fix_and_chains_three_deep(generated: Path) -> None:
    root = generated
    assert (root / "examples/BUILD").read_text().startswith("linuxkit_image(")
    lint = pants(root, "lint", "::")
    assert lint.exit_code != 0
    assert f"pkg/mid/Dockerfile:1: linuxkit/base:{H} is stale; current: linuxkit/base:" in lint.stderr
    assert f"test/cases/leaf/test.sh:2: linuxkit/leaf:{H}-dirty-1234567 is a committed -dirty- tag" in lint.stderr
    assert_fix_then_one_commit_leaves_lint_clean(root)
    assert "-amd64\n" in (root / "examples/linuxkit.yml").read_text()  # suffix kept

    # A change to the base: one fix and one commit re-pin the chain base <- mid <- top <- leaf.
    write(root, {"pkg/base/etc/base": "base 2\n"})
    commit_all(root, "bump base")
    assert_fix_then_one_commit_leaves_lint_clean(root)
    assert sorted(git(root, "diff", "--name-only", "HEAD~1").split()) == [
        "examples/linuxkit.yml", "pkg/leaf/Dockerfile", "pkg/mid/Dockerfile", "pkg/top/Dockerfile",
        "test/cases/leaf/test.sh", "tools/Makefile",
    ]


def test_changed_since_selects_edited_packages_and_their_dependents(generated: Path) -> None:
    root = generated
    pants(root, "fix", "::").assert_success()
    commit_all(root, "pins")
    write(root, {"pkg/mid/etc/mid": "mid 2\n"})
    commit_all(root, "edit mid")
    assert changed(root) == ["pkg/mid:mid"]
    assert changed(root, "transitive") == ["examples:linuxkit", "pkg/leaf:leaf", "pkg/mid:mid", "pkg/top:top"]
    assert "pkg/mid/etc/mid" in pants(root, "filedeps", "pkg/mid:").assert_success().stdout

    write(root, {"pkg/base/etc/base": "base 2\n", "shared/lib.txt": "shared 2\n"})
    commit_all(root, "edit base and an extra source")
    assert changed(root, "transitive") == [
        "examples:linuxkit", "pkg/args:args", "pkg/base:base", "pkg/leaf:leaf", "pkg/lib:lib",
        "pkg/mid:mid", "pkg/top:top", "shared/lib.txt",
    ]


def test_changed_since_package_builds_exactly_the_changed_and_dependents(generated: Path) -> None:
    root = generated
    pants(root, "fix", "::").assert_success()
    commit_all(root, "pins")
    pants(root, "package", "pkg::").assert_success()
    write(root, {"pkg/top/etc/top": "top 2\n"})
    pants(root, "fix", "::").assert_success()  # leaf and the yml pin top
    commit_all(root, "edit top")
    result = pants(root, "--changed-since=HEAD~1", "--changed-dependents=transitive", "package")
    result.assert_success()
    written = sorted(re.findall(r"Wrote dist/pkg\.(\w+)/", result.stderr))
    assert written == ["leaf", "top"]
    built = sorted(re.findall(r"docker\.io/linuxkit/(\w+):[0-9a-f]{40} .*\n  linux/amd64 .*\(built\)", result.stderr))
    assert built == ["leaf", "top"]


def linuxkit_tree(root: Path) -> None:
    """pkg/ and examples/ of the real LinuxKit tree, or, without the mirror, a tree like it."""
    root.mkdir(parents=True)
    if (LINUXKIT_GIT_DIR / "HEAD").exists():
        archive = subprocess.run(["git", "--git-dir", str(LINUXKIT_GIT_DIR), "archive", "HEAD", "pkg", "examples"],
                                 check=True, capture_output=True).stdout  # fmt: skip
        subprocess.run(["tar", "x"], input=archive, cwd=root, check=True)
        return
    files = {}
    for i in range(12):
        base = f"FROM linuxkit/alpine:{H} AS build\n" if i % 3 else ""
        pinned = f"COPY --from=linuxkit/p{i - 1}:{H} /etc /etc\n" if i % 4 == 1 else ""
        files.update({f"pkg/p{i}/build.yml": f"image: p{i}\nnetwork: true\n",
                      f"pkg/p{i}/Dockerfile": f"{base}FROM scratch\n{pinned}COPY . /\n"})  # fmt: skip
        files[f"examples/e{i}.yml"] = (
            f"kernel:\n  image: linuxkit/kernel:6.6.71\n  cmdline: console=tty0\ninit:\n"
            f"  - linuxkit/p0:{H}-dirty-1d75567\n  - linuxkit/p{i}:{H}\nservices:\n"
            f"  - name: p{(i * 5) % 12}\n    image: linuxkit/p{(i * 5) % 12}:{H}\n"
        )
    write(root, files)


def test_a_real_linuxkit_tree(tmp_path: Path) -> None:
    root = tmp_path / "lk"
    linuxkit_tree(root)
    write(root, {".gitignore": "/.pants.d/\n/.pids/\n/dist/\n", "pants.toml": pants_toml()})
    init_repo(root, {})
    try:
        pants(root, "tailor", "::").assert_success()
        commit_all(root, "tailor")
        assert_fix_then_one_commit_leaves_lint_clean(root)

        # Edit the package pinned most often; expect it plus every package and yml pinning it.
        counts: dict[str, int] = {}
        for _, repo, _, _ in pins_in(root):
            counts[repo] = counts.get(repo, 0) + 1
        tags = show_tags(root)
        target = max((r for r in counts if r in tags), key=lambda r: counts[r])
        directory = next(p.parent for p in root.glob("pkg/*/build.yml")
                         if re.search(rf"^image: {target.split('/')[1]}\s*$", p.read_text(), re.M))  # fmt: skip
        (directory / "EDITED").write_text("edited\n")
        commit_all(root, "edit")
        expected = {f"{directory.relative_to(root)}:{directory.name}"}
        for path, repo, _, _ in pins_in(root):
            if repo == target and path.startswith("examples/"):
                expected.add(f"examples:{Path(path).stem}")
            elif repo == target and path.endswith("Dockerfile") and Path(path).parent != directory.relative_to(root):
                expected.add(f"{Path(path).parent}:{Path(path).parent.name}")
        assert set(changed(root, "direct")) == expected
        assert changed(root) == [f"{directory.relative_to(root)}:{directory.name}"]
    finally:
        kill_pantsd(root)
