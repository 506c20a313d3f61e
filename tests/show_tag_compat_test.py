"""Our tags against linuxkit's, on git repositories made here: every case of docs/linuxkit-pkg.md §2.

Each case is checked against the git-subprocess transcription of linuxkit's pkglib, and against
the real `linuxkit pkg show-tag` where that CLI is installed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from linuxkit.pkglib import build_yml, git_state
from linuxkit.pkglib.names import package_name
from gitrepo import git, write
from linuxkit_reference import cli_show_tag, git_show_tag, linuxkit_binary

REFERENCES = [
    "git",
    pytest.param(
        "cli",
        marks=pytest.mark.skipif(
            linuxkit_binary() is None,
            reason="no linuxkit CLI: set LINUXKIT_BIN (or put linuxkit on PATH) to compare with it",
        ),
    ),
]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    write(
        root,
        {
            "pkg/a/build.yml": "image: a\n",
            "pkg/a/Dockerfile": "FROM scratch\nCOPY . /\n",
            "pkg/a/sub/file.txt": "hello\n",
            "pkg/b/build.yml": "image: b\norg: example\ntag: '{{.Hash}}-amd'\n",
            "pkg/b/Dockerfile": "FROM scratch\n",
            "vendor/lib/x.go": "package x\n",
            "vendor/other/y.go": "package y\n",
            ".gitignore": "*.log\n",
        },
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def ours(pkg_dir: Path, *, org=None, tag=None, hash_commit="HEAD", hash_path=None,
         force_dirty=False, canonical=False) -> str:  # fmt: skip
    decoded = build_yml.decode_yaml((pkg_dir / "build.yml").read_text(), "build.yml")
    definition = build_yml.make_build_yml(
        decoded.keys, path="build.yml", read_package_file=lambda _: None
    )
    git_hash = git_state.package_git_hash(
        git_state.RepoCache(),
        str(pkg_dir),
        extra_source_dirs=tuple(
            os.path.normpath(os.path.join(pkg_dir, s.src)) for s in definition.extra_sources
        ),
        hash_commit=hash_commit,
        hash_path=str(hash_path) if hash_path else None,
        force_dirty=force_dirty,
    )
    name = package_name(org or definition.org, definition.image, tag or definition.tag, git_hash.pkg_hash)
    return name.canonical if canonical else name.short


def reference(kind: str, pkg_dir: Path, **kwargs) -> str:
    if kind == "git":
        return git_show_tag(
            str(pkg_dir), **{k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items()}
        )
    args = []
    for key, value in kwargs.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value not in (None, False):
            args += [flag, str(value)]
    (line,) = cli_show_tag([str(pkg_dir)], *args)
    return line


def assert_same(kind: str, pkg_dir: Path, **kwargs) -> str:
    expected = reference(kind, pkg_dir, **kwargs)
    assert ours(pkg_dir, **kwargs) == expected
    return expected


@pytest.mark.parametrize("kind", REFERENCES)
def test_clean_package_is_its_tree_hash(kind: str, repo: Path) -> None:
    tree = git(repo, "rev-parse", "HEAD:pkg/a").strip()
    assert assert_same(kind, repo / "pkg/a") == f"linuxkit/a:{tree}"


@pytest.mark.parametrize("kind", REFERENCES)
@pytest.mark.parametrize(
    "change",
    ["modify", "untracked", "delete", "stage_new", "chmod", "untracked_nested", "stage_then_delete"],
)
def test_dirty_package(kind: str, repo: Path, change: str) -> None:
    pkg = repo / "pkg/a"
    if change == "modify":
        (pkg / "Dockerfile").write_text("FROM scratch\n")
    elif change == "untracked":
        (pkg / "new.txt").write_text("new\n")
    elif change == "delete":
        (pkg / "sub/file.txt").unlink()
    elif change == "stage_new":
        (pkg / "staged.txt").write_text("staged\n")
        git(repo, "add", "pkg/a/staged.txt")
    elif change == "chmod":
        (pkg / "Dockerfile").chmod(0o755)
    elif change == "untracked_nested":
        write(pkg, {"deep/er/file": "x\n"})
    elif change == "stage_then_delete":
        (pkg / "gone.txt").write_text("gone\n")
        git(repo, "add", "pkg/a/gone.txt")
        (pkg / "gone.txt").unlink()
    tag = assert_same(kind, pkg)
    if change != "stage_then_delete":
        assert "-dirty-" in tag
    assert ours(repo / "pkg/b") == reference(kind, repo / "pkg/b")  # b is untouched: clean


@pytest.mark.parametrize("kind", REFERENCES)
def test_ignored_files_keep_a_package_clean(kind: str, repo: Path) -> None:
    (repo / "pkg/a/build.log").write_text("noise\n")
    assert "-dirty-" not in assert_same(kind, repo / "pkg/a")


@pytest.mark.parametrize("kind", REFERENCES)
def test_dirty_content_hash_skips_quoted_names_and_symlinks(kind: str, repo: Path) -> None:
    pkg = repo / "pkg/a"
    (pkg / "caf\u00e9.txt").write_text("quoted by git, so skipped\n")
    (pkg / "link").symlink_to("Dockerfile")
    (pkg / "plain.txt").write_text("counted\n")
    assert "-dirty-" in assert_same(kind, pkg)


@pytest.mark.parametrize("kind", REFERENCES)
def test_package_at_repository_root(kind: str, tmp_path: Path) -> None:
    root = tmp_path / "rootpkg"
    root.mkdir()
    git(root, "init", "-q")
    write(root, {"build.yml": "image: top\n", "Dockerfile": "FROM scratch\n"})
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "x")
    tree = git(root, "show", "--format=%T", "-s", "HEAD").strip()
    assert assert_same(kind, root) == f"linuxkit/top:{tree}"
    (root / "other").write_text("dirty\n")
    assert "-dirty-" in assert_same(kind, root)


@pytest.mark.parametrize("kind", REFERENCES)
def test_extra_sources_are_hashed_in(kind: str, repo: Path) -> None:
    write(
        repo,
        {
            "pkg/c/build.yml": (
                "image: c\nextra-sources:\n  - ../../vendor/lib:/vendor/lib\n"
                "  - ../../vendor/other:/other\n"
            ),
            "pkg/c/Dockerfile": "FROM scratch\n",
            "pkg/d/build.yml": "image: d\nextra-sources: [../../vendor/lib:/lib]\n",
            "pkg/d/Dockerfile": "FROM scratch\n",
        },
    )
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "extra")
    tree = git(repo, "rev-parse", "HEAD:pkg/c").strip()
    tag = assert_same(kind, repo / "pkg/c")
    assert tree not in tag
    assert_same(kind, repo / "pkg/d")
    # Extra sources count for the hash but not for dirtiness (docs/linuxkit-pkg.md §1.6).
    (repo / "vendor/lib/x.go").write_text("package x // edited\n")
    assert assert_same(kind, repo / "pkg/c") == tag


@pytest.mark.parametrize("kind", REFERENCES)
@pytest.mark.parametrize(
    "template", ["{{.Hash}}-suffix", 'v1.0-{{printf "%.7s" .Hash}}', "fixed", "{{ .Hash }}"]
)
def test_tag_templates(kind: str, repo: Path, template: str) -> None:
    write(repo, {"pkg/a/build.yml": f"image: a\ntag: '{template}'\n"})
    git(repo, "commit", "-qam", "template")
    assert_same(kind, repo / "pkg/a")
    assert_same(kind, repo / "pkg/a", tag="cli-{{.Hash}}")


@pytest.mark.parametrize("kind", REFERENCES)
@pytest.mark.parametrize("org", ["example", "localhost:5000/team", "ghcr.io/acme", "a/b"])
def test_org_overrides_and_canonical_names(kind: str, repo: Path, org: str) -> None:
    assert_same(kind, repo / "pkg/b", canonical=True)
    assert_same(kind, repo / "pkg/b", org=org)
    assert_same(kind, repo / "pkg/b", org=org, canonical=True)


@pytest.mark.parametrize("kind", REFERENCES)
def test_nested_packages(kind: str, repo: Path) -> None:
    write(repo, {"pkg/a/sub/build.yml": "image: a-sub\n", "pkg/a/sub/Dockerfile": "FROM scratch\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "nested")
    outer, inner = assert_same(kind, repo / "pkg/a"), assert_same(kind, repo / "pkg/a/sub")
    (repo / "pkg/a/sub/file.txt").write_text("changed\n")
    assert assert_same(kind, repo / "pkg/a") != outer
    assert assert_same(kind, repo / "pkg/a/sub") != inner


@pytest.mark.parametrize("kind", REFERENCES)
def test_hash_commit_force_dirty_and_hash_path(kind: str, repo: Path) -> None:
    write(repo, {"pkg/a/sub/file.txt": "second\n", "pkg/a/sub/build.yml": "image: sub\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "second")
    (repo / "pkg/a/untracked").write_text("x\n")
    assert_same(kind, repo / "pkg/a", hash_commit="HEAD~1")  # never dirty off HEAD
    assert_same(kind, repo / "pkg/a", force_dirty=True)
    assert_same(kind, repo / "pkg/a/sub", hash_path=repo / "pkg/a")


@pytest.mark.parametrize("kind", REFERENCES)
def test_gitignored_nested_repository_is_its_own_top_level(kind: str, repo: Path) -> None:
    write(repo, {".gitignore": "*.log\nnested/\n"})
    git(repo, "commit", "-qam", "ignore nested")
    nested = repo / "nested"
    nested.mkdir()
    git(nested, "init", "-q")
    write(nested, {"build.yml": "image: nested\n", "Dockerfile": "FROM scratch\n"})
    git(nested, "add", "-A")
    git(nested, "commit", "-q", "-m", "n")
    assert_same(kind, nested)


def test_untracked_package_is_an_error(repo: Path) -> None:
    write(repo, {"pkg/new/build.yml": "image: new\n"})
    with pytest.raises(git_state.GitError, match="is not in git"):
        ours(repo / "pkg/new")


def test_package_outside_git_is_tagged_latest(tmp_path: Path) -> None:
    write(tmp_path, {"plain/build.yml": "image: plain\n"})
    assert ours(tmp_path / "plain") == git_show_tag(str(tmp_path / "plain")) == "linuxkit/plain:latest"


@pytest.mark.skipif(linuxkit_binary() is None, reason="no linuxkit CLI: set LINUXKIT_BIN (or put linuxkit on PATH)")
def test_disable_content_trust_is_ours_only(repo: Path) -> None:
    """The older packages doc's `disable-content-trust`: we accept it, today's CLI rejects it
    (README, Compatibility notes)."""
    write(repo, {"pkg/a/build.yml": "image: a\ndisable-content-trust: true\n"})
    git(repo, "commit", "-qam", "disable-content-trust")
    assert ours(repo / "pkg" / "a") == "linuxkit/a:" + git(repo, "rev-parse", "HEAD:pkg/a").strip()
    with pytest.raises(subprocess.CalledProcessError) as rejected:
        cli_show_tag([str(repo / "pkg" / "a")])
    assert "field disable-content-trust not found" in rejected.value.stderr
