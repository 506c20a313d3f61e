"""Is a platform of a package already in its registry? linuxkit's `ImageInRegistry`."""

from __future__ import annotations

import contextlib
import json

from linuxkit.pkglib.errors import RegistryContentError, RegistryError
from linuxkit.pkglib.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    OciError,
    parse_config_platform,
    parse_index,
    parse_manifest,
    sha256_digest,
)
from linuxkit.pkglib.registry.client import RegistryClient
from linuxkit.pkglib.registry.references import parse_ref
from linuxkit.pkglib.registry.transport import RetryPolicy

_INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
_IMAGE_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)


def remote_image_for(
    ref: str, arch: str, *, timeout: float = 5.0, **client_kwargs
) -> str | None:
    """linuxkit's `ImageInRegistry`: the digest of the image manifest that `ref` has for
    `linux/<arch>`, or None. A registry that cannot be reached (or refuses us) counts as "not
    there"; one that sends malformed JSON or content that does not match its digest is an
    error (one line naming the endpoint), since what it says cannot be trusted."""
    target = parse_ref(ref)
    with RegistryClient(
        target, push=False, retry=RetryPolicy(attempts=1), timeout=timeout, **client_kwargs
    ) as client:
        try:
            return _platform_digest(client, target.tag, arch)
        except RegistryContentError:
            raise
        except OciError as e:
            raise RegistryContentError(f"{client.endpoint}: {target}: {e}")
        except (RegistryError, OSError):
            return None


def _platform_digest(client: RegistryClient, tag: str, arch: str) -> str | None:
    found = client.get_manifest(tag)
    if found is None:
        return None
    data, media_type = found
    if media_type not in _INDEX_TYPES + _IMAGE_TYPES:
        with contextlib.suppress(ValueError, TypeError):
            media_type = OCI_INDEX if "manifests" in json.loads(data) else OCI_MANIFEST
    if media_type in _INDEX_TYPES:
        for child in parse_index(data).manifests:  # validates every child digest
            platform = child.platform
            if platform and platform.architecture == arch and platform.os in ("", "linux"):
                return child.digest
        return None
    config = parse_config_platform(client.get_blob(parse_manifest(data).config.digest))
    return sha256_digest(data) if config.architecture == arch else None
