"""The linuxkit cache (`~/.linuxkit/cache`) as Pants sees it: lookups read it in every session
(it changes outside Pants), writes happen in per-session processes after a build."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

from linuxkit.pkglib import linuxkit_cache
from linuxkit.pkglib.errors import LinuxkitError
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


INPUTS_ANNOTATION = "dev.pants-linuxkit.inputs"


@dataclass(frozen=True)
class CachedPlatformRequest:
    name: str  # canonical, e.g. docker.io/linuxkit/init:<tag>
    arch: str
    # Required value of the entry's inputs annotation: what the tag does not cover (the tags of
    # referenced packages). "" when the package references none: the tag alone decides.
    inputs: str = ""


@dataclass(frozen=True)
class CachedPlatform(EngineAwareReturnType):
    """The manifest digest of `name` for `linux/<arch>` when the cache holds all its blobs."""

    digest: Optional[str]

    def cacheable(self) -> bool:
        return False


@rule(desc="Look up the linuxkit cache", level=LogLevel.DEBUG)
async def cached_platform(request: CachedPlatformRequest, cache_dir: LinuxkitCacheDir) -> CachedPlatform:
    if not os.path.exists(os.path.join(cache_dir.path, "index.json")):
        return CachedPlatform(None)
    cache = linuxkit_cache.LinuxkitCache(Path(cache_dir.path))
    try:
        with linuxkit_cache.locked(cache, required=False):
            if not linuxkit_cache.image_in_cache(cache, request.name, request.arch):
                return CachedPlatform(None)
            root = linuxkit_cache.find_root(cache, request.name)
            if request.inputs and (root is None or root.annotation(INPUTS_ANNOTATION) != request.inputs):
                return CachedPlatform(None)
            found = linuxkit_cache.find_image(cache, request.name, request.arch)
    except (LinuxkitError, OSError):
        return CachedPlatform(None)
    return CachedPlatform(found.digest if found else None)


@dataclass(frozen=True)
class ExportFromCacheRequest:
    name: str
    arch: str
    digest: str  # the manifest found by CachedPlatform: the export's cache key
    output: str


@rule(desc="Take an image from the linuxkit cache", level=LogLevel.DEBUG)
async def export_from_cache(
    request: ExportFromCacheRequest, cache_dir: LinuxkitCacheDir
) -> Digest:
    process = await Get(
        Process,
        PkglibProcess(
            args=("cache-export", cache_dir.path, request.name, request.arch, request.output),
            env=FrozenDict({"MANIFEST_DIGEST": request.digest}),
            output_files=(request.output,),
            description=f"Take {request.name} for linux/{request.arch} from the linuxkit cache",
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    check_process(result, f"{request.name} linux/{request.arch}")
    return result.output_digest


@dataclass(frozen=True)
class WriteToCacheRequest:
    name: str
    inputs: str
    tars: Tuple[str, ...]
    digest: Digest


@dataclass(frozen=True)
class WrittenToCache:
    index_digest: str


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
    return WrittenToCache(result.stdout.decode().strip())


def rules():
    return collect_rules()
