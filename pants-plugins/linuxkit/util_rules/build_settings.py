"""What one package's build is given, the same for each platform: build args, labels, network
mode and cache use (linuxkit's `pkglib/build.go`), and the packages it references."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Tuple

from linuxkit.pkglib.build_args import (
    LKT_PREFIX,
    PROXY_VARS,
    mask_proxy_credentials,
    preset_build_args,
    resolve_build_args,
    split_build_arg,
)
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import LinuxkitBuildYmlField, LinuxkitPackageDependenciesField
from linuxkit.util_rules.git_hash import SourceDateEpoch, SourceDateEpochRequest
from linuxkit.util_rules.tag import LinuxkitOverrides, LinuxkitTag, LinuxkitTagRequest, hashed_dirs
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import DigestContents, PathGlobs
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import DependenciesRequest, Targets, WrappedTarget, WrappedTargetRequest
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

LINUXKIT_VERSION_LABEL = "unknown"  # what a `go install`ed linuxkit CLI writes


@dataclass(frozen=True)
class ReferencedPackagesRequest:
    address: Address


@dataclass(frozen=True)
class ReferencedPackages:
    """linuxkit packages this one depends on: directory -> (`org/image`, `org/image:tag`)."""

    names: FrozenDict[str, Tuple[str, str]]
    # canonical names (with and without overrides, also `<tag>-<arch>`) -> (address, arch or "")
    addresses: FrozenDict[str, Tuple[Address, str]]


@rule(desc="Find referenced linuxkit packages", level=LogLevel.DEBUG)
async def referenced_packages(request: ReferencedPackagesRequest) -> ReferencedPackages:
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


@dataclass(frozen=True)
class BuildArgFileRequest:
    path: str  # relative to the build root


@dataclass(frozen=True)
class BuildArgFile:
    args: FrozenDict[str, str]


@rule(desc="Read a build arg file", level=LogLevel.DEBUG)
async def read_build_arg_file(request: BuildArgFileRequest) -> BuildArgFile:
    where = f"[linuxkit].build_arg_file: {request.path}"
    path = os.path.normpath(request.path)
    if os.path.isabs(path) or path.startswith(".."):
        raise LinuxkitError(f"{where}: must be a file inside the build root")
    contents = await Get(DigestContents, PathGlobs([path]))
    if not contents:
        raise LinuxkitError(f"{where}: no such file")
    args = {}
    for number, line in enumerate(contents[0].content.decode("utf-8", "replace").splitlines(), 1):
        line = line.strip()
        if line.split("=", 1)[-1].startswith(LKT_PREFIX):
            raise LinuxkitError(f"{where}:{number}: `{LKT_PREFIX}` values belong in build.yml buildArgs")
        key, value = split_build_arg(line, f"{where}:{number}")
        args[key.strip()] = value.strip()
    return BuildArgFile(FrozenDict(args))


@dataclass(frozen=True)
class BuildSettingsRequest:
    address: Address


@dataclass(frozen=True)
class BuildSettings:
    tag: LinuxkitTag
    referenced: ReferencedPackages
    build_args: FrozenDict[str, str]  # proxy passwords masked: what process keys and output hold
    labels: FrozenDict[str, str]
    network: bool  # RUN steps reach the network
    no_cache: bool  # BuildKit's cache is not used
    ssh: Tuple[str, ...] = ()  # buildctl `--ssh` specs
    rewrite_timestamp: bool = False  # BuildKit clamps layer timestamps to SOURCE_DATE_EPOCH
    # The real values of the masked proxy args, only for the build itself (buildctl.py).
    proxy_credentials: FrozenDict[str, str] = field(default=FrozenDict(), repr=False)

    @property
    def dockerfile(self) -> str:
        return self.tag.info.definition.dockerfile


def package_labels(tag: LinuxkitTag) -> dict[str, str]:
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


@rule(desc="Compute a linuxkit package's build args", level=LogLevel.DEBUG)
async def build_settings(
    request: BuildSettingsRequest, linuxkit: LinuxkitSubsystem, overrides: LinuxkitOverrides
) -> BuildSettings:
    tag, referenced, env = await MultiGet(
        Get(LinuxkitTag, LinuxkitTagRequest(request.address)),
        Get(ReferencedPackages, ReferencedPackagesRequest(request.address)),
        Get(EnvironmentVars, EnvironmentVarsRequest(PROXY_VARS)),
    )
    info = tag.info
    epoch = (
        await Get(
            SourceDateEpoch,
            SourceDateEpochRequest(hashed_dirs(info, overrides), tag.git.revision, tag.git.pkg_hash),
        )
        if linuxkit.reproducible
        else None
    )
    user_args = resolve_build_args(
        info.definition.build_args or (), info.directory, f"{info.build_yml_path}: buildArgs",
        package_names=referenced.names,
    )  # fmt: skip
    files = await MultiGet(Get(BuildArgFile, BuildArgFileRequest(path)) for path in linuxkit.build_arg_file)
    for file in files:
        user_args.update(file.args)
    for entry in linuxkit.build_args:
        key, value = split_build_arg(entry.strip(), "[linuxkit].build_args")
        user_args[key.strip()] = value.strip()
    presets = {
        "SOURCE": info.definition.gitrepo,
        "REVISION": tag.git.revision if tag.git.in_git and not tag.git.dirty else "",
        "GOPKGVERSION": tag.git.go_pkg_version,
        "PKG_HASH": tag.git.pkg_hash,
        "PKG_IMAGE": tag.name.repository,
        "SOURCE_DATE_EPOCH": str(epoch.seconds) if epoch else "",
    }
    build_args, proxy_credentials = mask_proxy_credentials(
        preset_build_args(user_args, presets, {k: env[k] for k in PROXY_VARS if k in env})
    )
    return BuildSettings(
        tag=tag,
        referenced=referenced,
        build_args=FrozenDict(build_args),
        proxy_credentials=FrozenDict(proxy_credentials),
        labels=FrozenDict(package_labels(tag)),
        network=bool(info.definition.network if linuxkit.network is None else linuxkit.network),
        no_cache=bool(
            info.definition.disable_cache if linuxkit.disable_cache is None else linuxkit.disable_cache
        ),
        ssh=tuple(linuxkit.ssh),
        rewrite_timestamp=bool(linuxkit.reproducible),
    )


def rules():
    return collect_rules()
