"""`pants package`: build a linuxkit_package for every platform; the OCI archive goes to dist/."""

from __future__ import annotations

from dataclasses import dataclass

from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import LinuxkitBuildYmlField, LinuxkitOutputPathField
from linuxkit.util_rules.dry_run import DryRun, DryRunRequest
from linuxkit.util_rules.docker_load import DockerLoad, DockerLoadRequest
from linuxkit.util_rules.image import LinuxkitImage, LinuxkitImageRequest
from pants.core.goals.package import BuiltPackage, BuiltPackageArtifact, PackageFieldSet
from pants.engine.fs import CreateDigest, Digest, DigestEntries, FileContent, FileEntry
from pants.engine.rules import Get, collect_rules, rule
from pants.engine.unions import UnionRule
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class LinuxkitOciArchiveFieldSet(PackageFieldSet):
    required_fields = (LinuxkitBuildYmlField,)

    build_yml: LinuxkitBuildYmlField
    output_path: LinuxkitOutputPathField


@dataclass(frozen=True)
class BuiltLinuxkitArtifact(BuiltPackageArtifact):
    name: str = ""
    index_digest: str = ""


@rule(desc="Package a linuxkit package", level=LogLevel.DEBUG)
async def package_linuxkit(
    field_set: LinuxkitOciArchiveFieldSet, linuxkit: LinuxkitSubsystem
) -> BuiltPackage:
    if linuxkit.dry_run:
        dry = await Get(DryRun, DryRunRequest(field_set.address))
        relpath = field_set.output_path.value_or_default(file_ending="dry-run.txt")
        text = "".join(f"{line}\n" for line in dry.lines).encode()
        digest = await Get(Digest, CreateDigest([FileContent(relpath, text)]))
        return BuiltPackage(digest, (BuiltPackageArtifact(relpath, extra_log_lines=dry.lines),))
    image = await Get(LinuxkitImage, LinuxkitImageRequest(field_set.address))
    name = image.tag.name
    relpath = field_set.output_path.value_or_default(file_ending="oci.tar")
    (entry,) = await Get(DigestEntries, Digest, image.archive)
    assert isinstance(entry, FileEntry)
    digest = await Get(Digest, CreateDigest([FileEntry(relpath, entry.file_digest)]))
    lines = [f"{name.canonical} {image.index_digest}"]
    for platform in image.platforms:
        how = (
            "built" if platform in image.built
            else "from the registry" if platform in image.pulled
            else "from the linuxkit cache"
        )  # fmt: skip
        lines.append(f"  {platform} {image.manifests.get(platform, '')} ({how})")
    if linuxkit.docker:
        loaded = await Get(DockerLoad, DockerLoadRequest(image))
        lines.extend(loaded.lines)
    artifact = BuiltLinuxkitArtifact(
        relpath=relpath,
        extra_log_lines=tuple(lines),
        name=name.canonical,
        index_digest=image.index_digest,
    )
    return BuiltPackage(digest, (artifact,))


def rules():
    return [*collect_rules(), UnionRule(PackageFieldSet, LinuxkitOciArchiveFieldSet)]
