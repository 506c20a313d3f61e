"""A package's git identity, read with pygit2 the way `linuxkit pkg` reads it with git.

LinuxKit (pkglib/git.go) runs, per package: `rev-parse --is-inside-work-tree`, `ls-tree --full-tree
<commit> -- <dir>` (or `show --format=%T` when the dir is the repository's top level),
`diff --quiet HEAD -- <dir>` plus `ls-files --others --exclude-standard` for dirtiness, and for
a dirty package a SHA-256 over the raw bytes of `ls-files` + `ls-files --others`. This module
reproduces each of those answers from one pygit2 `status()` per repository.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import stat
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import pygit2

from linuxkit.pkglib import build_args
from linuxkit.pkglib.errors import GitError

_CLEAN_FLAGS = pygit2.GIT_STATUS_CURRENT | pygit2.GIT_STATUS_IGNORED


@dataclass(frozen=True)
class PackageGitHash:
    """What the git state contributes to a package's tag and labels."""

    in_git: bool
    pkg_hash: str  # the `.Hash` of the tag template: tree hash [+ extra sources] [-dirty-xxxxxxx]
    dirty: bool
    revision: str  # HEAD commit id ("" outside git)
    go_pkg_version: str = ""  # GOPKGVERSION: a Go pseudo-version of HEAD ("" outside git)
    head_tags: Tuple[str, ...] = ()  # git tags pointing at HEAD (releases: `pkg-vX.Y.Z`)


class Repo:
    """One repository, with its status read once (a `git status` costs as much as the repo)."""

    def __init__(self, repo: pygit2.Repository) -> None:
        self.repo = repo
        self.workdir = os.path.normpath(repo.workdir)
        self._status: Optional[Mapping[str, int]] = None
        self.real_workdir = os.path.realpath(self.workdir)
        self._tag_commits: Optional[Dict[str, pygit2.Oid]] = None
        self._quote_path: Optional[bool] = None
        self._commits: Dict[str, pygit2.Commit] = {}
        self._go_pkg_versions: Dict[pygit2.Oid, str] = {}

    @property
    def status(self) -> Mapping[str, int]:
        if self._status is None:
            self._status = self.repo.status(untracked_files="all", ignored=False)
        return self._status

    @property
    def tag_commits(self) -> Dict[str, pygit2.Oid]:
        """Every tag (by name) and the commit it points at, read once."""
        if self._tag_commits is None:
            self._tag_commits = {}
            for ref in self.repo.references:
                if not ref.startswith("refs/tags/"):
                    continue
                try:
                    commit = self.repo.revparse_single(ref).peel(pygit2.Commit)
                except (KeyError, ValueError, pygit2.GitError):
                    continue
                self._tag_commits[ref[len("refs/tags/") :]] = commit.id
        return self._tag_commits

    def relpath(self, path: str) -> str:
        rel = os.path.relpath(path, self.workdir)
        return "" if rel == "." else rel.replace(os.sep, "/")

    def commit(self, rev: str) -> pygit2.Commit:
        if rev not in self._commits:
            try:
                self._commits[rev] = self.repo.revparse_single(rev).peel(pygit2.Commit)
            except (KeyError, ValueError, pygit2.GitError) as e:
                raise GitError(f"{self.workdir}: cannot resolve commit {rev!r}: {e}")
        return self._commits[rev]

    def quotes(self, path: str) -> bool:
        """Whether git's default (core.quotePath) quoting changes `path` in `ls-files` output."""
        if self._quote_path is None:
            try:
                self._quote_path = self.repo.config.get_bool("core.quotePath")
            except (KeyError, pygit2.GitError):
                self._quote_path = True
        for byte in path.encode("utf-8", "surrogateescape"):
            if byte < 0x20 or byte in (0x22, 0x5C, 0x7F) or (self._quote_path and byte >= 0x80):
                return True
        return False


class RepoCache:
    """Opens each repository once and reads its status once; callers make a new one whenever git
    state may change (the Pants rules: one per session)."""

    def __init__(self) -> None:
        self._by_git_dir: Dict[str, Optional[Repo]] = {}

    def find(self, path: str) -> Optional[Repo]:
        """The work tree containing `path`, or None (git's `--is-inside-work-tree` is false)."""
        try:
            git_dir = pygit2.discover_repository(path)
        except pygit2.GitError:
            git_dir = None
        if git_dir is None:
            return None
        if git_dir not in self._by_git_dir:
            repo = pygit2.Repository(git_dir)
            if repo.is_bare or repo.workdir is None:
                self._by_git_dir[git_dir] = None
            else:
                self._by_git_dir[git_dir] = Repo(repo)
        found = self._by_git_dir[git_dir]
        if found is None:
            return None
        inside = os.path.relpath(os.path.realpath(path), found.real_workdir)
        if inside.split(os.sep)[0] == ".git":
            return None
        return found


def tree_hash(repo: Repo, path: str, commit: str) -> str:
    """`ls-tree --full-tree <commit> -- <path>`'s object id (the root tree at the top level)."""
    rel = repo.relpath(path)
    if rel.startswith("../"):
        raise GitError(f"{path} is outside the repository at {repo.workdir}")
    entry = _entry_id(repo.repo, repo.commit(commit).id, rel)
    if entry is None:
        raise GitError(f"package {path} is not in git (nothing at {rel} in {commit})")
    return str(entry)


def is_dirty(repo: Repo, path: str) -> bool:
    """`git diff --quiet HEAD -- <path>` failing, or untracked non-ignored files under it."""
    rel = repo.relpath(path)
    prefix = f"{rel}/" if rel else ""
    for file, flags in repo.status.items():
        if (file == rel or file.startswith(prefix)) and flags & ~_CLEAN_FLAGS:
            if flags == pygit2.GIT_STATUS_INDEX_NEW | pygit2.GIT_STATUS_WT_DELETED:
                continue  # added, then deleted: neither HEAD nor the work tree has it
            return True
    return False


def _listed_files(repo: Repo, pkg_dir: str) -> Iterable[str]:
    """`git ls-files` then `git ls-files --others --exclude-standard`, relative to pkg_dir."""
    rel = repo.relpath(pkg_dir)
    prefix = f"{rel}/" if rel else ""
    repo.repo.index.read(False)
    tracked = [e.path for e in repo.repo.index if e.path.startswith(prefix)]
    untracked = sorted(
        (f for f, flags in repo.status.items() if flags == pygit2.GIT_STATUS_WT_NEW),
        key=lambda p: p.encode("utf-8", "surrogateescape"),
    )
    seen = set()
    for file in tracked + [f for f in untracked if f.startswith(prefix)]:
        if file in seen:  # conflicted index entries appear once per stage
            continue
        seen.add(file)
        name = file[len(prefix) :]
        if not repo.quotes(name):
            yield name


def content_hash(repo: Repo, pkg_dir: str) -> str:
    """SHA-256 over the raw bytes of the package's tracked and untracked files, in git's order."""
    digest = hashlib.sha256()
    for name in _listed_files(repo, pkg_dir):
        full = os.path.join(pkg_dir, name)
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
            continue
        try:
            with open(full, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    digest.update(chunk)
        except OSError:
            continue
    return digest.hexdigest()


def package_git_hash(
    repos: RepoCache,
    pkg_dir: str,
    *,
    extra_source_dirs: Tuple[str, ...] = (),
    hash_commit: str = "HEAD",
    hash_path: Optional[str] = None,
    hash_override: Optional[str] = None,
    force_dirty: bool = False,
) -> PackageGitHash:
    """The `.Hash` linuxkit computes for the package at absolute `pkg_dir` (NewFromConfig)."""
    hash_path = hash_path or pkg_dir
    if not pkg_dir.startswith(hash_path):
        raise GitError(f"hash path {hash_path} is not a prefix of the package path {pkg_dir}")
    source_hashes = ""
    for src in extra_source_dirs:
        src_repo = repos.find(src)
        if src_repo is None:
            raise GitError(f"source {src} not in a git repository")
        source_hashes += tree_hash(src_repo, src, hash_commit)

    repo = repos.find(pkg_dir)
    if repo is None:
        return PackageGitHash(in_git=False, pkg_hash=hash_override or "", dirty=False, revision="")
    dirty = force_dirty or (hash_commit == "HEAD" and is_dirty(repo, hash_path))
    pkg_hash = hash_override
    if not pkg_hash:
        pkg_hash = tree_hash(repo, hash_path, hash_commit)
        if source_hashes:
            pkg_hash = hashlib.sha1((pkg_hash + source_hashes).encode()).hexdigest()
        if dirty:
            pkg_hash += "-dirty-" + content_hash(repo, pkg_dir)[:7]
    head = repo.commit("HEAD")
    return PackageGitHash(
        in_git=True,
        pkg_hash=pkg_hash,
        dirty=dirty,
        revision=str(head.id),
        go_pkg_version=go_pkg_version(repo, head),
        head_tags=tags_at(repo, head),
    )


def tags_at(repo: Repo, commit: pygit2.Commit) -> Tuple[str, ...]:
    """`git tag --points-at <commit>`, sorted."""
    return tuple(sorted(name for name, target in repo.tag_commits.items() if target == commit.id))


# Facts about git objects, which never change for an id, so they are kept for the life of the
# process (pantsd), each table cleared when it grows past _MEMO_LIMIT:
# (commit, path) -> the time of the last commit that changed path, as seen from that commit
# (after a new commit, a walk goes back only to a commit already seen);
_LAST_CHANGE: Dict[Tuple[pygit2.Oid, str], int] = {}
# commit -> (commit time, root tree, parents);
_COMMITS: Dict[pygit2.Oid, Tuple[int, pygit2.Oid, Tuple[pygit2.Oid, ...]]] = {}
# tree -> its entries (name -> id): libgit2 does not cache trees over 4 KiB, and every
# package's tree hash and history walk reads the directory of all packages.
_TREE_ENTRIES: Dict[pygit2.Oid, Dict[str, pygit2.Oid]] = {}
_MEMO_LIMIT = 200_000


def _remember(table: dict, key, value):
    if len(table) > _MEMO_LIMIT:
        table.clear()
    table[key] = value
    return value


def _commit_facts(repo: pygit2.Repository, oid: pygit2.Oid) -> Tuple[int, pygit2.Oid, Tuple[pygit2.Oid, ...]]:
    facts = _COMMITS.get(oid)
    if facts is None:
        commit = repo[oid]
        facts = _remember(_COMMITS, oid, (commit.commit_time, commit.tree_id, tuple(commit.parent_ids)))
    return facts


def _entry_id(repo: pygit2.Repository, commit: pygit2.Oid, rel: str) -> Optional[pygit2.Oid]:
    """The id of what `commit` has at `rel` ("" for its root tree), or None."""
    oid: Optional[pygit2.Oid] = _commit_facts(repo, commit)[1]
    for name in rel.split("/") if rel else ():
        entries = _TREE_ENTRIES.get(oid)  # type: ignore[arg-type]
        if entries is None:
            tree = repo[oid]
            if not isinstance(tree, pygit2.Tree):
                return None
            entries = _remember(_TREE_ENTRIES, tree.id, {entry.name: entry.id for entry in tree})
        oid = entries.get(name)
        if oid is None:
            return None
    return oid


def last_change_time(repo: Repo, path: str) -> int:
    """`git log -1 --format=%ct -- <path>` from HEAD, without a git process: history is
    followed, as git's default simplification does, into a parent with the same tree at `path`
    until a commit differs from all of its parents. HEAD's time when HEAD does not have `path`."""
    rel, git = repo.relpath(path), repo.repo
    commit = repo.commit("HEAD").id
    entry = _entry_id(git, commit, rel)
    if entry is None:
        return _commit_facts(git, commit)[0]
    visited: List[pygit2.Oid] = []
    found = _LAST_CHANGE.get((commit, rel))
    while found is None:
        visited.append(commit)
        time, _, parents = _commit_facts(git, commit)
        same = next((p for p in parents if _entry_id(git, p, rel) == entry), None)
        if same is None:
            found = time
            break
        commit = same
        found = _LAST_CHANGE.get((commit, rel))
    for oid in visited:
        _remember(_LAST_CHANGE, (oid, rel), found)
    return found


def source_date_epoch(repos: RepoCache, directories: Sequence[str]) -> int:
    """SOURCE_DATE_EPOCH for a package whose tag hashes `directories` (absolute): the latest of
    their last commits' times. Edits in the work tree do not count (a dirty package gets its
    last commit's time too, so the value never depends on when it is built); 0 outside git."""
    times = [last_change_time(repo, d) for d in directories for repo in [repos.find(d)] if repo]
    return max(times, default=0)


_SEMVER_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")


def go_pkg_version(repo: Repo, head: pygit2.Commit) -> str:
    """HEAD as a Go module version: its `vX.Y.Z` tag, or a pseudo-version after the highest
    such tag among its ancestors (the docs' promise; the CLI always says v0.0.0-...)."""
    if head.id not in repo._go_pkg_versions:
        repo._go_pkg_versions[head.id] = _go_pkg_version(repo, head)
    return repo._go_pkg_versions[head.id]


def _go_pkg_version(repo: Repo, head: pygit2.Commit) -> str:
    exact, bases = [], []
    for name, target in repo.tag_commits.items():
        match = _SEMVER_TAG.match(name)
        if not match:
            continue
        version = tuple(int(g) for g in match.groups())
        if target == head.id:
            exact.append((version, name))
        elif repo.repo.descendant_of(head.id, target):
            bases.append((version, name))
    when = datetime.datetime.fromtimestamp(head.commit_time, datetime.timezone.utc)
    return build_args.go_pseudo_version(
        exact_tag=max(exact)[1] if exact else None,
        base_tag=max(bases)[1] if bases else None,
        commit_time_utc=when.strftime("%Y%m%d%H%M%S"),
        commit=str(head.id),
    )
