"""`--linuxkit-docker`: load the built platforms into docker as `<name>-<arch>`, and the one
matching this machine as `<name>` (spec §3.10). Talks to the docker daemon, so it runs once
per session."""

from __future__ import annotations

import platform as host_platform
from dataclasses import dataclass
from typing import Tuple

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.util_rules.buildkit_tools import STANDARD_PATH, SearchPaths, find_binary
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
async def docker_load(request: DockerLoadRequest, search: SearchPaths) -> DockerLoad:
    skopeo = await find_binary("skopeo", search)
    if skopeo is None:
        raise LinuxkitError("[linuxkit].docker: loading into docker needs `skopeo` on the search path")
    env = await Get(EnvironmentVars, EnvironmentVarsRequest(["DOCKER_HOST"]))
    image = request.image
    name = image.tag.name.canonical
    native = _GOARCH.get(host_platform.machine(), host_platform.machine())
    loads = []
    for platform in image.platforms:
        arch = platform.split("/", 1)[1]
        targets = [f"{name}-{arch}"] + ([name] if arch == native else [])
        loads += [(arch, target) for target in targets]
    results = await MultiGet(
        Get(
            FallibleProcessResult,
            Process(
                argv=[skopeo, f"--override-arch={arch}", "copy", "--quiet",
                      f"oci-archive:image.oci.tar:{name}", f"docker-daemon:{target}"],  # fmt: skip
                env={"PATH": STANDARD_PATH, **({"DOCKER_HOST": env["DOCKER_HOST"]} if "DOCKER_HOST" in env else {})},
                input_digest=image.archive,
                description=f"Load {target} into docker",
                level=LogLevel.INFO,
                cache_scope=ProcessCacheScope.PER_SESSION,
            ),
        )
        for arch, target in loads
    )
    for (_, target), result in zip(loads, results):
        if result.exit_code != 0:
            raise LinuxkitError(f"cannot load {target} into docker: {result.stderr.decode().strip()}")
    return DockerLoad(tuple(f"  loaded into docker as {target}" for _, target in loads))


def rules():
    return collect_rules()
