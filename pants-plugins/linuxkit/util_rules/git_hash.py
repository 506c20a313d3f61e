"""Git-derived package hashes, read with pygit2: each repository once per Pants session.

The work tree changes outside Pants' view (a commit, `git add`, an untracked file), so these
results are `cacheable() == False`: recomputed in every session, also under pantsd. They compare
by value, so when nothing changed the rules downstream (the builds) are not re-run.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from typing import Optional, Tuple

from linuxkit.pkglib import git_state
from linuxkit.pkglib.errors import GitError
from linuxkit.pkglib.git_state import PackageGitHash
from pants.base.build_root import BuildRoot
from pants.engine.engine_aware import EngineAwareReturnType
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class GitReposRequest:
    pass


@dataclass(frozen=True, eq=False)
class GitRepos(EngineAwareReturnType):
    """Every repository a session reads, each opened and its status read once, shared by all
    packages (one pygit2 object cache, so a tree holding 1,000 packages is parsed once).

    Compares by identity: a new session gets a new one, as the work tree may have changed."""

    repos: git_state.RepoCache
    lock: threading.Lock  # libgit2 objects must not be used from two threads at once

    def cacheable(self) -> bool:
        return False


@dataclass(frozen=True)
class PackageGitHashRequest:
    directory: str  # relative to the build root
    extra_source_dirs: Tuple[str, ...] = ()  # relative to the build root
    hash_commit: str = "HEAD"
    hash_path: Optional[str] = None  # relative to the build root
    hash_override: Optional[str] = None
    force_dirty: bool = False


@dataclass(frozen=True)
class PackageGitHashResult(EngineAwareReturnType):
    value: PackageGitHash

    def cacheable(self) -> bool:
        return False


@rule(desc="Open git repositories", level=LogLevel.DEBUG)
async def git_repos(_: GitReposRequest) -> GitRepos:
    return GitRepos(git_state.RepoCache(), threading.Lock())


@rule(desc="Compute a package's git tree hash", level=LogLevel.DEBUG)
async def package_git_hash(request: PackageGitHashRequest, build_root: BuildRoot) -> PackageGitHashResult:
    def absolute(path: str) -> str:
        return os.path.normpath(os.path.join(build_root.path, path))

    git = await Get(GitRepos, GitReposRequest())
    try:
        with git.lock:
            git_hash = git_state.package_git_hash(
                git.repos,
                absolute(request.directory),
                extra_source_dirs=tuple(absolute(d) for d in request.extra_source_dirs),
                hash_commit=request.hash_commit,
                hash_path=absolute(request.hash_path) if request.hash_path is not None else None,
                hash_override=request.hash_override,
                force_dirty=request.force_dirty,
            )
    except GitError as e:
        raise GitError(f"{request.directory or '.'}: {e}")
    return PackageGitHashResult(git_hash)


@dataclass(frozen=True)
class SourceDateEpochRequest:
    directories: Tuple[str, ...]  # relative to the build root: those the package's tag hashes
    # What the value can change with, so Pants may memoize it (also across runs under pantsd):
    # HEAD, and the tag's hash, which changes with the tree of every directory.
    revision: str
    pkg_hash: str


@dataclass(frozen=True)
class SourceDateEpoch:
    """A package's SOURCE_DATE_EPOCH (`git_state.source_date_epoch`). Its own rule, asked for by
    builds only: `show-tag`, `lint` and `fix` need no history walk."""

    seconds: int


@rule(desc="Find a package's last commit time", level=LogLevel.DEBUG)
async def source_date_epoch(request: SourceDateEpochRequest, build_root: BuildRoot) -> SourceDateEpoch:
    directories = [os.path.normpath(os.path.join(build_root.path, d)) for d in request.directories]
    try:
        return SourceDateEpoch(git_state.source_date_epoch(git_state.RepoCache(), directories))
    except GitError as e:
        raise GitError(f"{request.directories[0] or '.'}: {e}")


def rules():
    return collect_rules()
