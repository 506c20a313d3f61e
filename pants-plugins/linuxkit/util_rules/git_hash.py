"""Git-derived package hashes, read with pygit2 once per Pants session.

The work tree changes outside Pants' view (a commit, `git add`, an untracked file), so these
results are `cacheable() == False`: recomputed in every session, also under pantsd. They compare
by value, so when nothing changed the rules downstream (the builds) are not re-run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Tuple

from linuxkit.pkglib import git_state
from linuxkit.pkglib.errors import GitError
from linuxkit.pkglib.git_state import PackageGitHash
from pants.base.build_root import BuildRoot
from pants.engine.engine_aware import EngineAwareReturnType
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class GitStatusRequest:
    workdir: str  # absolute


@dataclass(frozen=True)
class GitStatus(EngineAwareReturnType):
    workdir: str
    flags: FrozenDict[str, int]

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


@rule(desc="Read git status", level=LogLevel.DEBUG)
async def read_git_status(request: GitStatusRequest) -> GitStatus:
    return GitStatus(request.workdir, FrozenDict(git_state.read_status(request.workdir)))


@rule(desc="Compute a package's git tree hash", level=LogLevel.DEBUG)
async def package_git_hash(request: PackageGitHashRequest, build_root: BuildRoot) -> PackageGitHashResult:
    def absolute(path: str) -> str:
        return os.path.normpath(os.path.join(build_root.path, path))

    pkg_dir = absolute(request.directory)
    hash_path = absolute(request.hash_path) if request.hash_path is not None else pkg_dir
    workdirs = set()
    if request.hash_commit == "HEAD" and not request.hash_override:
        workdir = git_state.find_workdir(hash_path)
        if workdir:
            workdirs.add(workdir)
    statuses = await MultiGet(Get(GitStatus, GitStatusRequest(w)) for w in sorted(workdirs))
    repos = git_state.RepoCache({s.workdir: s.flags for s in statuses})
    try:
        git_hash = git_state.package_git_hash(
            repos,
            pkg_dir,
            extra_source_dirs=tuple(absolute(d) for d in request.extra_source_dirs),
            hash_commit=request.hash_commit,
            hash_path=hash_path,
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
