"""Push a package's OCI archive to a registry: what `linuxkit pkg push` does.

The package product is an OCI image-layout tar whose `index.json` has one root: a multi-arch OCI
index over per-arch image manifests (plus buildkit's attestation manifests). `push_image` puts
it in a registry through the distribution HTTP API:

* every blob of every image manifest (HEAD first, then a streamed chunked or monolithic upload);
* every manifest by digest, children before the index that lists them;
* then the tags: `<tag>-<arch>` for each per-arch image manifest (remote `-arch` tags point at
  plain image manifests, as linuxkit's do), and `<tag>` for the index last.

So no tag ever names content the registry lacks, and because everything is content-addressed a
push that was interrupted simply completes when run again. Manifests and indexes are sent as the
exact bytes in the archive, so their digests are the ones linuxkit computed.

Before anything is written, each tag is looked up: the same digest is skipped, a different one is
an error unless `force`. Authentication is settled by the first request, so a wrong password
fails before any blob or tag is written.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from linuxkit.pkglib.errors import RegistryError
from linuxkit.pkglib.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    FOREIGN_LAYER_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    OciError,
    manifest_platform,
    parse_index,
    parse_manifest,
    sha256_digest,
)
from linuxkit.pkglib.oci_archive import OciArchive
from linuxkit.pkglib.registry.client import DEFAULT_CHUNK_SIZE, RegistryClient
from linuxkit.pkglib.registry.credentials import CredentialStore
from linuxkit.pkglib.registry.references import TAG_RE, ImageRef, parse_ref
from linuxkit.pkglib.registry.transport import DEFAULT_RETRY, RetryPolicy


@dataclass(frozen=True)
class PushResult:
    ref: str  # containerd form, e.g. docker.io/linuxkit/foo:abc-amd64
    digest: str
    action: str  # "pushed", "skipped" or "would push"
    media_type: str = ""

    @property
    def line(self) -> str:
        if self.action == "skipped":
            return f"skipped {self.ref} {self.digest} (already in the registry)"
        return f"{self.action} {self.ref} {self.digest}"

    def __str__(self) -> str:
        return self.line


@dataclass(frozen=True)
class _Manifest:
    desc: Descriptor
    data: bytes
    media_type: str
    blobs: tuple[Descriptor, ...] = ()  # for image manifests


@dataclass(frozen=True)
class _Tag:
    ref: ImageRef
    manifest: _Manifest


@dataclass
class PushPlan:
    """What a push writes: `manifests` children-first (root last), then `tags` in order."""

    root: _Manifest
    manifests: list[_Manifest] = field(default_factory=list)
    tags: list[_Tag] = field(default_factory=list)


def _media_type(desc: Descriptor, data: bytes) -> str:
    if desc.media_type:
        return desc.media_type
    with contextlib.suppress(ValueError, AttributeError):
        declared = json.loads(data).get("mediaType")
        if isinstance(declared, str) and declared:
            return declared
    raise OciError(f"manifest {desc.digest} has no media type")


def _collect(
    archive: OciArchive, desc: Descriptor, out: list[_Manifest], seen: dict[str, _Manifest]
) -> _Manifest:
    if desc.digest in seen:
        return seen[desc.digest]
    if not archive.has_blob(desc.digest):
        raise OciError(f"manifest {desc.digest} is not in the OCI archive")
    data = archive.read_blob(desc.digest)
    if sha256_digest(data) != desc.digest:
        raise OciError(f"manifest {desc.digest} in the OCI archive does not match its digest")
    media_type = _media_type(desc, data)
    if media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST):
        for child in parse_index(data).manifests:
            _collect(archive, child, out, seen)
        item = _Manifest(desc, data, media_type)
    elif media_type in (OCI_MANIFEST, DOCKER_MANIFEST):
        manifest = parse_manifest(data)
        blobs = tuple(
            d
            for d in (manifest.config, *manifest.layers)
            if not (d.media_type in FOREIGN_LAYER_TYPES and not archive.has_blob(d.digest))
        )
        item = _Manifest(desc, data, media_type, blobs)
    else:
        raise OciError(f"cannot push {desc.digest}: unsupported media type {media_type!r}")
    seen[desc.digest] = item
    out.append(item)
    return item


def _arch_image(
    archive: OciArchive, child: Descriptor, seen: Mapping[str, _Manifest]
) -> tuple[str, _Manifest] | None:
    """(architecture, image manifest) a root-index child gets an `-arch` tag for, if any."""
    item = seen[child.digest]
    if item.media_type in (OCI_MANIFEST, DOCKER_MANIFEST):
        platform = manifest_platform(child, archive.read_blob)
        if platform is None or platform.is_unknown or not platform.architecture:
            return None
        return platform.architecture, item
    # A nested (buildkit per-arch) index: tag the image manifest in it.
    for grandchild in parse_index(item.data).manifests:
        if seen[grandchild.digest].media_type not in (OCI_MANIFEST, DOCKER_MANIFEST):
            continue
        platform = manifest_platform(grandchild, archive.read_blob)
        if platform is not None and platform.is_unknown:
            continue
        platform = child.platform or platform
        if platform is None or not platform.architecture:
            continue
        return platform.architecture, seen[grandchild.digest]
    return None


def plan_push(archive: OciArchive, target: ImageRef, *, arch_tags: bool = True) -> PushPlan:
    roots = archive.root_descriptors
    if len(roots) != 1:
        raise OciError(f"OCI archive has {len(roots)} root descriptors, want exactly one to push")
    seen: dict[str, _Manifest] = {}
    manifests: list[_Manifest] = []
    root = _collect(archive, roots[0], manifests, seen)
    plan = PushPlan(root=root, manifests=manifests)
    if arch_tags and root.media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST):
        by_tag: dict[str, _Manifest] = {}
        for child in parse_index(root.data).manifests:
            found = _arch_image(archive, child, seen)
            if found is None:
                continue
            arch, image = found
            tag = f"{target.tag}-{arch}"
            if not TAG_RE.fullmatch(tag):
                raise RegistryError(f"cannot tag {target.name}:{tag}: invalid tag")
            previous = by_tag.get(tag)
            if previous is not None and previous.desc.digest != image.desc.digest:
                raise RegistryError(
                    f"cannot tag {target.name}:{tag}: the index has more than one {arch} image"
                )
            if previous is None:
                by_tag[tag] = image
                plan.tags.append(_Tag(target.with_tag(tag), image))
    plan.tags.append(_Tag(target, root))
    return plan


def push_image(
    archive_path: str | os.PathLike[str],
    ref: str,
    *,
    arch_tags: bool = True,
    insecure: bool = False,
    ca_file: str | os.PathLike[str] | None = None,
    creds: Iterable[str] | CredentialStore = (),
    force: bool = False,
    dry_run: bool = False,
    log: Callable[[str], None] | None = print,
    retry: RetryPolicy = DEFAULT_RETRY,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_event: Callable[[str, str], None] | None = None,
    content_only: bool = False,
) -> list[PushResult]:
    """Push the archive's root (a multi-arch index, or a single image) to `ref`.

    `creds`: linuxkit `--registry-creds` entries (used for their registry, docker config
    otherwise) or a ready `CredentialStore`. Logs (and returns) one line per tag:
    `pushed <ref> <digest>`, `skipped <ref> <digest> (already in the registry)`, or with
    `dry_run` `would push <ref> <digest>` (dry runs only read from the registry). A tag that
    exists with another digest is an error unless `force`. `on_event(kind, what)` is called after
    each write (`blob`, `manifest`, `tag`); tests use it to interrupt a push. `content_only`
    uploads blobs and manifests by digest and writes no tag (publish does that part last).
    """
    target = parse_ref(ref)
    if isinstance(creds, str):
        creds = [creds]
    store = creds if isinstance(creds, CredentialStore) else CredentialStore.from_specs(creds)
    emit = log or (lambda line: None)
    event = on_event or (lambda kind, what: None)
    results: list[PushResult] = []
    with OciArchive.open(archive_path) as archive:
        plan = plan_push(archive, target, arch_tags=arch_tags)
        with RegistryClient(
            target,
            insecure=insecure,
            ca_file=ca_file,
            credentials=store,
            retry=retry,
            push=not dry_run,
        ) as client:
            client.check_access()
            existing = {tag.ref.tag: client.manifest_digest(tag.ref.tag) for tag in plan.tags}
            for tag in plan.tags:
                remote = existing[tag.ref.tag]
                if remote is not None and remote != tag.manifest.desc.digest and not force:
                    raise RegistryError(
                        f"{tag.ref} already exists in the registry as {remote}, "
                        f"not {tag.manifest.desc.digest}; use force to replace it"
                    )
            pending = [t for t in plan.tags if existing[t.ref.tag] != t.manifest.desc.digest]
            if pending and not dry_run:
                _push_content(archive, client, plan, chunk_size, event)
            if content_only:
                return results
            for tag in plan.tags:
                digest = tag.manifest.desc.digest
                if existing[tag.ref.tag] == digest:
                    result = PushResult(str(tag.ref), digest, "skipped", tag.manifest.media_type)
                elif dry_run:
                    result = PushResult(str(tag.ref), digest, "would push", tag.manifest.media_type)
                else:
                    client.put_manifest(tag.ref.tag, tag.manifest.data, tag.manifest.media_type)
                    result = PushResult(str(tag.ref), digest, "pushed", tag.manifest.media_type)
                    event("tag", str(tag.ref))
                results.append(result)
                emit(result.line)
    return results


def _push_content(
    archive: OciArchive,
    client: RegistryClient,
    plan: PushPlan,
    chunk_size: int,
    event: Callable[[str, str], None],
) -> None:
    """Blobs, then each manifest by digest, children first. A manifest already in the
    repository implies its blobs are (the registry checked them when it accepted it)."""
    sizes = archive.blob_sizes
    for item in plan.manifests:
        if client.manifest_digest(item.desc.digest) == item.desc.digest:
            continue
        for blob in item.blobs:
            if client.blob_exists(blob.digest):
                continue
            if blob.digest not in sizes:
                raise OciError(
                    f"blob {blob.digest} is in neither the OCI archive nor {client.ref.name}"
                )
            if sizes[blob.digest] != blob.size:
                raise OciError(
                    f"blob {blob.digest} in the OCI archive has {sizes[blob.digest]} bytes, "
                    f"its descriptor says {blob.size}"
                )
            client.upload_blob(
                blob.digest,
                blob.size,
                lambda d=blob.digest: archive.open_blob(d),
                chunk_size=chunk_size,
            )
            event("blob", blob.digest)
        client.put_manifest(item.desc.digest, item.data, item.media_type)
        event("manifest", item.desc.digest)


def push_refs(
    archive_path: str | os.PathLike[str], refs: Sequence[str], **kwargs
) -> list[PushResult]:
    """`push_image` for each ref in turn (e.g. the package tag, then its release tag)."""
    results: list[PushResult] = []
    for ref in refs:
        results.extend(push_image(archive_path, ref, **kwargs))
    return results
