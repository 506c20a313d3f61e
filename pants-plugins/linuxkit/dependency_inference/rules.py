"""Packages named by `@lkt:pkg:<path>` / `@lkt:pkgs:<glob>` build args are dependencies, so
`pants dependents` lists them and a change to one rebuilds the packages that reference it."""

from __future__ import annotations

from dataclasses import dataclass

from linuxkit.pkglib.build_args import glob_matches, lkt_reference
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.target_types import LinuxkitBuildYmlField, LinuxkitPackageDependenciesField
from linuxkit.util_rules.package_info import LinuxkitPackageInfo, LinuxkitPackageInfoRequest
from pants.engine.addresses import Address
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import (
    AllTargets,
    FieldSet,
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
class LinuxkitDependenciesInferenceFieldSet(FieldSet):
    required_fields = (LinuxkitBuildYmlField, LinuxkitPackageDependenciesField)

    build_yml: LinuxkitBuildYmlField
    dependencies: LinuxkitPackageDependenciesField


class InferLinuxkitPackageDependencies(InferDependenciesRequest):
    infer_from = LinuxkitDependenciesInferenceFieldSet


@rule(desc="Infer linuxkit package dependencies from @lkt build args", level=LogLevel.DEBUG)
async def infer_linuxkit_dependencies(
    request: InferLinuxkitPackageDependencies, packages: AllLinuxkitPackages
) -> InferredDependencies:
    info = await Get(LinuxkitPackageInfo, LinuxkitPackageInfoRequest(request.field_set.address))
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
    found.discard(request.field_set.address)
    return InferredDependencies(sorted(found))


def rules():
    return [
        *collect_rules(),
        UnionRule(InferDependenciesRequest, InferLinuxkitPackageDependencies),
    ]
