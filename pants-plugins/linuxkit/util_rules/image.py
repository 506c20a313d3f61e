"""Builds a package: its settings (build_settings), where each platform comes from
(platform_plan), a BuildKit build per missing platform (buildctl), then one OCI layout and
archive with the multi-arch index (oci_index), written into the linuxkit cache.

Each per-platform `buildctl build` is an ordinary cacheable process whose output, an OCI tar,
is the product: a second `pants package` of an unchanged package runs no BuildKit solve."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Tuple

from linuxkit.pkglib import pins
from linuxkit.pkglib.build_args import dockerfile_base_images
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.names import reference_expand
from linuxkit.pkglib.platforms import select_platforms
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.build_context import BuildContext, BuildContextRequest
from linuxkit.util_rules.build_settings import BuildSettings, BuildSettingsRequest, ReferencedPackages
from linuxkit.util_rules.buildctl import BaseImage, BuiltPlatform, PlatformBuildRequest
from linuxkit.util_rules.linuxkit_cache import (
    ExportedFromCache,
    ExportFromCacheRequest,
    WriteToCacheRequest,
    WrittenToCache,
)
from linuxkit.util_rules.oci_index import OciIndex, OciIndexRequest
from linuxkit.util_rules.platform_plan import PlatformPlan, PlatformPlanRequest, platform_arch
from linuxkit.util_rules.registry_mirrors import RegistryMirrors
from linuxkit.util_rules.remote_image import PullAttestationsRequest, PullPlatformRequest
from linuxkit.util_rules.tag import LinuxkitOverrides, LinuxkitTag
from pants.engine.addresses import Address
from pants.engine.fs import AddPrefix, Digest, MergeDigests
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class LinuxkitImageRequest:
    address: Address


@dataclass(frozen=True)
class LinuxkitImage:
    tag: LinuxkitTag
    platforms: Tuple[str, ...]
    built: Tuple[str, ...]  # platforms built by BuildKit (the rest: the linuxkit cache or registry)
    pulled: Tuple[str, ...]  # platforms taken from the registry
    layout: Digest  # `layout/`: an OCI layout naming the index and each `<name>-<arch>`
    archive: Digest  # `image.oci.tar`: the same, as an OCI archive
    index_digest: str
    manifests: FrozenDict[str, str]  # platform -> image manifest digest


def inputs_fingerprint(referenced: ReferencedPackages, base_images) -> str:
    """What a package's image depends on beyond its own tag: the packages it references (their
    tags reach it as build args, their images as bases). "" when it references none."""
    if not referenced.names and not base_images:
        return ""
    facts = {"tags": sorted(referenced.names.values()), "bases": sorted(i.index_digest for i in base_images)}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


@rule(desc="Build a linuxkit package", level=LogLevel.DEBUG)
async def build_linuxkit_image(
    request: LinuxkitImageRequest,
    linuxkit: LinuxkitSubsystem,
    overrides: LinuxkitOverrides,
    mirrors: RegistryMirrors,
) -> LinuxkitImage:
    settings = await Get(BuildSettings, BuildSettingsRequest(request.address))
    tag, referenced = settings.tag, settings.referenced
    name = tag.name
    if overrides.hash_commit != "HEAD":
        raise LinuxkitError(f"{name.short}: cannot build from commit hash != HEAD")
    platforms = select_platforms(tag.info.definition.arches, linuxkit.platforms, linuxkit.skip_platforms)
    context = await Get(BuildContext, BuildContextRequest(tag.info))

    # Base images that are referenced packages come from their own builds (chained builds).
    from_images = dockerfile_base_images(context.dockerfile_text, settings.build_args)
    # Also the images of `COPY --from=` and `RUN --mount=from=` (named contexts apply to them too).
    pinned = [f"{r.repository}:{r.tag}" for r in pins.dockerfile_images(context.dockerfile_text, "Dockerfile")]
    bases = {
        base: referenced.addresses[reference_expand(base)]
        for base in dict.fromkeys([*from_images, *pinned])
        if reference_expand(base) in referenced.addresses
    }
    # The rest BuildKit pulls: through the registry mirror, as named contexts.
    mirrored_bases = tuple(
        (base, mirrors.read_location(base)[0])
        for base in dict.fromkeys(from_images)
        if base not in bases and mirrors.read_location(base)[0] != base
    )
    base_images = await MultiGet(
        Get(LinuxkitImage, LinuxkitImageRequest(address)) for address, _ in bases.values()
    )
    inputs = inputs_fingerprint(referenced, base_images)
    plan = await Get(
        PlatformPlan, PlatformPlanRequest(name.canonical, tuple(platforms), inputs, linuxkit.force)
    )

    layouts = await MultiGet(
        Get(Digest, AddPrefix(image.layout, f"__bases/{i}")) for i, image in enumerate(base_images)
    )
    build_input = await Get(Digest, MergeDigests([context.digest, *layouts]))
    # A `<tag>-<arch>` pin names that platform's image manifest, any other the index.
    base_refs = tuple(
        BaseImage(base, f"__bases/{i}/layout",
                  image.manifests.get(f"linux/{arch}", image.index_digest) if arch else image.index_digest)
        for i, ((base, (_, arch)), image) in enumerate(zip(bases.items(), base_images))
    )  # fmt: skip
    force = uuid.uuid4().hex if linuxkit.force else ""
    built = await MultiGet(
        Get(
            BuiltPlatform,
            PlatformBuildRequest(
                name=name.canonical, short=name.short, address=request.address,
                build_yml=tag.info.build_yml_path,
                platform=platform, dockerfile=context.dockerfile,
                build_args=settings.build_args, labels=settings.labels,
                network=settings.network, no_cache=settings.no_cache,
                bases=base_refs, mirrored_bases=mirrored_bases, input_digest=build_input,
                force=force, ssh=settings.ssh, proxy_credentials=settings.proxy_credentials,
                rewrite_timestamp=settings.rewrite_timestamp,
            ),  # fmt: skip
        )
        for platform in plan.to_build
    )
    from_registry = await MultiGet(
        Get(Digest, PullPlatformRequest(name.canonical, platform_arch(p), digest, f"{platform_arch(p)}.tar"))
        for p, digest in plan.published.items()
    )
    from_registry += await MultiGet(
        Get(Digest, PullAttestationsRequest(name.canonical, platform_arch(p), digest, f"{platform_arch(p)}.att.tar"))
        for p, digest in plan.published.items()
    )
    built_tars = {p: b.digest for p, b in zip(plan.to_build, built)}
    if built_tars:
        tars = tuple(f"{platform_arch(p)}.tar" for p in built_tars)
        written = await Get(
            WrittenToCache,
            WriteToCacheRequest(name.canonical, inputs, tars, await Get(Digest, MergeDigests(built_tars.values()))),
        )
        # Take the built platforms back out of the cache, as the next run (finding them there)
        # will: the archive then comes from the same processes, and that run has nothing to do.
        again = await MultiGet(
            Get(ExportedFromCache, ExportFromCacheRequest(name.canonical, platform_arch(p), written.images.get(tar, ""), tar))
            for p, tar in zip(built_tars, tars)
        )
        built_tars.update({p: e.digest for p, e in zip(list(built_tars), again) if e.digest is not None})
    all_tars = await Get(
        Digest, MergeDigests([*built_tars.values(), *plan.from_cache.values(), *from_registry])
    )

    index = await Get(OciIndex, OciIndexRequest(name.canonical, tuple(platforms), all_tars))
    return LinuxkitImage(
        tag=tag,
        platforms=tuple(platforms),
        built=plan.to_build,
        pulled=tuple(plan.published),
        layout=index.layout,
        archive=index.archive,
        index_digest=index.digest,
        manifests=index.manifests,
    )


def rules():
    return collect_rules()
