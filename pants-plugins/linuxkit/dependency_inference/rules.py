"""Inferred dependencies of `linuxkit_package` and `linuxkit_image` targets.

A package depends on the packages its `@lkt:pkg:<path>` / `@lkt:pkgs:<glob>` build args name, on
the in-repo packages its Dockerfile pins (`FROM org/image:<tag>` and the other forms
`pins.dockerfile_images` reads), and on the owners of its `extra-sources` files (they are in its
tag). An image yml depends on every in-repo package it pins. So `pants dependents --transitive
pkg/alpine:` lists what must be rebuilt or re-pinned when pkg/alpine changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional, Tuple

from linuxkit.pkglib import pins
from linuxkit.pkglib.build_args import glob_matches, lkt_reference
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.target_types import (
    LinuxkitBuildYmlField,
    LinuxkitImageDependenciesField,
    LinuxkitImageSourceField,
    LinuxkitPackageDependenciesField,
)
from linuxkit.util_rules.package_info import LinuxkitPackageInfo, LinuxkitPackageInfoRequest
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents, PathGlobs, Paths
from pants.engine.internals.graph import Owners, OwnersRequest
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.engine.target import (
    AllTargets,
    FieldSet,
    HydratedSources,
    HydrateSourcesRequest,
    InferDependenciesRequest,
    InferredDependencies,
)
from pants.engine.unions import UnionRule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class AllLinuxkitPackages:
    by_directory: FrozenDict[str, Address]


@rule(desc="Find all linuxkit packages", level=LogLevel.DEBUG)
async def all_linuxkit_packages(all_targets: AllTargets) -> AllLinuxkitPackages:
    return AllLinuxkitPackages(
        FrozenDict(
            {t.address.spec_path: t.address for t in all_targets if t.has_field(LinuxkitBuildYmlField)}
        )
    )


@dataclass(frozen=True)
class MaybePackageInfoRequest:
    address: Address


@dataclass(frozen=True)
class MaybePackageInfo:
    info: Optional[LinuxkitPackageInfo]  # None: its build.yml is invalid (reported when built)


@rule(level=LogLevel.DEBUG)
async def maybe_package_info(request: MaybePackageInfoRequest) -> MaybePackageInfo:
    try:
        return MaybePackageInfo(await Get(LinuxkitPackageInfo, LinuxkitPackageInfoRequest(request.address)))
    except LinuxkitError:
        return MaybePackageInfo(None)


@dataclass(frozen=True)
class LinuxkitPackageIndex:
    """Every readable package, and the package producing each `org/image` (build.yml's org and
    image, no [linuxkit] overrides: pins name what build.yml says). An `org/image` that several
    packages produce is left out: no pin to it is inferred or rewritten."""

    infos: Tuple[LinuxkitPackageInfo, ...]
    by_repository: FrozenDict[str, Address]


@rule(desc="Index linuxkit packages by image", level=LogLevel.DEBUG)
async def linuxkit_package_index(packages: AllLinuxkitPackages) -> LinuxkitPackageIndex:
    maybe = await MultiGet(
        Get(MaybePackageInfo, MaybePackageInfoRequest(a)) for a in packages.by_directory.values()
    )
    infos = tuple(m.info for m in maybe if m.info is not None)
    producers: dict[str, list[Address]] = {}
    for info in infos:
        repository = f"{info.definition.org}/{info.definition.image}"
        producers.setdefault(repository, []).append(info.address)
    return LinuxkitPackageIndex(
        infos,
        FrozenDict({repo: addrs[0] for repo, addrs in producers.items() if len(addrs) == 1}),
    )


def pinned_packages(index: LinuxkitPackageIndex, refs) -> set[Address]:
    found = set()
    for ref in refs:
        address = index.by_repository.get(pins.short_repository(ref.repository))
        if address is not None:
            found.add(address)
    return found


@dataclass(frozen=True)
class LinuxkitDependenciesInferenceFieldSet(FieldSet):
    required_fields = (LinuxkitBuildYmlField, LinuxkitPackageDependenciesField)

    build_yml: LinuxkitBuildYmlField
    dependencies: LinuxkitPackageDependenciesField


class InferLinuxkitPackageDependencies(InferDependenciesRequest):
    infer_from = LinuxkitDependenciesInferenceFieldSet


def lkt_dependencies(info: LinuxkitPackageInfo, packages: AllLinuxkitPackages) -> set[Address]:
    where = f"{info.build_yml_path}: buildArgs"
    found: set[Address] = set()
    for entry in info.definition.build_args or ():
        ref = lkt_reference(entry, info.directory, where)
        if ref is None:
            continue
        if ref.kind == "pkg":
            if ref.path not in packages.by_directory:
                raise LinuxkitError(f'{where}: "{entry}": no linuxkit_package at "{ref.path or "."}"')
            found.add(packages.by_directory[ref.path])
        else:
            matches = glob_matches(ref.path, packages.by_directory)
            if not matches:
                raise LinuxkitError(f'{where}: no packages found matching path "{ref.path}"')
            found.update(packages.by_directory[d] for d in matches)
    return found


@rule(desc="Infer linuxkit package dependencies", level=LogLevel.DEBUG)
async def infer_linuxkit_dependencies(
    request: InferLinuxkitPackageDependencies,
    packages: AllLinuxkitPackages,
    index: LinuxkitPackageIndex,
) -> InferredDependencies:
    info = await Get(LinuxkitPackageInfo, LinuxkitPackageInfoRequest(request.field_set.address))
    found = lkt_dependencies(info, packages)

    dockerfile = os.path.normpath(os.path.join(info.directory, info.definition.dockerfile))
    extra_dirs = [os.path.normpath(os.path.join(info.directory, s.src)) for s in info.definition.extra_sources]
    dockerfile_contents, extra_files = await MultiGet(
        Get(DigestContents, PathGlobs([dockerfile])),
        Get(Paths, PathGlobs([f"{d}/**" for d in extra_dirs if not d.startswith("../")])),
    )
    extra_owners = await Get(Owners, OwnersRequest(extra_files.files)) if extra_files.files else ()
    for entry in dockerfile_contents:  # a missing Dockerfile is reported when the package builds
        text = entry.content.decode("utf-8", "replace")
        found |= pinned_packages(index, pins.dockerfile_images(text, entry.path))
    found.update(extra_owners)
    found.discard(request.field_set.address)
    return InferredDependencies(sorted(found))


@dataclass(frozen=True)
class LinuxkitImageInferenceFieldSet(FieldSet):
    required_fields = (LinuxkitImageSourceField, LinuxkitImageDependenciesField)

    source: LinuxkitImageSourceField
    dependencies: LinuxkitImageDependenciesField


class InferLinuxkitImageDependencies(InferDependenciesRequest):
    infer_from = LinuxkitImageInferenceFieldSet


@rule(desc="Infer the packages a linuxkit image yml pins", level=LogLevel.DEBUG)
async def infer_linuxkit_image_dependencies(
    request: InferLinuxkitImageDependencies, index: LinuxkitPackageIndex
) -> InferredDependencies:
    sources = await Get(HydratedSources, HydrateSourcesRequest(request.field_set.source))
    found: set[Address] = set()
    for entry in await Get(DigestContents, PathGlobs(sources.snapshot.files)):
        found |= pinned_packages(index, pins.references(entry.content.decode("utf-8", "replace"), entry.path))
    return InferredDependencies(sorted(found))


def rules():
    return [
        *collect_rules(),
        UnionRule(InferDependenciesRequest, InferLinuxkitPackageDependencies),
        UnionRule(InferDependenciesRequest, InferLinuxkitImageDependencies),
    ]
