"""References our tags are checked against: the real `linuxkit` CLI when it is installed, and
always a transcription of linuxkit's git calls (pkglib/git.go) run with the real `git` binary.

The git reference shares no code with the backend (no pygit2, no YAML decoder beyond the keys a
tag needs), so agreement between the two is evidence, not an echo.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import yaml

_LS_TREE = re.compile(r"^[0-7]{6} [^ ]+ ([0-9a-f]{40})\t.+\n\Z")


def linuxkit_binary() -> str | None:
    """The real CLI: $LINUXKIT_BIN, then PATH. Nothing installs it (the Go module proxy refuses
    the linuxkit module), so the tests that need it skip, saying so, unless one of these names it."""
    candidates = [os.environ.get("LINUXKIT_BIN"), shutil.which("linuxkit")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def cli_show_tag(paths: list[str], *args: str, env: dict[str, str] | None = None) -> list[str]:
    binary = linuxkit_binary()
    assert binary, "the linuxkit CLI is not installed"
    out = subprocess.run(
        [binary, "pkg", "show-tag", *args, *paths],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    return out.stdout.splitlines()


def _git(directory: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-C", directory, *args], capture_output=True, text=True, check=check
    )


def _tree_hash(path: str, commit: str) -> str:
    toplevel = _git(path, "rev-parse", "--prefix", path, "--show-toplevel").stdout.strip()
    if toplevel == path:
        return _git(path, "show", "--format=%T", "-s", commit).stdout.strip()
    out = _git(path, "ls-tree", "--full-tree", commit, "--", path).stdout
    if not out:
        raise ValueError(f"package {path} is not in git")
    match = _LS_TREE.match(out)
    if not match:
        raise ValueError(f"unable to parse ls-tree output: {out!r}")
    return match.group(1)


def _is_dirty(pkg_dir: str, hash_path: str) -> bool:
    diff = _git(pkg_dir, "diff", "--no-ext-diff", "--exit-code", "--quiet", "HEAD", "--", hash_path, check=False)
    if diff.returncode != 0:
        return True
    others = _git(
        pkg_dir, "ls-files", "--exclude-standard", "--others", "--error-unmatch", "--", hash_path,
        check=False,
    )
    return others.returncode == 0


def _content_hash(pkg_dir: str) -> str:
    tracked = _git(pkg_dir, "ls-files").stdout
    untracked = _git(pkg_dir, "ls-files", "--exclude-standard", "--others").stdout
    digest = hashlib.sha256()
    for line in (tracked + "\n" + untracked).strip().split("\n"):
        full = os.path.join(pkg_dir, line)
        try:
            if os.path.isdir(full) or os.path.islink(full) or not os.path.lexists(full):
                continue
            digest.update(Path(full).read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


def _render(template: str, pkg_hash: str) -> str:
    """The tag templates the tests use: `{{.Hash}}` with affixes and `printf "%.Ns" .Hash`."""

    def action(m: re.Match) -> str:
        body = m.group(1).strip()
        if body == ".Hash":
            return pkg_hash
        printf = re.fullmatch(r'printf "%\.(\d+)s" \.Hash', body)
        if printf:
            return pkg_hash[: int(printf.group(1))]
        raise NotImplementedError(body)

    return re.sub(r"\{\{(.*?)\}\}", action, template)


def git_show_tag(
    pkg_dir: str,
    *,
    org: str | None = None,
    tag: str | None = None,
    hash_commit: str = "HEAD",
    hash_path: str | None = None,
    force_dirty: bool = False,
    canonical: bool = False,
) -> str:
    """`linuxkit pkg show-tag` as pkglib computes it, with git run as a subprocess."""
    pkg_dir = os.path.abspath(pkg_dir)
    hash_path = os.path.abspath(hash_path) if hash_path else pkg_dir
    info = yaml.safe_load(Path(pkg_dir, "build.yml").read_text())
    src_hashes = ""
    for entry in info.get("extra-sources") or []:
        src, _ = entry.split(":")
        src = os.path.normpath(os.path.join(pkg_dir, src))
        src_hashes += _tree_hash(src, hash_commit)
    in_git = _git(pkg_dir, "rev-parse", "--is-inside-work-tree", check=False)
    pkg_hash = ""
    if in_git.returncode == 0:
        dirty = force_dirty or (hash_commit == "HEAD" and _is_dirty(pkg_dir, hash_path))
        pkg_hash = _tree_hash(hash_path, hash_commit)
        if src_hashes:
            pkg_hash = hashlib.sha1((pkg_hash + src_hashes).encode()).hexdigest()
        if dirty:
            pkg_hash += "-dirty-" + _content_hash(pkg_dir)[:7]
    rendered = _render(tag or info.get("tag") or "{{.Hash}}", pkg_hash) or "latest"
    short = f"{org or info.get('org', 'linuxkit')}/{info['image']}:{rendered}"
    if not canonical:
        return short
    parts = short.split("/")
    if len(parts) == 2 and not any(c in parts[0] for c in ".:") and parts[0] != "localhost":
        return f"docker.io/{short}"
    return short
