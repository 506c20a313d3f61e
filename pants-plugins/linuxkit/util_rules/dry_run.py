"""`[linuxkit].dry_run`: per platform, the `docker buildx build` line `linuxkit pkg build
--dry-run` prints (linuxkit's `pkglib/dockerdryrun.go`), from the same build settings a real
build gets. Nothing is built and no registry is asked."""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from typing import Mapping, Tuple

from linuxkit.pkglib.platforms import select_platforms
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.build_settings import BuildSettings, BuildSettingsRequest
from linuxkit.util_rules.platform_plan import platform_arch
from pants.base.build_root import BuildRoot
from pants.engine.addresses import Address
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class DryRunRequest:
    address: Address


@dataclass(frozen=True)
class DryRun:
    lines: Tuple[str, ...]  # one per platform


def buildx_line(
    platform: str, tag: str, package_dir: str, dockerfile: str,
    build_args: Mapping[str, str], labels: Mapping[str, str], network: bool,
) -> str:  # fmt: skip
    """The CLI's format string, double spaces included where a list is empty; keys sorted
    (the CLI prints them in Go's random map order)."""
    args = " ".join(f"--build-arg={k}={v}" for k, v in sorted(build_args.items()))
    label_args = " ".join(f"--label={k}={v}" for k, v in sorted(labels.items()))
    mode = "default" if network else "none"
    return (
        f"docker buildx build --platform {platform} -t {tag} -f "
        f"{posixpath.join(package_dir, dockerfile)} {args} {label_args} --network={mode} {package_dir}"
    )


@rule(desc="Dry-run a linuxkit package build", level=LogLevel.DEBUG)
async def dry_run(request: DryRunRequest, linuxkit: LinuxkitSubsystem, build_root: BuildRoot) -> DryRun:
    settings = await Get(BuildSettings, BuildSettingsRequest(request.address))
    info, name = settings.tag.info, settings.tag.name
    package_dir = os.path.join(build_root.path, info.directory) if info.directory else build_root.path
    platforms = select_platforms(info.definition.arches, linuxkit.platforms, linuxkit.skip_platforms)
    return DryRun(
        tuple(
            buildx_line(p, f"{name.canonical}-{platform_arch(p)}", package_dir, settings.dockerfile,
                        settings.build_args, settings.labels, settings.network)  # fmt: skip
            for p in platforms
        )
    )


def rules():
    return collect_rules()
