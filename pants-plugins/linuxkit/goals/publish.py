"""`pants publish`: push each package's per-arch tags and multi-arch index, plus its release.

Content (blobs, manifests by digest) is uploaded while the publish goal plans, concurrently for
all packages; the tags are written last, by one process per package that the goal runs in turn,
so no tag ever points at content the registry lacks. A git tag `pkg-vX.Y.Z` at HEAD releases the
package as `<org>/<image>:vX.Y.Z`."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from linuxkit.goals.package import BuiltLinuxkitArtifact
from linuxkit.pkglib.names import reference_expand
from linuxkit.pkglib.private_files import write_private
from linuxkit.pkglib.registry.references import parse_ref
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import LinuxkitBuildYmlField, LinuxkitSkipPushField
from linuxkit.util_rules.buildkit_tools import STANDARD_PATH
from linuxkit.util_rules.image import LinuxkitImage, LinuxkitImageRequest
from linuxkit.util_rules.package_info import LinuxkitPackageInfo, LinuxkitPackageInfoRequest
from linuxkit.util_rules.pkglib_process import PkglibProcess
from linuxkit.util_rules.signing import SignedImages, SignImagesRequest
from linuxkit.util_rules.tool_failure import check_process
from linuxkit.util_rules.tag import LinuxkitTag, LinuxkitTagRequest
from pants.base.build_root import BuildRoot
from pants.core.goals.publish import (
    PublishFieldSet,
    PublishOutputData,
    PublishPackages,
    PublishProcesses,
    PublishRequest,
)
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.process import FallibleProcessResult, InteractiveProcess, Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

RELEASE_TAG = re.compile(r"^pkg-(v\d+\.\d+\.\d+)$")


class PublishLinuxkitPackageRequest(PublishRequest):
    pass


@dataclass(frozen=True)
class LinuxkitPublishFieldSet(PublishFieldSet):
    publish_request_type = PublishLinuxkitPackageRequest
    required_fields = (LinuxkitBuildYmlField,)

    build_yml: LinuxkitBuildYmlField
    skip_push: LinuxkitSkipPushField

    def get_output_data(self) -> PublishOutputData:
        return PublishOutputData({"publisher": "linuxkit", **super().get_output_data()})


def creds_args(creds: tuple[str, ...], build_root: str) -> list[str]:
    """`--creds-file <path>`: `[linuxkit].registry_creds` in a private file (pkglib.private_files),
    one per checkout. Not in an environment: Pants' publish goal logs the process it runs (with its
    environment) at debug level, and its engine every other process."""
    if not creds:
        return []
    name = "registry-creds-" + hashlib.sha256(build_root.encode()).hexdigest()[:16]
    return ["--creds-file", write_private(name, "\n".join(creds).encode())]


def release_versions(head_tags) -> list[str]:
    return [m.group(1) for m in map(RELEASE_TAG.match, head_tags) if m]


async def signing_wanted(field_set: LinuxkitPublishFieldSet, linuxkit: LinuxkitSubsystem) -> bool:
    if not linuxkit.signing_key:
        return False
    info = await Get(LinuxkitPackageInfo, LinuxkitPackageInfoRequest(field_set.address))
    return not info.definition.disable_content_trust


@rule(desc="Publish a linuxkit package", level=LogLevel.DEBUG)
async def publish_linuxkit_package(
    request: PublishLinuxkitPackageRequest, linuxkit: LinuxkitSubsystem, build_root: BuildRoot
) -> PublishProcesses:
    field_set = request.field_set
    tag = await Get(LinuxkitTag, LinuxkitTagRequest(field_set.address))
    name = tag.name
    releases = [linuxkit.release] if linuxkit.release else release_versions(tag.git.head_tags)
    refs = [name.canonical] + [name.release(v) for v in releases]
    if field_set.skip_push.value:
        return PublishProcesses(
            [PublishPackages(names=tuple(refs), description=f"(by `skip_push` on {field_set.address})")]
        )
    if tag.git.dirty:
        return PublishProcesses(
            [PublishPackages(names=tuple(refs), description="(a dirty package is never pushed: commit it first)")]
        )
    artifact = next(
        (a for pkg in request.packages for a in pkg.artifacts if isinstance(a, BuiltLinuxkitArtifact)),
        None,
    )
    if artifact is None or not artifact.relpath:
        return PublishProcesses([PublishPackages(names=tuple(refs), description="(nothing was built)")])
    package_digest = next(pkg.digest for pkg in request.packages if artifact in pkg.artifacts)

    env_vars = await Get(EnvironmentVars, EnvironmentVarsRequest(["HOME", "DOCKER_CONFIG"]))
    host = parse_ref(name.canonical).registry
    description = host
    args = ["--archive", artifact.relpath, "--ref", name.canonical,
            *(a for r in refs[1:] for a in ("--release-ref", r))]  # fmt: skip
    if host in linuxkit.insecure_registries:
        args.append("--insecure")
    if linuxkit.registry_ca_file:  # the process runs in a sandbox: give it the whole path
        args += ["--ca-file", os.path.join(build_root.path, linuxkit.registry_ca_file)]
    if linuxkit.force_push:
        args.append("--force")
    if linuxkit.publish_dry_run:
        args.append("--dry-run")

    def push_process(*extra: str) -> PkglibProcess:
        return PkglibProcess(
            args=(*args, *extra),
            description=f"Upload {name.canonical}",
            module="push_runner",
            input_digest=package_digest,
            env=FrozenDict({"PATH": STANDARD_PATH, **env_vars}),
            level=LogLevel.INFO,
            cache_scope=ProcessCacheScope.PER_SESSION,
        )

    creds = creds_args(linuxkit.registry_creds, build_root.path)
    if not linuxkit.publish_dry_run:
        # Upload the content now, concurrently with other packages (no tag is written).
        upload = await Get(Process, PkglibProcess, push_process("--content-only", *creds))
        uploaded = await Get(FallibleProcessResult, Process, upload)
        check_process(uploaded, name.canonical)
        # Signatures are made and verified by digest before any tag is written.
        if await signing_wanted(field_set, linuxkit):
            image = await Get(LinuxkitImage, LinuxkitImageRequest(field_set.address))
            signed = await Get(
                SignedImages,
                SignImagesRequest(host, reference_expand(name.repository),
                                  (image.index_digest, *image.manifests.values())),
            )  # fmt: skip
            description = f"{host}, {len(signed.refs)} manifests signed with {linuxkit.signing_key}"

    push = InteractiveProcess.from_process(await Get(Process, PkglibProcess, push_process(*creds)))
    return PublishProcesses([PublishPackages(names=tuple(refs), process=push, description=description)])


def rules():
    return [*collect_rules(), *LinuxkitPublishFieldSet.rules()]
