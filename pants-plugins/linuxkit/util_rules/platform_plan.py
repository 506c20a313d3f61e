"""Where each platform of a package comes from: the linuxkit cache, its registry, or a build
(linuxkit's `buildArch`: cache first, then the registry, unless forced)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from linuxkit.util_rules.linuxkit_cache import CachedPlatform, CachedPlatformRequest
from linuxkit.util_rules.remote_image import RemotePlatform, RemotePlatformRequest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel


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
    cached: FrozenDict[str, str]  # platform -> manifest digest in the linuxkit cache
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
    in_cache = {p: c.digest for p, c in zip(request.platforms, cached) if c.digest}
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
