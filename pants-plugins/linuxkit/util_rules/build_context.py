"""The hermetic build context of a package: its directory, each extra source at its destination,
the `depends.docker-images` tarballs fetched by digest from their registries (linuxkit's
`docs/packages.md`), and files its dependencies put in the package directory. Nothing else from
the workspace gets in."""

from __future__ import annotations

import io
import json
import os
import posixpath
import tarfile
from dataclasses import dataclass

from linuxkit.pkglib.build_yml import split_reference
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.target_types import LinuxkitPackageDependenciesField
from linuxkit.util_rules import source_tree
from linuxkit.util_rules.package_info import LinuxkitPackageInfo
from linuxkit.util_rules.registry_source import RegistryPull, RegistryPullRequest
from linuxkit.util_rules.source_tree import SourceTree, SourceTreeRequest
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    DigestEntries,
    DigestSubset,
    FileContent,
    FileEntry,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
)
from pants.core.target_types import FileSourceField
from pants.core.util_rules.source_files import SourceFiles, SourceFilesRequest
from pants.engine.fs import EMPTY_DIGEST
from pants.engine.target import (
    DependenciesRequest,
    SourcesField,
    Targets,
    WrappedTarget,
    WrappedTargetRequest,
)
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.logging import LogLevel

CONTEXT_DIR = "context"


@dataclass(frozen=True)
class BuildContextRequest:
    info: LinuxkitPackageInfo


@dataclass(frozen=True)
class BuildContext:
    digest: Digest  # everything under `context/`
    dockerfile: str  # relative to the context
    dockerfile_text: str


@dataclass(frozen=True)
class DockerImageTarRequest:
    image: str  # locator:tag@digest or locator@digest
    output: str  # the tar's path in the result digest
    where: str  # for errors: the package and field


@dataclass(frozen=True)
class DockerImageTar:
    digest: Digest


@rule(desc="Fetch a depends.docker-images image", level=LogLevel.DEBUG)
async def fetch_docker_image_tar(request: DockerImageTarRequest) -> DockerImageTar:
    locator, obj = split_reference(request.image)
    tag, _, digest = obj.rpartition("@")
    name = f"{locator}:{tag}" if tag else locator
    pulled = await Get(
        RegistryPull,
        RegistryPullRequest(
            locator=locator,
            digest=digest,
            destination=f"docker-archive:image.tar:{name}",
            output="image.tar",
            description=f"Fetch {request.image}",
            failure=f"{request.where}: cannot fetch {request.image}",
        ),
    )
    # The file is renamed here: skopeo cannot write to a path holding ':' (`<name>@sha256:….tar`).
    (entry,) = await Get(DigestEntries, Digest, pulled.digest)
    return DockerImageTar(await Get(Digest, CreateDigest([FileEntry(request.output, entry.file_digest)])))


def dockerfile_problem(dockerfile: str) -> str | None:
    if ".." in dockerfile:
        return f"cannot expand beyond root of context for dockerfile {dockerfile}"
    if posixpath.isabs(dockerfile):
        return f"dockerfile {dockerfile} must be relative to the package directory"
    return None


async def merge_docker_archives(tars, output: str) -> DockerImageTar:
    """`docker image save` of several images into one tarball: merged manifest.json, union of files."""
    contents = await MultiGet(Get(DigestContents, Digest, t.digest) for t in tars)
    manifest: list = []
    files: dict[str, bytes] = {}
    for content in contents:
        with tarfile.open(fileobj=io.BytesIO(content[0].content)) as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                data = tar.extractfile(member).read()  # type: ignore[union-attr]
                if member.name == "manifest.json":
                    manifest.extend(json.loads(data))
                else:
                    files[member.name] = data
    files["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    digest = await Get(Digest, CreateDigest([FileContent(output, out.getvalue())]))
    return DockerImageTar(digest)


@dataclass(frozen=True)
class DependencyFilesRequest:
    info: LinuxkitPackageInfo


@dataclass(frozen=True)
class DependencyFiles:
    digest: Digest  # relative to the package directory


@rule(desc="Collect files from a linuxkit_package's dependencies", level=LogLevel.DEBUG)
async def dependency_files(request: DependencyFilesRequest) -> DependencyFiles:
    """Files that dependencies put in the package directory: `files` targets and generated files
    (a `shell_command`'s outputs, say), as Pants' docker backend does for its contexts."""
    info = request.info
    wrapped = await Get(
        WrappedTarget, WrappedTargetRequest(info.address, description_of_origin="the linuxkit backend")
    )
    deps = await Get(Targets, DependenciesRequest(wrapped.target[LinuxkitPackageDependenciesField]))
    fields = [t[SourcesField] for t in deps if t.has_field(SourcesField)]
    if not fields:
        return DependencyFiles(EMPTY_DIGEST)
    files = await Get(
        SourceFiles,
        SourceFilesRequest(fields, for_sources_types=(FileSourceField,), enable_codegen=True),
    )
    prefix = f"{info.directory}/" if info.directory else ""
    # The owners of extra-sources files are inferred dependencies; extra-sources places those.
    extra = tuple(
        f"{posixpath.normpath(posixpath.join(info.directory, e.src))}/" for e in info.definition.extra_sources
    )
    inside = [f for f in files.snapshot.files if f.startswith(prefix)]
    outside = [f for f in files.snapshot.files if not f.startswith(prefix) and not f.startswith(extra)]
    if outside:
        raise LinuxkitError(
            f"{info.address.spec_path or '.'}/BUILD: dependencies: {outside[0]} is outside the "
            f"package directory {info.directory or '.'}, so it cannot be in the build context"
        )
    digest = files.snapshot.digest
    if len(inside) != len(files.snapshot.files):
        digest = await Get(Digest, DigestSubset(digest, PathGlobs(inside)))
    return DependencyFiles(await Get(Digest, RemovePrefix(digest, info.directory)) if prefix else digest)


@rule(desc="Assemble a linuxkit build context", level=LogLevel.DEBUG)
async def build_context(request: BuildContextRequest) -> BuildContext:
    info = request.info
    definition = info.definition
    where = f"{info.build_yml_path}"
    problem = dockerfile_problem(definition.dockerfile)
    if problem:
        raise LinuxkitError(f"{where}: dockerfile: {problem}")
    package = (await Get(SourceTree, SourceTreeRequest(info.directory, where))).snapshot
    dockerfile_path = posixpath.normpath(posixpath.join(info.directory, definition.dockerfile))
    if dockerfile_path not in package.files:
        raise LinuxkitError(
            f"{where}: dockerfile: {definition.dockerfile} does not exist in {info.directory or '.'}"
        )

    sources = []
    for index, extra in enumerate(definition.extra_sources):
        src = posixpath.normpath(posixpath.join(info.directory, extra.src))
        if src == ".." or src.startswith("../"):
            raise LinuxkitError(
                f"{where}: extra-sources[{index}]: {extra.src} is outside the repository"
            )
        sources.append((src, extra.dst.lstrip("/")))
    extra_trees = await MultiGet(
        Get(SourceTree, SourceTreeRequest(src, f"{where}: extra-sources[{index}]"))
        for index, (src, _) in enumerate(sources)
    )
    extra_snapshots = [tree.snapshot for tree in extra_trees]
    for (src, _), snapshot in zip(sources, extra_snapshots):
        if not snapshot.files:
            raise LinuxkitError(f"{where}: extra-sources: {src} has no files")
    placed = await MultiGet(
        Get(Digest, RemovePrefix(snapshot.digest, src)) for (src, _), snapshot in zip(sources, extra_snapshots)
    )
    placed = await MultiGet(
        Get(Digest, AddPrefix(digest, dst)) for digest, (_, dst) in zip(placed, sources)
    )

    depends = definition.depends
    tars = []
    if depends.images:
        target = depends.target_dir or depends.target
        if depends.target_dir:
            requests = [
                DockerImageTarRequest(
                    image,
                    posixpath.join(target, f"{os.path.basename(split_reference(image)[0])}@"
                                   f"{image.rpartition('@')[2]}.tar"),
                    f"{where}: depends.docker-images",
                )
                for image in depends.images
            ]  # fmt: skip
            tars = list(await MultiGet(Get(DockerImageTar, DockerImageTarRequest, r) for r in requests))
        else:
            # One tarball for every image: fetch each, then merge the docker-save archives.
            requests = [
                DockerImageTarRequest(image, f"{i}.tar", f"{where}: depends.docker-images")
                for i, image in enumerate(depends.images)
            ]
            fetched = await MultiGet(Get(DockerImageTar, DockerImageTarRequest, r) for r in requests)
            tars = [await merge_docker_archives(fetched, target)]

    generated = await Get(DependencyFiles, DependencyFilesRequest(info))
    package_digest = (
        await Get(Digest, RemovePrefix(package.digest, info.directory)) if info.directory else package.digest
    )
    merged = await Get(Digest, MergeDigests([package_digest, generated.digest, *placed, *(t.digest for t in tars)]))
    context = await Get(Digest, AddPrefix(merged, CONTEXT_DIR))
    dockerfile_text = await Get(DigestContents, PathGlobs([dockerfile_path]))
    return BuildContext(
        digest=context,
        dockerfile=definition.dockerfile,
        dockerfile_text=dockerfile_text[0].content.decode("utf-8", "replace"),
    )


def rules():
    return [*collect_rules(), *source_tree.rules()]
