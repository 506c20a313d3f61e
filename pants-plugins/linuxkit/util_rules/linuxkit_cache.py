"""The linuxkit cache (`~/.linuxkit/cache`) as Pants sees it: `index.json` is checked once per
session (it changes outside Pants) and lookups re-run only for entries that changed; writes
happen in per-session processes after a build."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from linuxkit.pkglib import linuxkit_cache
from linuxkit.pkglib.cache_lookup import EMPTY_SNAPSHOT, IndexSnapshot, current_platform, index_snapshot
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci import Descriptor
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.pkglib_process import PkglibProcess
from linuxkit.util_rules.tool_failure import check_process
from pants.engine.engine_aware import EngineAwareReturnType
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import Digest
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinuxkitCacheDir:
    path: str


@rule
async def linuxkit_cache_dir(linuxkit: LinuxkitSubsystem) -> LinuxkitCacheDir:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["LINUXKIT_CACHE", "HOME"]))
    path = linuxkit.cache or env.get("LINUXKIT_CACHE")
    if not path:
        path = os.path.join(env.get("HOME") or os.path.expanduser("~"), ".linuxkit", "cache")
    return LinuxkitCacheDir(os.path.abspath(os.path.expanduser(path)))


@dataclass(frozen=True)
class CachedPlatformRequest:
    name: str  # canonical, e.g. docker.io/linuxkit/init:<tag>
    arch: str
    # Required inputs fingerprint of the platform (pkglib/cache_lookup.py): what the tag does not
    # cover (the tags of referenced packages). "" when the package references none.
    inputs: str = ""


@dataclass(frozen=True)
class LinuxkitCacheIndex(EngineAwareReturnType):
    """The cache's root entries, read once per run (and parsed only when `index.json` changed).
    Equal from run to run while the cache is unchanged, so nothing that depends on it re-runs."""

    snapshot: IndexSnapshot

    def cacheable(self) -> bool:
        return False


@rule(desc="Read the linuxkit cache index", level=LogLevel.DEBUG)
async def linuxkit_cache_index(cache_dir: LinuxkitCacheDir) -> LinuxkitCacheIndex:
    try:
        return LinuxkitCacheIndex(index_snapshot(cache_dir.path))
    except (LinuxkitError, OSError) as e:
        # Nothing is taken from the cache; writing it after the build reports the problem.
        logger.debug(f"cannot read the linuxkit cache {cache_dir.path}: {e}")
        return LinuxkitCacheIndex(EMPTY_SNAPSHOT)


@dataclass(frozen=True)
class CacheRootRequest:
    name: str


@dataclass(frozen=True)
class CacheRoot:
    entry: Optional[Descriptor]


@rule(desc="Find a linuxkit cache entry", level=LogLevel.TRACE)
async def cache_root(request: CacheRootRequest, index: LinuxkitCacheIndex) -> CacheRoot:
    return CacheRoot(index.snapshot.roots.get(request.name))


@dataclass(frozen=True)
class CachedPlatform:
    """The manifest digest of `name` for `linux/<arch>` when the cache holds all its blobs.

    Memoized while the entry of `name` is unchanged: blobs are content-addressed, and one that
    vanished or rotted since is caught when the platform is exported (it is then rebuilt)."""

    digest: Optional[str]


@rule(desc="Look up the linuxkit cache", level=LogLevel.DEBUG)
async def cached_platform(request: CachedPlatformRequest, cache_dir: LinuxkitCacheDir) -> CachedPlatform:
    root = await Get(CacheRoot, CacheRootRequest(request.name))
    if root.entry is None:
        return CachedPlatform(None)
    cache = linuxkit_cache.LinuxkitCache(Path(cache_dir.path))
    return CachedPlatform(current_platform(cache, root.entry, request.arch, request.inputs))


@dataclass(frozen=True)
class ExportFromCacheRequest:
    name: str
    arch: str
    digest: str  # the manifest found by CachedPlatform: the export's cache key
    output: str


@dataclass(frozen=True)
class ExportedFromCache:
    """The platform's OCI tar, or None (with why) when the cache entry turned out unusable (a
    corrupt or missing blob, or replaced since the lookup)."""

    digest: Optional[Digest]
    error: str = ""


@rule(desc="Take an image from the linuxkit cache", level=LogLevel.DEBUG)
async def export_from_cache(
    request: ExportFromCacheRequest, cache_dir: LinuxkitCacheDir
) -> ExportedFromCache:
    process = await Get(
        Process,
        PkglibProcess(
            args=("cache-export", cache_dir.path, request.name, request.arch, request.digest, request.output),
            output_files=(request.output,),
            description=f"Take {request.name} for linux/{request.arch} from the linuxkit cache",
            # It reads this machine's linuxkit cache, whose path is in its key: memoized by pantsd,
            # never written to the local or remote cache, where no other machine could use it.
            cache_scope=ProcessCacheScope.PER_RESTART_SUCCESSFUL,
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    if result.exit_code != 0:
        return ExportedFromCache(None, result.stderr.decode(errors="replace").strip().replace("\n", " "))
    return ExportedFromCache(result.output_digest)


@dataclass(frozen=True)
class WriteToCacheRequest:
    name: str
    inputs: str
    tars: Tuple[str, ...]
    digest: Digest


@dataclass(frozen=True)
class WrittenToCache:
    index_digest: str
    images: FrozenDict[str, str]  # tar -> the digest of its image manifest


@rule(desc="Write into the linuxkit cache", level=LogLevel.DEBUG)
async def write_to_cache(
    request: WriteToCacheRequest, cache_dir: LinuxkitCacheDir
) -> WrittenToCache:
    process = await Get(
        Process,
        PkglibProcess(
            args=("cache-load", cache_dir.path, request.name, request.inputs, *request.tars),
            input_digest=request.digest,
            description=f"Write {request.name} into the linuxkit cache {cache_dir.path}",
            cache_scope=ProcessCacheScope.PER_SESSION,
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    check_process(result, f"{request.name}: cannot write the linuxkit cache {cache_dir.path}")
    written = json.loads(result.stdout)
    return WrittenToCache(written["index"], FrozenDict(written["images"]))


def rules():
    return collect_rules()
