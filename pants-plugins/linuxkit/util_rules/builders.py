"""Which builder a platform builds on (docs/linuxkit-pkg.md §3.8): `[linuxkit].builders`, then
`LINUXKIT_BUILDERS`, then a docker context named `linuxkit-<os>-<arch>`, then the backend's
own buildkitd. A builder is a BuildKit address or a docker context, in which a
`linuxkit-builder` container runs BuildKit as linuxkit does."""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

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
BUILDKITD_CONFIG = "/etc/buildkit/buildkitd.toml"
_BUILDER_ENV = {"name": "LINUXKIT_BUILDER_NAME", "image": "LINUXKIT_BUILDER_IMAGE",
                "config": "LINUXKIT_BUILDER_CONFIG"}  # fmt: skip


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
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["LINUXKIT_BUILDERS", *_BUILDER_ENV.values()]))
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
    container = BuilderContainer(
        name=linuxkit.builder_name or env.get(_BUILDER_ENV["name"]) or BUILDER_CONTAINER,
        image=linuxkit.builder_image or env.get(_BUILDER_ENV["image"]) or f"moby/buildkit:{buildkit.version}",
        config=linuxkit.builder_config or env.get(_BUILDER_ENV["config"]) or None,
        restart=linuxkit.builder_restart,
    )  # fmt: skip
    ensure_builder_container(name, endpoint, container)
    return PlatformBuilder(
        name,
        FrozenDict(
            {"LINUXKIT_BUILDKIT_ADDR": f"docker-container://{container.name}", "DOCKER_HOST": endpoint}
        ),
    )


@dataclass(frozen=True)
class BuilderContainer:
    name: str
    image: str
    config: Optional[str]  # a buildkitd config.toml on this machine
    restart: bool


def _config_archive(path: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise LinuxkitError(f"[linuxkit].builder_config: cannot read {path}: {e.strerror}")
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        info = tarfile.TarInfo(BUILDKITD_CONFIG.lstrip("/"))
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def ensure_builder_container(context: str, endpoint: str, wanted: BuilderContainer, client=None) -> None:
    """Run BuildKit (privileged, state in a named volume) in the container `wanted.name`, as
    linuxkit's `builderEnsureContainer` does: an existing one is kept unless its image differs or
    a restart is asked for."""
    import docker  # the Docker SDK; only needed for docker-context builders

    config = _config_archive(wanted.config) if wanted.config else None
    try:
        client = client or docker.DockerClient(base_url=endpoint)
        try:
            container = client.containers.get(wanted.name)
            if not wanted.restart and wanted.image in (container.image.tags or []):
                if container.status != "running":
                    container.start()
                return
            container.remove(force=True)
        except docker.errors.NotFound:
            pass
        container = client.containers.create(
            wanted.image,
            name=wanted.name,
            privileged=True,
            volumes={f"{wanted.name}-state": {"bind": "/var/lib/buildkit", "mode": "rw"}},
        )
        if config is not None:
            container.put_archive("/", config)
        container.start()
    except docker.errors.DockerException as e:
        raise LinuxkitError(
            f"error preparing builder based on context '{context}' ({endpoint}): {e}"
        )


def rules():
    return collect_rules()
