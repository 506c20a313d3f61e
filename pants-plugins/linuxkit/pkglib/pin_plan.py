"""The tags packages will have once the work tree is committed, and the pin edits that make every
pin current in one pass.

A pin edit changes the package directory holding the file, so that package's tag changes and the
pins to it go stale in turn. The plan iterates to the fixed point: tags are git tree hashes of the
work tree as it will be committed (every modified and untracked, not ignored, file, plus the
planned edits), computed in memory from HEAD's tree objects and the changed files alone.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import pygit2

from linuxkit.pkglib import pins
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.git_state import Repo
from linuxkit.pkglib.names import render_tag

_CLEAN_FLAGS = pygit2.GIT_STATUS_CURRENT | pygit2.GIT_STATUS_IGNORED
_TREE_MODE = 0o040000


@dataclass(frozen=True)
class PinnedPackage:
    directory: str  # relative to the repository root, "" for the root
    repository: str  # `org/image`
    tag_template: str
    extra_source_dirs: Tuple[str, ...] = ()  # relative to the repository root


def _object_id(kind: bytes, body: bytes) -> bytes:
    return hashlib.sha1(b"%s %d\0" % (kind, len(body)) + body).digest()


class CommittedTree:
    """Tree hashes of directories as `git add -A && git commit` would record them, with `edits`
    (path -> new bytes) applied on top of the work tree. Nothing is written to the repository."""

    def __init__(self, repo: Repo, edits: Mapping[str, bytes]) -> None:
        self._workdir = repo.workdir
        self._edits = edits
        try:
            self._head: Optional[pygit2.Tree] = repo.repo.head.peel(pygit2.Commit).tree
        except (pygit2.GitError, KeyError):
            self._head = None  # no commit yet
        changed = {p for p, flags in repo.status.items() if flags & ~_CLEAN_FLAGS}
        self._changed = sorted(changed | set(edits))
        self._memo: Dict[str, Optional[bytes]] = {}

    def tree_hash(self, directory: str) -> str:
        """The hex id of `directory`'s tree ("" for the root); GitError-free: a directory that
        will not exist hashes as the empty tree."""
        oid = self._tree(directory.strip("/"))
        return (oid or _object_id(b"tree", b"")).hex()

    def _tree(self, directory: str) -> Optional[bytes]:
        if directory not in self._memo:
            prefix = f"{directory}/" if directory else ""
            changes = [p[len(prefix) :] for p in self._changed if p.startswith(prefix)]
            head = self._head_tree(directory)
            self._memo[directory] = self._build(head, prefix, changes)
        return self._memo[directory]

    def _head_tree(self, directory: str) -> Optional[pygit2.Tree]:
        if self._head is None:
            return None
        if not directory:
            return self._head
        try:
            obj = self._head[directory]
        except KeyError:
            return None
        return obj if isinstance(obj, pygit2.Tree) else None

    def _build(self, tree: Optional[pygit2.Tree], prefix: str, changes: List[str]) -> Optional[bytes]:
        if not changes:
            return tree.id.raw if tree is not None else None
        entries: Dict[str, Tuple[int, bytes]] = {}
        if tree is not None:
            entries = {e.name: (e.filemode, e.id.raw) for e in tree}
        by_subdir: Dict[str, List[str]] = {}
        for change in changes:
            name, sep, rest = change.partition("/")
            if sep:
                by_subdir.setdefault(name, []).append(rest)
            else:
                blob = self._blob(prefix + name)
                if blob is None:
                    entries.pop(name, None)
                else:
                    entries[name] = blob
        for name, sub_changes in by_subdir.items():
            sub_tree = None
            if tree is not None and name in tree and isinstance(tree[name], pygit2.Tree):
                sub_tree = tree[name]
            oid = self._build(sub_tree, f"{prefix}{name}/", sub_changes)
            if oid is None:
                entries.pop(name, None)
            else:
                entries[name] = (_TREE_MODE, oid)
        if not entries:
            return None

        def order(name: str) -> bytes:
            return (name + "/" if entries[name][0] == _TREE_MODE else name).encode("utf-8", "surrogateescape")

        body = b"".join(
            b"%o %s\0%s" % (entries[n][0], n.encode("utf-8", "surrogateescape"), entries[n][1])
            for n in sorted(entries, key=order)
        )
        return _object_id(b"tree", body)

    def _blob(self, path: str) -> Optional[Tuple[int, bytes]]:
        """(mode, blob id) of a work-tree file as it will be committed, None if it will not be."""
        full = os.path.join(self._workdir, path)
        try:
            st = os.lstat(full)
        except OSError:
            st = None
        if path in self._edits:
            executable = st is not None and bool(st.st_mode & stat.S_IXUSR)
            return (0o100755 if executable else 0o100644), _object_id(b"blob", self._edits[path])
        if st is None or stat.S_ISDIR(st.st_mode):
            return None
        if stat.S_ISLNK(st.st_mode):
            return 0o120000, _object_id(b"blob", os.fsencode(os.readlink(full)))
        with open(full, "rb") as f:
            content = f.read()
        return (0o100755 if st.st_mode & stat.S_IXUSR else 0o100644), _object_id(b"blob", content)


def committed_tags(repo: Repo, packages: Iterable[PinnedPackage], edits: Mapping[str, bytes]) -> Dict[str, str]:
    """`org/image` -> the tag each package will have once the work tree and `edits` are committed."""
    tree = CommittedTree(repo, edits)
    tags = {}
    for package in packages:
        pkg_hash = tree.tree_hash(package.directory)
        if package.extra_source_dirs:
            extra = "".join(tree.tree_hash(d) for d in package.extra_source_dirs)
            pkg_hash = hashlib.sha1((pkg_hash + extra).encode()).hexdigest()
        tags[package.repository] = render_tag(package.tag_template, pkg_hash) or "latest"
    return tags


def _inside(path: str, package: PinnedPackage) -> bool:
    return any(d == "" or path.startswith(f"{d}/") for d in (package.directory, *package.extra_source_dirs))


@dataclass(frozen=True)
class PinPlan:
    tags: Mapping[str, str]  # `org/image` -> tag once committed
    edits: Mapping[str, str]  # path -> new text, for the files whose pins change
    stale: Tuple[pins.StalePin, ...]  # in path, line order


def plan(repo: Repo, packages: Tuple[PinnedPackage, ...], files: Mapping[str, str], prefix: str = "") -> PinPlan:
    """The edits that leave every pin in `files` (path -> text) equal to its package's tag once
    everything is committed. `prefix` is the files' directory in the repository ("" or `dir/`).
    Pins of a package inside its own directory or extra sources are left alone."""
    # A pin to a package from inside its own tree can never be current (the pin is in the hash).
    own = {path: frozenset(p.repository for p in packages if _inside(prefix + path, p)) for path in files}
    edits: Dict[str, str] = {}
    for _ in range(len(packages) + 2):
        in_repo = {prefix + p: t.encode("utf-8", "surrogateescape") for p, t in edits.items()}
        tags = committed_tags(repo, packages, in_repo)
        new_edits = {}
        for path, text in files.items():
            new_text, _ = pins.rewrite(text, path, tags, own[path])
            if new_text != text:
                new_edits[path] = new_text
        if new_edits == edits:
            stale = [s for path in sorted(files) for s in pins.rewrite(files[path], path, tags, own[path])[1]]
            return PinPlan(tags, edits, tuple(stale))
        edits = new_edits
    moving = sorted(p for p in edits if edits[p] != files[p])
    raise LinuxkitError(f"pins do not converge (a cycle of packages pinning each other?): {', '.join(moving[:5])}")
