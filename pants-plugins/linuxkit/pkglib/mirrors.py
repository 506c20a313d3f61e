"""Registry mirrors for reads (`linuxkit --mirror`, `LINUXKIT_MIRROR`; linuxkit's
`registry/remote.go` rewriteRepositoryBase): `<registry>=<url>` sends reads of that registry to
the mirror, a bare `<url>` every registry not otherwise named. A read of `reg/repo` becomes
`<mirror host and path>/repo`. Pushes never go to a mirror."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from linuxkit.pkglib.build_args import mask_userinfo
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.names import reference_expand

ANY_REGISTRY = "*"
_DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Mirror:
    location: str  # host[:port][/path], no scheme
    plain_http: bool


def parse_mirrors(entries: Iterable[tuple[str, str]]) -> dict[str, Mirror]:
    """(entry, where) pairs in increasing precedence -> registry (or `*`) -> mirror."""
    mirrors: dict[str, Mirror] = {}
    for entry, where in entries:
        entry = entry.strip()
        if not entry:
            continue
        key, sep, url = entry.partition("=")
        if not sep:
            key, url = ANY_REGISTRY, entry
        scheme, found, location = url.partition("://")
        if not found or scheme not in ("http", "https") or not location.strip("/"):
            raise LinuxkitError(f'{where}: mirror "{mask_userinfo(url)}" must start with http:// or https://')
        if "@" in location.split("/", 1)[0]:  # it would reach buildctl's argv, a process key
            raise LinuxkitError(
                f'{where}: mirror "{mask_userinfo(url)}": no credentials in a mirror URL '
                "([linuxkit].registry_creds gives them for its host)"
            )
        mirror = Mirror(location.rstrip("/"), scheme == "http")
        for registry in _DOCKER_HUB if key.rstrip("/") in ("docker.io",) else (key.rstrip("/"),):
            mirrors[registry] = mirror
    return mirrors


def split_registry(reference: str) -> tuple[str, str]:
    """`alpine:3` -> (`docker.io`, `library/alpine:3`): the registry and the rest, expanded."""
    registry, _, rest = reference_expand(reference).partition("/")
    return registry, rest


def mirror_for(registry: str, mirrors: Mapping[str, Mirror]) -> Optional[Mirror]:
    return mirrors.get(registry) or mirrors.get(ANY_REGISTRY)


def mirrored(reference: str, mirrors: Mapping[str, Mirror]) -> Optional[tuple[str, Mirror]]:
    """Where to read `reference` (`repo[:tag][@digest]`, any registry) from, if mirrored."""
    registry, rest = split_registry(reference)
    mirror = mirror_for(registry, mirrors)
    if mirror is None or mirror.location == registry:
        return None
    return f"{mirror.location}/{rest}", mirror
