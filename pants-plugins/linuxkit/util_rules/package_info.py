"""Reads a `linuxkit_package`'s build.yml, applies its BUILD overrides and validates the result."""

from __future__ import annotations

import os
from dataclasses import dataclass

from linuxkit.pkglib import build_yml
from linuxkit.pkglib.build_yml import BuildYml
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.target_types import LinuxkitBuildYmlField, build_yml_overrides
from pants.engine.addresses import Address
from pants.engine.fs import DigestContents, PathGlobs
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.target import WrappedTarget, WrappedTargetRequest
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class LinuxkitPackageInfoRequest:
    address: Address


@dataclass(frozen=True)
class LinuxkitPackageInfo:
    address: Address
    directory: str  # the package directory, relative to the build root
    build_yml_path: str
    definition: BuildYml


@rule(desc="Read a linuxkit_package's build.yml", level=LogLevel.DEBUG)
async def read_package_info(request: LinuxkitPackageInfoRequest) -> LinuxkitPackageInfo:
    wrapped = await Get(
        WrappedTarget,
        WrappedTargetRequest(request.address, description_of_origin="the linuxkit backend"),
    )
    target = wrapped.target
    build_file = os.path.join(request.address.spec_path, "BUILD")
    yml_path = os.path.normpath(
        os.path.join(request.address.spec_path, target[LinuxkitBuildYmlField].value)
    )
    contents = await Get(DigestContents, PathGlobs([yml_path]))
    if not contents or yml_path.startswith("../"):
        raise LinuxkitError(f"{build_file}: build_yml: {yml_path} does not exist")
    (yml,) = contents
    directory = os.path.dirname(yml.path)

    decoded = build_yml.decode_yaml(yml.content, yml.path)
    overrides = build_yml.decode_overrides(build_yml_overrides(target), build_file)
    keys = build_yml.merge(decoded.keys, overrides)

    from_file = keys.get("depends", {}).get("docker-images", {}).get("from-file")
    package_files = {}
    if from_file and not os.path.isabs(from_file):
        wanted = os.path.normpath(os.path.join(directory, from_file))
        for entry in await Get(DigestContents, PathGlobs([wanted])):
            package_files[os.path.relpath(entry.path, directory)] = entry.content

    definition = build_yml.make_build_yml(
        keys,
        path=yml.path,
        read_package_file=lambda rel: package_files.get(os.path.normpath(rel)),
        lines=decoded.lines,
        overridden={key: build_file for key in overrides},
    )
    return LinuxkitPackageInfo(request.address, directory, yml.path, definition)


def rules():
    return collect_rules()
