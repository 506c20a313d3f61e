"""`pants tailor` adds `linuxkit_package()` beside every build.yml that no target owns."""

from __future__ import annotations

import os
from dataclasses import dataclass

from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import BUILD_YML, LinuxkitPackageTarget
from linuxkit.dependency_inference.rules import AllLinuxkitPackages
from pants.core.goals.tailor import (
    PutativeTarget,
    PutativeTargets,
    PutativeTargetsRequest,
)
from pants.engine.fs import PathGlobs, Paths
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class PutativeLinuxkitPackageTargetsRequest(PutativeTargetsRequest):
    pass


@rule(desc="Determine candidate linuxkit_package targets to create", level=LogLevel.DEBUG)
async def find_putative_linuxkit_packages(
    request: PutativeLinuxkitPackageTargetsRequest,
    packages: AllLinuxkitPackages,
    linuxkit: LinuxkitSubsystem,
) -> PutativeTargets:
    if not linuxkit.tailor:
        return PutativeTargets()
    build_ymls = await Get(Paths, PathGlobs, request.path_globs(BUILD_YML))
    # A build.yml may also be owned by, say, a `files` target: what matters is a package target.
    unowned = sorted(p for p in build_ymls.files if os.path.dirname(p) not in packages.by_directory)
    return PutativeTargets(
        PutativeTarget.for_target_type(
            LinuxkitPackageTarget,
            path=os.path.dirname(path),
            name=None,
            triggering_sources=[BUILD_YML],
        )
        for path in unowned
    )


def rules():
    return [
        *collect_rules(),
        UnionRule(PutativeTargetsRequest, PutativeLinuxkitPackageTargetsRequest),
    ]
