"""`--linuxkit-docker`: load the built platforms into docker as `<name>-<arch>`, and the one
matching this machine as `<name>` (docs/linuxkit-pkg.md §3.10). Talks to the docker daemon, so it runs once
per session."""

from __future__ import annotations

import platform as host_platform
from dataclasses import dataclass
from typing import Tuple

from linuxkit.util_rules.buildkit_tools import STANDARD_PATH, Tool, ToolRequest
from linuxkit.util_rules.skopeo import SkopeoProcess
from linuxkit.util_rules.tool_failure import check_process
from linuxkit.util_rules.image import LinuxkitImage
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.logging import LogLevel

_GOARCH = {"x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x", "riscv64": "riscv64"}


@dataclass(frozen=True)
class DockerLoadRequest:
    image: LinuxkitImage


@dataclass(frozen=True)
class DockerLoad:
    lines: Tuple[str, ...]


@rule(desc="Load into docker", level=LogLevel.DEBUG)
async def docker_load(request: DockerLoadRequest) -> DockerLoad:
    docker = await Get(Tool, ToolRequest("docker", "[linuxkit].docker"))
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["DOCKER_HOST", "DOCKER_CONTEXT", "HOME"]))
    image = request.image
    name = image.tag.name.canonical
    native = _GOARCH.get(host_platform.machine(), host_platform.machine())
    # Per platform: a docker-save tarball tagged `<name>-<arch>` (and `<name>` for this machine's
    # arch), made by a cacheable process; only `docker load` talks to the daemon.
    loads = []
    for platform in image.platforms:
        arch = platform.split("/", 1)[1]
        loads.append((arch, [f"{name}-{arch}"] + ([name] if arch == native else [])))
    save_processes = await MultiGet(
        Get(
            Process,
            SkopeoProcess(
                args=(f"--override-arch={arch}", "copy", "--quiet",
                      f"oci-archive:image.oci.tar:{name}", f"docker-archive:{arch}.tar:{tags[0]}",
                      *(f"--additional-tag={t}" for t in tags[1:])),  # fmt: skip
                description=f"Save {tags[0]} for docker",
                purpose="[linuxkit].docker",
                input_digest=image.archive,
                output_files=(f"{arch}.tar",),
                level=LogLevel.DEBUG,
            ),
        )
        for arch, tags in loads
    )
    saved = await MultiGet(Get(FallibleProcessResult, Process, p) for p in save_processes)
    for (_, tags), result in zip(loads, saved):
        check_process(result, f"cannot save {tags[0]} for docker")
    results = await MultiGet(
        Get(
            FallibleProcessResult,
            Process(
                argv=[docker.path, "load", "--input", f"{arch}.tar"],
                env={"PATH": STANDARD_PATH, **env},
                input_digest=result.output_digest,
                description=f"Load {', '.join(tags)} into docker",
                level=LogLevel.INFO,
                cache_scope=ProcessCacheScope.PER_SESSION,
            ),
        )
        for (arch, tags), result in zip(loads, saved)
    )
    for (_, tags), result in zip(loads, results):
        check_process(result, f"cannot load {tags[0]} into docker")
    return DockerLoad(tuple(f"  loaded into docker as {t}" for _, tags in loads for t in tags))


def rules():
    return collect_rules()
