"""Which builder a platform builds on (spec §3.8): `[linuxkit].builders`, then
`LINUXKIT_BUILDERS`, then a docker context named `linuxkit-<os>-<arch>`, then the backend's
own buildkitd. A builder is a BuildKit address or a docker context, in which a
`linuxkit-builder` container runs BuildKit as linuxkit does."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.platforms import builder_for, is_buildkit_address, parse_builders
from linuxkit.subsystems.buildkit import BuildkitSubsystem
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from pants.engine.engine_aware import EngineAwareReturnType
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

BUILDER_CONTAINER = "linuxkit-builder"


@dataclass(frozen=True)
class PlatformBuilderRequest:
    platform: str


@dataclass(frozen=True)
class PlatformBuilder:
    name: str  # "" for the backend's own buildkitd
    env: FrozenDict[str, str]


@dataclass(frozen=True)
class DockerContexts(EngineAwareReturnType):
    """Docker contexts (name -> docker endpoint), read from the docker config in each session."""

    endpoints: FrozenDict[str, str]

    def cacheable(self) -> bool:
        return False


@rule(desc="Read docker contexts", level=LogLevel.DEBUG)
async def docker_contexts() -> DockerContexts:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["DOCKER_CONFIG", "HOME"]))
    config = env.get("DOCKER_CONFIG") or os.path.join(env.get("HOME", "~"), ".docker")
    endpoints = {}
    for meta in Path(os.path.expanduser(config), "contexts", "meta").glob("*/meta.json"):
        try:
            data = json.loads(meta.read_text())
            endpoints[data["Name"]] = data["Endpoints"]["docker"]["Host"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return DockerContexts(FrozenDict(endpoints))


@rule(desc="Choose a builder", level=LogLevel.DEBUG)
async def platform_builder(
    request: PlatformBuilderRequest,
    linuxkit: LinuxkitSubsystem,
    buildkit: BuildkitSubsystem,
    contexts: DockerContexts,
) -> PlatformBuilder:
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["LINUXKIT_BUILDERS"]))
    builders = parse_builders(env.get("LINUXKIT_BUILDERS", "").split(","), "LINUXKIT_BUILDERS")
    builders.update(parse_builders(linuxkit.builders, "[linuxkit].builders"))
    name = builder_for(request.platform, builders, contexts.endpoints)
    if name is None:
        return PlatformBuilder("", FrozenDict())
    if is_buildkit_address(name):
        extra = {}
        if name.startswith("tcp://") and linuxkit.builder_tls_dir:
            extra["LINUXKIT_BUILDKIT_TLS_DIR"] = linuxkit.builder_tls_dir
        return PlatformBuilder(name, FrozenDict({"LINUXKIT_BUILDKIT_ADDR": name, **extra}))
    if name not in contexts.endpoints:
        raise LinuxkitError(
            f"[linuxkit].builders: {request.platform}: provided docker context '{name}' not found"
        )
    endpoint = contexts.endpoints[name]
    ensure_builder_container(name, endpoint, f"moby/buildkit:{buildkit.version}")
    return PlatformBuilder(
        name,
        FrozenDict(
            {"LINUXKIT_BUILDKIT_ADDR": f"docker-container://{BUILDER_CONTAINER}", "DOCKER_HOST": endpoint}
        ),
    )


def ensure_builder_container(context: str, endpoint: str, image: str) -> None:
    """Start `linuxkit-builder` (privileged BuildKit, state in a named volume) if it is not running."""
    import docker  # the Docker SDK; only needed for docker-context builders

    try:
        client = docker.DockerClient(base_url=endpoint)
        try:
            container = client.containers.get(BUILDER_CONTAINER)
            if container.status != "running":
                container.start()
            return
        except docker.errors.NotFound:
            pass
        client.containers.run(
            image,
            name=BUILDER_CONTAINER,
            privileged=True,
            detach=True,
            volumes={f"{BUILDER_CONTAINER}-state": {"bind": "/var/lib/buildkit", "mode": "rw"}},
        )
    except docker.errors.DockerException as e:
        raise LinuxkitError(
            f"error preparing builder based on context '{context}' ({endpoint}): {e}"
        )


def rules():
    return collect_rules()
