"""Image references as `docker push` reads them (the distribution/reference grammar),
normalised the way docker and go-containerregistry do it."""

from __future__ import annotations

import re
from typing import NamedTuple

from linuxkit.pkglib.errors import RegistryError

DOCKER_HUB_DOMAIN = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

# distribution/reference grammar
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
)
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*")
TAG_RE = re.compile(r"[\w][\w.-]{0,127}")


class ImageRef(NamedTuple):
    """A parsed push target. `registry` is the API host (`registry-1.docker.io` for Docker Hub);
    `str(ref)` is the containerd-style name (`docker.io/linuxkit/foo:tag`)."""

    registry: str
    repository: str
    tag: str

    @property
    def domain(self) -> str:
        return DOCKER_HUB_DOMAIN if self.registry == DOCKER_HUB_API_HOST else self.registry

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.repository}"

    def with_tag(self, tag: str) -> ImageRef:
        return self._replace(tag=tag)

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"


def _is_domain(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def parse_ref(ref: str) -> ImageRef:
    """`<registry>/<repo>:<tag>` → (API host, repository, tag), normalised the way docker and
    go-containerregistry do it: no registry means Docker Hub (`library/` for one-part names), a
    missing tag means `latest`. Digest references cannot be pushed to."""
    original = ref
    if not isinstance(ref, str) or not ref or ref != ref.strip() or "\n" in ref:
        raise RegistryError(f"invalid image reference {original!r}")
    if "@" in ref:
        raise RegistryError(f"cannot push to digest reference {original!r}: a tag is required")
    name, tag = ref, "latest"
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        name, tag = ref[:colon], ref[colon + 1 :]
    if not TAG_RE.fullmatch(tag):
        raise RegistryError(f"invalid image reference {original!r}: invalid tag {tag!r}")
    parts = name.split("/")
    if len(parts) > 1 and _is_domain(parts[0]):
        domain, path = parts[0], parts[1:]
        if not _DOMAIN_RE.fullmatch(domain):
            raise RegistryError(
                f"invalid image reference {original!r}: invalid registry {domain!r}"
            )
    else:
        domain, path = DOCKER_HUB_DOMAIN, parts
    if domain.lower() in DOCKER_HUB_ALIASES:
        domain = DOCKER_HUB_API_HOST
        if len(path) == 1:
            path = ["library", *path]
    for component in path:
        if not _PATH_COMPONENT_RE.fullmatch(component):
            why = "must be lowercase" if component.lower() != component else "is invalid"
            raise RegistryError(
                f"invalid image reference {original!r}: repository component {component!r} {why}"
            )
    repository = "/".join(path)
    if len(domain) + 1 + len(repository) > 255:
        raise RegistryError(
            f"invalid image reference {original!r}: name longer than 255 characters"
        )
    return ImageRef(domain, repository, tag)
