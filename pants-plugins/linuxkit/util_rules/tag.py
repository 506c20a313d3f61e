"""A package's name and tag: `linuxkit pkg show-tag`, inside Pants."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Tuple

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.git_state import PackageGitHash
from linuxkit.pkglib.go_template import TemplateError
from linuxkit.pkglib.names import PackageName, name_problem, package_name
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.git_hash import PackageGitHashRequest, PackageGitHashResult
from linuxkit.util_rules.package_info import LinuxkitPackageInfo, LinuxkitPackageInfoRequest
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class LinuxkitTagRequest:
    address: Address
    # `@lkt:pkg:` references load packages with build.yml alone, ignoring [linuxkit] overrides.
    with_overrides: bool = True


@dataclass(frozen=True)
class LinuxkitTag:
    info: LinuxkitPackageInfo
    name: PackageName
    git: PackageGitHash


@dataclass(frozen=True)
class LinuxkitOverrides:
    """[linuxkit] options and environment, resolved once: what `linuxkit pkg` flags would say."""

    org: str | None
    hash: str | None
    tag: str | None
    hash_commit: str
    hash_path: str | None
    force_dirty: bool


@rule
async def linuxkit_overrides(linuxkit: LinuxkitSubsystem) -> LinuxkitOverrides:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["LINUXKIT_PKG_ORG", "USER"]))
    org = linuxkit.org or env.get("LINUXKIT_PKG_ORG") or None
    if org is None and linuxkit.dev:
        org = env.get("USER", "")
    return LinuxkitOverrides(
        org=org,
        hash=linuxkit.hash or ("dev" if linuxkit.dev else None),
        tag=linuxkit.tag or None,
        hash_commit=linuxkit.hash_commit,
        hash_path=linuxkit.hash_path,
        force_dirty=linuxkit.force_dirty,
    )


@rule(desc="Compute a linuxkit package tag", level=LogLevel.DEBUG)
async def linuxkit_tag(request: LinuxkitTagRequest, overrides: LinuxkitOverrides) -> LinuxkitTag:
    if not request.with_overrides:
        overrides = LinuxkitOverrides(None, None, None, "HEAD", None, False)
    info = await Get(LinuxkitPackageInfo, LinuxkitPackageInfoRequest(request.address))
    definition = info.definition
    git = await Get(
        PackageGitHashResult,
        PackageGitHashRequest(
            directory=info.directory,
            extra_source_dirs=extra_source_dirs(info),
            hash_commit=overrides.hash_commit,
            hash_path=overrides.hash_path,
            hash_override=overrides.hash,
            force_dirty=overrides.force_dirty,
        ),
    )
    try:
        name = package_name(
            overrides.org if overrides.org is not None else definition.org,
            definition.image,
            overrides.tag or definition.tag,
            git.value.pkg_hash,
        )
    except TemplateError as e:
        raise LinuxkitError(f"{_source('tag', overrides, info)}: {e}")
    problem = name_problem(name)
    if problem:
        field, why = problem
        raise LinuxkitError(f"{_source(field, overrides, info)}: {why}")
    return LinuxkitTag(info, name, git.value)


def extra_source_dirs(info: LinuxkitPackageInfo) -> Tuple[str, ...]:
    """The package's `extra-sources` directories, relative to the build root."""
    return tuple(os.path.normpath(os.path.join(info.directory, s.src)) for s in info.definition.extra_sources)


def hashed_dirs(info: LinuxkitPackageInfo, overrides: LinuxkitOverrides) -> Tuple[str, ...]:
    """The directories whose git trees make the tag: the package's (or `[linuxkit].hash_path`)
    and its extra sources."""
    hash_path = overrides.hash_path
    return (info.directory if hash_path is None else hash_path, *extra_source_dirs(info))


def _source(field: str, overrides: LinuxkitOverrides, info: LinuxkitPackageInfo) -> str:
    """Where a name's `field` came from: a [linuxkit] option, or the package's build.yml."""
    if field == "tag" and overrides.tag:
        return "[linuxkit].tag"
    if field == "org" and overrides.org is not None:
        return "[linuxkit].org (or LINUXKIT_PKG_ORG, or $USER with --dev)"
    return f"{info.build_yml_path}: {field}"


def rules():
    return collect_rules()
