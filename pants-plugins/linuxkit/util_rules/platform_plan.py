"""Where each platform of a package comes from: the linuxkit cache, its registry, or a build
(linuxkit's `buildArch`: cache first, then the registry, unless forced). A cache entry that turns
out unusable when exported (a corrupt or vanished blob) is built instead, with a warning."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Tuple

from linuxkit.util_rules.linuxkit_cache import (
    CachedPlatform,
    CachedPlatformRequest,
    ExportedFromCache,
    ExportFromCacheRequest,
)
from linuxkit.util_rules.remote_image import RemotePlatform, RemotePlatformRequest
from pants.engine.fs import Digest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel


logger = logging.getLogger(__name__)


def platform_arch(platform: str) -> str:
    return platform.split("/", 1)[1]


@dataclass(frozen=True)
class PlatformPlanRequest:
    name: str  # canonical
    platforms: Tuple[str, ...]
    # What the image depends on beyond its tag (see linuxkit_cache.CachedPlatformRequest);
    # a package with such inputs is never taken from the registry, whose tag does not cover them.
    inputs: str
    force: bool


@dataclass(frozen=True)
class PlatformPlan:
    from_cache: FrozenDict[str, Digest]  # platform -> its OCI tar (`<arch>.tar`), from the linuxkit cache
    published: FrozenDict[str, str]  # platform -> manifest digest in the registry
    to_build: Tuple[str, ...]


@rule(desc="Plan a linuxkit package's platforms", level=LogLevel.DEBUG)
async def platform_plan(request: PlatformPlanRequest) -> PlatformPlan:
    if request.force:
        return PlatformPlan(FrozenDict(), FrozenDict(), request.platforms)
    cached = await MultiGet(
        Get(CachedPlatform, CachedPlatformRequest(request.name, platform_arch(p), request.inputs))
        for p in request.platforms
    )
    hits = [(p, c.digest) for p, c in zip(request.platforms, cached) if c.digest]
    exported = await MultiGet(
        Get(ExportedFromCache,
            ExportFromCacheRequest(request.name, platform_arch(p), digest, f"{platform_arch(p)}.tar"))
        for p, digest in hits
    )  # fmt: skip
    in_cache = {p: e.digest for (p, _), e in zip(hits, exported) if e.digest is not None}
    for (platform, _), e in zip(hits, exported):
        if e.digest is None:
            logger.warning(f"{request.name} {platform}: the linuxkit cache entry is unusable "
                           f"({e.error}); building it instead")  # fmt: skip
    missing = [p for p in request.platforms if p not in in_cache]
    remote = await MultiGet(
        Get(RemotePlatform, RemotePlatformRequest(request.name, platform_arch(p)))
        for p in (missing if not request.inputs else [])
    )
    published = {p: r.digest for p, r in zip(missing, remote) if r.digest}
    return PlatformPlan(
        FrozenDict(in_cache),
        FrozenDict(published),
        tuple(p for p in missing if p not in published),
    )


def rules():
    return collect_rules()
