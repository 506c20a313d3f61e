"""`pants publish`: push each package's per-arch tags and multi-arch index, plus its release.

Content (blobs, manifests by digest) is uploaded while the publish goal plans, concurrently for
all packages; the tags are written last, by one process per package that the goal runs in turn,
so no tag ever points at content the registry lacks. A git tag `pkg-vX.Y.Z` at HEAD releases the
package as `<org>/<image>:vX.Y.Z`."""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from linuxkit.goals.package import BuiltLinuxkitArtifact
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.names import reference_expand
from linuxkit.pkglib.registry.references import parse_ref
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import LinuxkitBuildYmlField, LinuxkitSkipPushField
from linuxkit.util_rules.buildkit_tools import STANDARD_PATH
from linuxkit.util_rules.image import LinuxkitImage, LinuxkitImageRequest
from linuxkit.util_rules.oci_runner import PkglibRunner
from linuxkit.util_rules.package_info import LinuxkitPackageInfo, LinuxkitPackageInfoRequest
from linuxkit.util_rules.signing import SignedImages, SignImagesRequest
from linuxkit.util_rules.tag import LinuxkitTag, LinuxkitTagRequest
from pants.base.build_environment import get_buildroot
from pants.core.goals.publish import (
    PublishFieldSet,
    PublishOutputData,
    PublishPackages,
    PublishProcesses,
    PublishRequest,
)
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import Digest, MergeDigests
from pants.engine.process import FallibleProcessResult, InteractiveProcess, Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel

RELEASE_TAG = re.compile(r"^pkg-(v\d+\.\d+\.\d+)$")
CREDS_ENV = "LINUXKIT_REGISTRY_CREDS"


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


@contextmanager
def _creds_file(creds: tuple[str, ...]) -> Iterator[list[str]]:
    if not creds:
        yield []
        return
    fd, path = tempfile.mkstemp(prefix="linuxkit-creds-")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(creds))
        yield ["--creds-file", path]
    finally:
        os.unlink(path)


def release_versions(head_tags) -> list[str]:
    return [m.group(1) for m in map(RELEASE_TAG.match, head_tags) if m]


async def signing_wanted(field_set: LinuxkitPublishFieldSet, linuxkit: LinuxkitSubsystem) -> bool:
    if not linuxkit.signing_key:
        return False
    info = await Get(LinuxkitPackageInfo, LinuxkitPackageInfoRequest(field_set.address))
    return not info.definition.disable_content_trust


@rule(desc="Publish a linuxkit package", level=LogLevel.DEBUG)
async def publish_linuxkit_package(
    request: PublishLinuxkitPackageRequest, linuxkit: LinuxkitSubsystem, runner: PkglibRunner
) -> PublishProcesses:
    field_set = request.field_set
    tag = await Get(LinuxkitTag, LinuxkitTagRequest(field_set.address))
    name = tag.name
    refs = [name.canonical] + [name.release(v) for v in release_versions(tag.git.head_tags)]
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
    input_digest = await Get(Digest, MergeDigests([runner.digest, package_digest]))
    host = parse_ref(name.canonical).registry
    description = host
    argv = [*runner.argv("--archive", artifact.relpath, "--ref", name.canonical,
                         *(a for r in refs[1:] for a in ("--release-ref", r)), module="push_runner")]  # fmt: skip
    if host in linuxkit.insecure_registries:
        argv.append("--insecure")
    if linuxkit.registry_ca_file:  # the process runs in a sandbox: give it the whole path
        argv += ["--ca-file", os.path.join(get_buildroot(), linuxkit.registry_ca_file)]
    if linuxkit.force_push:
        argv.append("--force")
    env = {**runner.env, "PATH": STANDARD_PATH, **env_vars}

    if not linuxkit.publish_dry_run:
        # Upload the content now, concurrently with other packages (no tag is written). Secrets
        # go through a private file named in the argv, so they are in no process key or store.
        with _creds_file(linuxkit.registry_creds) as creds_args:
            uploaded = await Get(
                FallibleProcessResult,
                Process(
                    argv=[*argv, "--content-only", *creds_args],
                    env=env,
                    input_digest=input_digest,
                    description=f"Upload {name.canonical}",
                    level=LogLevel.INFO,
                    cache_scope=ProcessCacheScope.PER_SESSION,
                ),
            )
        if uploaded.exit_code != 0:
            raise LinuxkitError(f"{name.canonical}: {uploaded.stderr.decode().strip()}")
        # Signatures are made and verified by digest before any tag is written.
        if await signing_wanted(field_set, linuxkit):
            image = await Get(LinuxkitImage, LinuxkitImageRequest(field_set.address))
            signed = await Get(
                SignedImages,
                SignImagesRequest(host, reference_expand(name.repository),
                                  (image.index_digest, *image.manifests.values())),
            )  # fmt: skip
            description = f"{host}, {len(signed.refs)} manifests signed with {linuxkit.signing_key}"

    if linuxkit.publish_dry_run:
        argv.append("--dry-run")
    if linuxkit.registry_creds:
        argv += ["--creds-env", CREDS_ENV]
        env[CREDS_ENV] = "\n".join(linuxkit.registry_creds)
    process = InteractiveProcess(argv=argv, env=env, input_digest=input_digest)
    return PublishProcesses(
        [PublishPackages(names=tuple(refs), process=process, description=description)]
    )


def rules():
    return [*collect_rules(), *LinuxkitPublishFieldSet.rules()]
