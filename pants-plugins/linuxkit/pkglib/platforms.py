"""Which platforms a package builds for, and on which builder (docs/linuxkit-pkg.md §3.1, §3.8)."""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from linuxkit.pkglib.errors import LinuxkitError


def parse_platform(spec: str, option: str) -> tuple[str, str]:
    os_, sep, arch = spec.strip().partition("/")
    if not sep or not os_ or not arch:
        raise LinuxkitError(f"{option}: invalid target platform specification '{spec}'")
    return os_, arch


def select_platforms(
    arches: Sequence[str], platforms: Sequence[str], skip_platforms: Sequence[str]
) -> list[str]:
    """`linux/<arch>` for each arch, or `--platforms` instead, minus `--skip-platforms`."""
    if platforms and skip_platforms:
        raise LinuxkitError(
            "[linuxkit].skip_platforms and [linuxkit].platforms may not be used together"
        )
    if platforms:
        return ["/".join(parse_platform(p, "[linuxkit].platforms")) for p in platforms]
    skipped = set()
    for spec in skip_platforms:
        os_, arch = parse_platform(spec, "[linuxkit].skip_platforms")
        if os_ != "linux":
            raise LinuxkitError(
                f"[linuxkit].skip_platforms: invalid target platform specification '{spec}'"
            )
        skipped.add(arch.strip())
    return [f"linux/{arch}" for arch in arches if arch not in skipped]


def parse_builders(entries: Iterable[str], origin: str) -> dict[str, str]:
    """`linux/arm64=NAME,linux/amd64=NAME` (entries may themselves hold commas)."""
    out: dict[str, str] = {}
    for entry in entries:
        for item in entry.split(","):
            if not item.strip():
                continue
            platform, sep, name = item.partition("=")
            if not sep or not platform or not name:
                raise LinuxkitError(f"{origin}: invalid platform=builder specification '{item}'")
            if "/" not in platform:
                raise LinuxkitError(f"{origin}: invalid platform specification '{platform}'")
            out[platform.strip()] = name.strip()
    return out


ADDRESS_SCHEMES = ("unix://", "tcp://", "docker-container://", "kube-pod://", "ssh://")


def is_buildkit_address(name: str) -> bool:
    return name.startswith(ADDRESS_SCHEMES)


def builder_for(platform: str, builders: Mapping[str, str], contexts: Iterable[str]) -> str | None:
    """The configured builder for `platform`, else the `linuxkit-<os>-<arch>` docker context."""
    if platform in builders:
        return builders[platform]
    fallback = "linuxkit-" + platform.replace("/", "-")
    return fallback if fallback in set(contexts) else None
