"""Is a platform of a package already in its registry? linuxkit's `ImageInRegistry`."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Callable, TypeVar

from linuxkit.pkglib.errors import RegistryContentError, RegistryError
from linuxkit.pkglib.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    OciError,
    attestations_for,
    build_index,
    parse_config_platform,
    parse_index,
    parse_manifest,
    sha256_digest,
)
from linuxkit.pkglib.oci_archive import write_oci_archive
from linuxkit.pkglib.registry.client import RegistryClient
from linuxkit.pkglib.registry.references import ImageRef, parse_ref
from linuxkit.pkglib.registry.transport import RetryPolicy

_INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
_IMAGE_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
T = TypeVar("T")


def remote_image_for(
    ref: str, arch: str, *, timeout: float = 5.0, **client_kwargs
) -> str | None:
    """linuxkit's `ImageInRegistry`: the digest of the image manifest that `ref` has for
    `linux/<arch>`, or None. A registry that cannot be reached (or refuses us) counts as "not
    there"; one that sends malformed JSON or content that does not match its digest is an
    error (one line naming the endpoint), since what it says cannot be trusted."""
    return _ask(ref, lambda client, target: _platform_digest(client, target.tag, arch), timeout, client_kwargs)


def _ask(ref: str, question: Callable[[RegistryClient, ImageRef], T], timeout: float, client_kwargs) -> T | None:
    """One lookup with one attempt: None when the registry cannot be reached or refuses us, an
    error naming the endpoint when what it sends is malformed or does not match its digest."""
    target = parse_ref(ref)
    with RegistryClient(
        target, push=False, retry=RetryPolicy(attempts=1), timeout=timeout, **client_kwargs
    ) as client:
        try:
            return question(client, target)
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


def remote_attestations_for(
    ref: str, image: str, *, timeout: float = 5.0, **client_kwargs
) -> bytes | None:
    """The attestation manifests (SBOMs) that `ref`'s index holds for its image manifest `image`,
    with their blobs, as an OCI archive whose root is an index of them (what `arch_descriptors`
    reads); None when there are none or the registry cannot be asked. Content that does not match
    its digest is an error naming the endpoint, as in `remote_image_for`."""
    found = _ask(ref, lambda client, target: _attestation_blobs(client, target, image), timeout, client_kwargs)
    if not found:
        return None
    attestations, blobs = found
    index, root = build_index(attestations)
    blobs[root.digest] = index
    out = io.BytesIO()
    write_oci_archive(out, blobs, [root])
    return out.getvalue()


def _attestation_blobs(
    client: RegistryClient, target: ImageRef, image: str
) -> tuple[tuple[Descriptor, ...], dict[str, bytes]] | None:
    found = client.get_manifest(target.tag)
    if found is None or found[1] not in _INDEX_TYPES:
        return None
    attestations = attestations_for(parse_index(found[0]).manifests, image)
    blobs: dict[str, bytes] = {}
    for attestation in attestations:
        data = client.get_manifest(attestation.digest)
        if data is None:
            return None
        blobs[attestation.digest] = data[0]
        manifest = parse_manifest(data[0])
        for blob in (manifest.config, *manifest.layers):
            embedded = blob.data if blob.data and sha256_digest(blob.data) == blob.digest else None
            blobs[blob.digest] = embedded or client.get_blob(blob.digest)
    return (attestations, blobs) if attestations else None
