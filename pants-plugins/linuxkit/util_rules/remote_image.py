"""Platforms already published (docs/linuxkit-pkg.md §3.3 step 3): a platform in the registry is not built but
taken from there, by digest (so the copy is an ordinary cacheable process)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from linuxkit.pkglib.registry.credentials import CredentialStore
from linuxkit.pkglib.registry.references import parse_ref
from linuxkit.pkglib.registry.remote import remote_attestations_for, remote_image_for
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.registry_mirrors import RegistryMirrors
from linuxkit.util_rules.registry_source import RegistryPull, RegistryPullRequest
from pants.base.build_environment import get_buildroot
from pants.engine.engine_aware import EngineAwareReturnType
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, FileContent
from pants.engine.rules import Get, collect_rules, rule
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class RemotePlatformRequest:
    name: str  # canonical
    arch: str


@dataclass(frozen=True)
class RemotePlatform(EngineAwareReturnType):
    digest: Optional[str]  # the image manifest for the platform, if the registry has it

    def cacheable(self) -> bool:
        return False


def _client_options(name: str, plain_http: bool, linuxkit: LinuxkitSubsystem) -> dict:
    host = parse_ref(name).registry
    ca_file = linuxkit.registry_ca_file
    return {
        "insecure": plain_http or host in linuxkit.insecure_registries,
        "ca_file": os.path.join(get_buildroot(), ca_file) if ca_file else None,
    }


@rule(desc="Look for a platform in its registry", level=LogLevel.DEBUG)
async def remote_platform(
    request: RemotePlatformRequest, linuxkit: LinuxkitSubsystem, mirrors: RegistryMirrors
) -> RemotePlatform:
    if not linuxkit.check_registry:
        return RemotePlatform(None)
    creds = CredentialStore.from_specs(linuxkit.registry_creds)
    name, plain_http = mirrors.read_location(request.name)  # through its mirror, if any
    return RemotePlatform(
        remote_image_for(name, request.arch, credentials=creds, **_client_options(name, plain_http, linuxkit))
    )


@dataclass(frozen=True)
class PullPlatformRequest:
    name: str
    arch: str
    digest: str
    output: str


@rule(desc="Take a platform from its registry", level=LogLevel.DEBUG)
async def pull_platform(request: PullPlatformRequest) -> Digest:
    pulled = await Get(
        RegistryPull,
        RegistryPullRequest(
            locator=request.name.rsplit(":", 1)[0],
            digest=request.digest,
            destination=f"oci-archive:{request.output}:{request.name}-{request.arch}",
            output=request.output,
            description=f"Pull {request.name} for linux/{request.arch} from its registry",
            failure=f"{request.name} linux/{request.arch}: cannot pull {request.digest}",
        ),
    )
    return pulled.digest


@dataclass(frozen=True)
class PullAttestationsRequest:
    name: str
    arch: str
    digest: str  # the platform's image manifest
    output: str  # `<arch>.att.tar`, which the index assembly adds to `<arch>.tar`


@rule(desc="Take a platform's attestations from its registry", level=LogLevel.DEBUG)
async def pull_attestations(request: PullAttestationsRequest, linuxkit: LinuxkitSubsystem,
                            mirrors: RegistryMirrors) -> Digest:  # fmt: skip
    """The SBOM attestations the registry's index holds for a pulled platform, so the archive
    has them as the published index does (EMPTY_DIGEST when there are none)."""
    creds = CredentialStore.from_specs(linuxkit.registry_creds)
    name, plain_http = mirrors.read_location(request.name)
    archive = remote_attestations_for(
        name, request.digest, credentials=creds, **_client_options(name, plain_http, linuxkit)
    )
    if archive is None:
        return EMPTY_DIGEST
    return await Get(Digest, CreateDigest([FileContent(request.output, archive)]))


def rules():
    return collect_rules()
