"""`pants tailor` adds `linuxkit_package()` beside every build.yml that no target owns."""

from __future__ import annotations

import os
from dataclasses import dataclass

from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import BUILD_YML, LinuxkitPackageTarget
from pants.core.goals.tailor import (
    AllOwnedSources,
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
    all_owned_sources: AllOwnedSources,
    linuxkit: LinuxkitSubsystem,
) -> PutativeTargets:
    if not linuxkit.tailor:
        return PutativeTargets()
    build_ymls = await Get(Paths, PathGlobs, request.path_globs(BUILD_YML))
    unowned = sorted(set(build_ymls.files) - set(all_owned_sources))
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
