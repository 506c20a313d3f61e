"""Builds a package: every platform with BuildKit (or taken from the linuxkit cache when it is
already there), then one OCI layout and archive with the multi-arch index, as linuxkit's
src/cmd/linuxkit/pkglib/build.go does.

Each per-platform `buildctl build` is an ordinary cacheable process whose output, an OCI tar,
is the product: a second `pants package` of an unchanged package runs no BuildKit solve."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Tuple

from linuxkit.pkglib.build_args import (
    PROXY_VARS,
    dockerfile_base_images,
    preset_build_args,
    resolve_build_args,
    split_build_arg,
)
from linuxkit.pkglib import pins
from linuxkit.pkglib.buildctl_args import csv_option, key_value
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.names import reference_expand
from linuxkit.pkglib.platforms import select_platforms
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import LinuxkitBuildYmlField, LinuxkitPackageDependenciesField
from linuxkit.util_rules.build_context import BuildContext, BuildContextRequest
from linuxkit.util_rules.builders import PlatformBuilder, PlatformBuilderRequest
from linuxkit.util_rules.buildkit_tools import TOOLS_DIR, BuildkitTools
from linuxkit.util_rules.linuxkit_cache import (
    CachedPlatform,
    CachedPlatformRequest,
    ExportedFromCache,
    ExportFromCacheRequest,
    WriteToCacheRequest,
    WrittenToCache,
)
from linuxkit.util_rules.oci_runner import PkglibRunner
from linuxkit.util_rules.remote_image import PullPlatformRequest, RemotePlatform, RemotePlatformRequest
from linuxkit.util_rules.tag import LinuxkitOverrides, LinuxkitTag, LinuxkitTagRequest
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import (
    AddPrefix,
    Digest,
    DigestContents,
    DigestSubset,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
)
from pants.engine.process import FallibleProcessResult, Process, ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import DependenciesRequest, Targets, WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

logger = logging.getLogger(__name__)

LINUXKIT_VERSION_LABEL = "unknown"  # what a `go install`ed linuxkit CLI writes


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


@dataclass(frozen=True)
class ReferencedPackages:
    """linuxkit packages this one depends on: directory -> (`org/image`, `org/image:tag`)."""

    names: FrozenDict[str, Tuple[str, str]]
    # canonical names (with and without overrides, also `<tag>-<arch>`) -> (address, arch or "")
    addresses: FrozenDict[str, Tuple[Address, str]]


@rule(desc="Find referenced linuxkit packages", level=LogLevel.DEBUG)
async def referenced_packages(request: LinuxkitImageRequest) -> ReferencedPackages:
    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(request.address, description_of_origin="linuxkit")
    )
    deps = await Get(Targets, DependenciesRequest(wrapped.target[LinuxkitPackageDependenciesField]))
    packages = [t for t in deps if t.has_field(LinuxkitBuildYmlField)]
    plain = await MultiGet(
        Get(LinuxkitTag, LinuxkitTagRequest(t.address, with_overrides=False)) for t in packages
    )
    overridden = await MultiGet(Get(LinuxkitTag, LinuxkitTagRequest(t.address)) for t in packages)
    names = {tag.info.directory: (tag.name.repository, tag.name.short) for tag in plain}
    addresses = {}
    for target, a, b in zip(packages, plain, overridden):
        for tag in (a, b):
            addresses[tag.name.canonical] = (target.address, "")
            for arch in tag.info.definition.arches:  # a pin may name one platform's image
                addresses[f"{tag.name.canonical}-{arch}"] = (target.address, arch)
    return ReferencedPackages(FrozenDict(names), FrozenDict(addresses))


def _arch(platform: str) -> str:
    return platform.split("/", 1)[1]


def _labels(tag: LinuxkitTag) -> dict[str, str]:
    git, definition = tag.git, tag.info.definition
    labels = {}
    if git.in_git and definition.gitrepo:
        labels["org.opencontainers.image.source"] = definition.gitrepo
    if git.in_git and not git.dirty:
        labels["org.opencontainers.image.revision"] = git.revision
    if definition.config_label is not None:
        labels["org.mobyproject.config"] = definition.config_label
    labels["org.mobyproject.linuxkit.version"] = LINUXKIT_VERSION_LABEL
    labels["org.mobyproject.linuxkit.revision"] = LINUXKIT_VERSION_LABEL
    return labels


def _inputs_fingerprint(referenced: ReferencedPackages, base_images) -> str:
    """What a package's image depends on beyond its own tag: the packages it references (their
    tags reach it as build args, their images as bases). "" when it references none."""
    if not referenced.names and not base_images:
        return ""
    facts = {"tags": sorted(referenced.names.values()), "bases": sorted(i.index_digest for i in base_images)}
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


OWN_BUILDKITD = "buildkitd (the backend's own)"
_UNREACHABLE = ("connection refused", "no such file or directory", "connection reset",
                "i/o timeout", "no route to host", "failed to dial", "transport: error")  # fmt: skip


def _build_failure(stderr: str, platform: str, builder: PlatformBuilder) -> str:
    """One line for a builder that cannot be reached or cannot emulate, else the log's tail."""
    lines = stderr.strip().splitlines()
    last = lines[-1] if lines else "no output"
    if ".buildkit_qemu_emulator" in stderr or "exec format error" in stderr:
        return (
            f"buildkit was unable to emulate {platform}. check binfmt has been set up and works "
            "for this platform (qemu-user-static)"
        )
    if not any(line.startswith("#") for line in lines) and any(u in stderr.lower() for u in _UNREACHABLE):
        return f"cannot reach the builder {builder.name or OWN_BUILDKITD}: {last}"
    tail = "\n".join(lines[-15:])
    return f"build failed; BuildKit's log ends with:\n{tail}"


@rule(desc="Build a linuxkit package", level=LogLevel.DEBUG)
async def build_linuxkit_image(
    request: LinuxkitImageRequest,
    linuxkit: LinuxkitSubsystem,
    overrides: LinuxkitOverrides,
    runner: PkglibRunner,
) -> LinuxkitImage:
    tag = await Get(LinuxkitTag, LinuxkitTagRequest(request.address))
    info, name = tag.info, tag.name
    where = info.build_yml_path
    if overrides.hash_commit != "HEAD":
        raise LinuxkitError(f"{name.short}: cannot build from commit hash != HEAD")
    platforms = select_platforms(info.definition.arches, linuxkit.platforms, linuxkit.skip_platforms)

    context, referenced, env = await MultiGet(
        Get(BuildContext, BuildContextRequest(info)),
        Get(ReferencedPackages, LinuxkitImageRequest(request.address)),
        Get(EnvironmentVars, EnvironmentVarsRequest(PROXY_VARS)),
    )
    user_args = resolve_build_args(
        info.definition.build_args or (), info.directory, f"{where}: buildArgs",
        package_names=referenced.names,
    )  # fmt: skip
    presets = {
        "SOURCE": info.definition.gitrepo,
        "REVISION": tag.git.revision if tag.git.in_git and not tag.git.dirty else "",
        "GOPKGVERSION": tag.git.go_pkg_version,
        "PKG_HASH": tag.git.pkg_hash,
        "PKG_IMAGE": name.repository,
    }
    for entry in linuxkit.build_args:
        key, value = split_build_arg(entry.strip(), "[linuxkit].build_args")
        user_args[key.strip()] = value.strip()
    build_args = preset_build_args(user_args, presets, {k: env[k] for k in PROXY_VARS if k in env})

    # Base images that are referenced packages come from their own builds (chained builds).
    # Also the images of `COPY --from=` and `RUN --mount=from=` (named contexts apply to them too).
    pinned = [f"{r.repository}:{r.tag}" for r in pins.dockerfile_images(context.dockerfile_text, "Dockerfile")]
    bases = {
        base: referenced.addresses[reference_expand(base)]
        for base in dict.fromkeys([*dockerfile_base_images(context.dockerfile_text, build_args), *pinned])
        if reference_expand(base) in referenced.addresses
    }
    base_images = await MultiGet(
        Get(LinuxkitImage, LinuxkitImageRequest(address)) for address, _ in bases.values()
    )

    force = {"LINUXKIT_FORCE": uuid.uuid4().hex} if linuxkit.force else {}
    inputs = _inputs_fingerprint(referenced, base_images)
    cached = await MultiGet(
        Get(CachedPlatform, CachedPlatformRequest(name.canonical, _arch(p), inputs))
        for p in platforms
    )
    hits = [(p, c.digest) for p, c in zip(platforms, cached) if not force and c.digest]
    exported = await MultiGet(
        Get(ExportedFromCache, ExportFromCacheRequest(name.canonical, _arch(p), digest, f"{_arch(p)}.tar"))
        for p, digest in hits
    )
    from_cache = {p: e.digest for (p, _), e in zip(hits, exported) if e.digest is not None}
    for (platform, _), e in zip(hits, exported):
        if e.digest is None:
            logger.warning(f"{name.short} {platform}: the linuxkit cache entry is unusable "
                           f"({e.error}); building it instead")  # fmt: skip
    missing = [p for p in platforms if p not in from_cache]
    remote = await MultiGet(
        Get(RemotePlatform, RemotePlatformRequest(name.canonical, _arch(p)))
        for p in (missing if not force and not inputs else [])
    )
    published = {p: r.digest for p, r in zip(missing, remote) if r.digest}
    to_build = [p for p in missing if p not in published]

    tools = await Get(BuildkitTools) if to_build else None
    builders = await MultiGet(Get(PlatformBuilder, PlatformBuilderRequest(p)) for p in to_build)
    layouts = await MultiGet(
        Get(Digest, AddPrefix(image.layout, f"__bases/{i}")) for i, image in enumerate(base_images)
    )
    build_input = await Get(Digest, MergeDigests([context.digest, *layouts]))

    named_contexts: list[str] = []
    for i, ((base, (_, arch)), image) in enumerate(zip(bases.items(), base_images)):
        digest = image.manifests.get(f"linux/{arch}", image.index_digest) if arch else image.index_digest
        named_contexts += ["--oci-layout", f"base{i}=__bases/{i}/layout", "--opt",
                           key_value(f"context:{base}", f"oci-layout://base{i}@{digest}", f"{where}: dockerfile")]  # fmt: skip

    def buildctl_argv(platform: str) -> list[str]:
        arch = _arch(platform)
        argv = [tools.buildctl, "build", "--progress=plain", "--frontend=dockerfile.v0",  # type: ignore[union-attr]
                "--local", "context=context", "--local", "dockerfile=context",
                "--opt", key_value("filename", context.dockerfile, f"{where}: dockerfile"),
                "--opt", f"platform={platform}"]  # fmt: skip
        for key, value in sorted(build_args.items()):
            argv += ["--opt", key_value(f"build-arg:{key}", value, f"{where}: buildArgs")]
        for key, value in sorted(_labels(tag).items()):
            argv += ["--opt", key_value(f"label:{key}", value, f"{where}: label {key}")]
        argv += ["--opt", f"force-network-mode={'sandbox' if info.definition.network else 'none'}"]
        if info.definition.disable_cache:
            argv.append("--no-cache")
        argv += named_contexts
        output = [("type", "oci"), ("dest", f"{arch}.tar"), ("name", f"{name.canonical}-{arch}")]
        argv += ["--output", csv_option(output, f"{where}: tag")]
        return argv

    results = await MultiGet(
        Get(
            FallibleProcessResult,
            Process(
                argv=buildctl_argv(platform),
                env={**tools.env, **builder.env, **force},  # type: ignore[union-attr]
                input_digest=build_input,
                immutable_input_digests={TOOLS_DIR: tools.digest},  # type: ignore[union-attr]
                append_only_caches=tools.append_only_caches,  # type: ignore[union-attr]
                output_files=(f"{_arch(platform)}.tar",),
                description=f"Building {name.short} for {platform}",
                level=LogLevel.INFO,
            ),
        )
        for platform, builder in zip(to_build, builders)
    )
    for platform, builder, result in zip(to_build, builders, results):
        if result.exit_code != 0:
            raise LinuxkitError(
                f"{name.short} ({request.address}) {platform}: "
                + _build_failure(result.stderr.decode(errors="replace"), platform, builder)
            )

    from_registry = await MultiGet(
        Get(Digest, PullPlatformRequest(name.canonical, _arch(p), digest,
                                        f"{_arch(p)}.tar"))  # fmt: skip
        for p, digest in published.items()
    )
    built = {p: r.output_digest for p, r in zip(to_build, results)}
    if built:
        built_tars = tuple(f"{_arch(p)}.tar" for p in built)
        written = await Get(
            WrittenToCache,
            WriteToCacheRequest(name.canonical, inputs, built_tars, await Get(Digest, MergeDigests(built.values()))),
        )
        # Take the built platforms back out of the cache, as the next run (finding them there)
        # will: the archive then comes from the same processes, and that run has nothing to do.
        again = await MultiGet(
            Get(ExportedFromCache, ExportFromCacheRequest(name.canonical, _arch(p), written.images.get(tar, ""), tar))
            for p, tar in zip(built, built_tars)
        )
        built.update({p: e.digest for p, e in zip(list(built), again) if e.digest is not None})
    tars = await Get(Digest, MergeDigests([*built.values(), *from_cache.values(), *from_registry]))

    assemble_input = await Get(Digest, MergeDigests([runner.digest, tars]))
    assembled = await Get(
        ProcessResult,
        Process(
            argv=runner.shareable_argv("assemble", name.canonical, "out",
                                       *(f"{_arch(p)}={_arch(p)}.tar" for p in platforms)),  # fmt: skip
            env=runner.env,
            append_only_caches=runner.append_only_caches,
            input_digest=assemble_input,
            output_directories=("out",),
            description=f"Assemble the multi-arch index of {name.short}",
            level=LogLevel.DEBUG,
        ),
    )
    summary_contents = await Get(
        DigestContents, DigestSubset(assembled.output_digest, PathGlobs(["out/summary.json"]))
    )
    summary = json.loads(summary_contents[0].content)
    output = await Get(Digest, RemovePrefix(assembled.output_digest, "out"))
    layout, archive = await MultiGet(
        Get(Digest, DigestSubset(output, PathGlobs(["layout/**"]))),
        Get(Digest, DigestSubset(output, PathGlobs(["image.oci.tar"]))),
    )
    return LinuxkitImage(
        tag=tag,
        platforms=tuple(platforms),
        built=tuple(to_build),
        pulled=tuple(published),
        layout=layout,
        archive=archive,
        index_digest=summary["index"]["digest"],
        manifests=FrozenDict(
            {f"linux/{arch}": descs[0]["digest"] for arch, descs in summary["platforms"].items()}
        ),
    )


def rules():
    return collect_rules()
