"""Platforms already published (spec §3.3 step 3): a platform in the registry is not built but
taken from there, by digest (so the copy is an ordinary cacheable process)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from linuxkit.pkglib import registry
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.registry_mirrors import RegistryMirrors
from linuxkit.util_rules.skopeo import SkopeoProcess
from linuxkit.util_rules.tool_failure import check_process
from pants.engine.engine_aware import EngineAwareReturnType
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import Digest
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
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


@rule(desc="Look for a platform in its registry", level=LogLevel.DEBUG)
async def remote_platform(
    request: RemotePlatformRequest, linuxkit: LinuxkitSubsystem, mirrors: RegistryMirrors
) -> RemotePlatform:
    if not linuxkit.check_registry:
        return RemotePlatform(None)
    creds = registry.CredentialStore.from_specs(linuxkit.registry_creds)
    name, plain_http = mirrors.read_location(request.name)
    insecure = plain_http or registry.parse_ref(name).registry in linuxkit.insecure_registries
    return RemotePlatform(
        registry.remote_image_for(
            name, request.arch, credentials=creds, insecure=insecure, ca_file=linuxkit.registry_ca_file
        )
    )


@dataclass(frozen=True)
class PullPlatformRequest:
    name: str
    arch: str
    digest: str
    output: str


@rule(desc="Take a platform from its registry", level=LogLevel.DEBUG)
async def pull_platform(
    request: PullPlatformRequest, linuxkit: LinuxkitSubsystem, mirrors: RegistryMirrors
) -> Digest:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["HOME", "DOCKER_CONFIG"]))
    source, plain_http = mirrors.read_location(f"{request.name.rsplit(':', 1)[0]}@{request.digest}")
    host = source.split("/", 1)[0]
    tls = ["--src-tls-verify=false"] if plain_http or linuxkit.skips_tls_verification(host) else []
    if linuxkit.registry_ca_file and not plain_http:
        tls = [f"--src-cert-dir={os.path.dirname(linuxkit.registry_ca_file)}"]
    process = await Get(
        Process,
        SkopeoProcess(
            args=("copy", "--quiet", *tls, f"docker://{source}",
                  f"oci-archive:{request.output}:{request.name}-{request.arch}"),  # fmt: skip
            description=f"Pull {request.name} for linux/{request.arch} from its registry",
            purpose=f"{request.name}: pulling from its registry",
            output_files=(request.output,),
            env=FrozenDict(env),
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    check_process(result, f"{request.name} linux/{request.arch}: cannot pull {request.digest}")
    return result.output_digest


def rules():
    return collect_rules()
