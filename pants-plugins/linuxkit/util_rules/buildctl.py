"""Every buildctl invocation: `BuildctlProcess` becomes the Process (tools, builder address,
the backend's own buildkitd state); `PlatformBuildRequest` builds one platform of a package
into an OCI tar, with the argv made by `buildctl_build_argv` alone.

Proxy args with credentials are in that argv masked (`http://u:***@proxy:3128`): the password is
in no process key, cache or Pants log. `build_platform` writes the real `--opt` value to a private
file named by the masked one (pkglib.private_files), from which lk-buildctl restores it for the
buildctl it runs (whose own argv, like `docker build --build-arg`'s, holds it while it runs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Tuple

from linuxkit.pkglib.build_args import redact
from linuxkit.pkglib.buildctl_args import csv_option, key_value
from linuxkit.pkglib.private_files import build_arg_secret_name, write_private
from linuxkit.util_rules.builders import PlatformBuilder, PlatformBuilderRequest
from linuxkit.util_rules.buildkit_tools import TOOLS_DIR, BuildkitTools
from linuxkit.util_rules.sbom_generator import OPTION as SBOM_OPTION
from linuxkit.util_rules.sbom_generator import SbomGenerator
from linuxkit.util_rules.tool_failure import check_process
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import EMPTY_DIGEST, Digest
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class BuildctlProcess:
    args: Tuple[str, ...]  # after `buildctl`
    description: str
    builder: PlatformBuilder = PlatformBuilder("", FrozenDict())
    input_digest: Digest = EMPTY_DIGEST
    output_files: Tuple[str, ...] = ()
    env: FrozenDict[str, str] = FrozenDict()  # beside the tools' and the builder's
    level: LogLevel = LogLevel.INFO
    output_directories: Tuple[str, ...] = ()
    immutable_inputs: FrozenDict[str, Digest] = FrozenDict()  # beside the tools


@rule
async def buildctl_process(request: BuildctlProcess) -> Process:
    tools = await Get(BuildkitTools)
    return Process(
        argv=(tools.buildctl, *request.args),
        env={**tools.env, **request.builder.env, **request.env},
        input_digest=request.input_digest,
        immutable_input_digests={**request.immutable_inputs, TOOLS_DIR: tools.digest},
        append_only_caches=tools.append_only_caches,
        output_files=request.output_files,
        output_directories=request.output_directories,
        description=request.description,
        level=request.level,
    )


@dataclass(frozen=True)
class BaseImage:
    """A `FROM` served by a referenced package's own build (a BuildKit named context)."""

    reference: str  # as the Dockerfile names it
    layout: str  # the OCI layout's directory in the build input
    digest: str  # the index, or for a `<tag>-<arch>` pin that platform's image manifest


@dataclass(frozen=True)
class PlatformBuildRequest:
    name: str  # canonical: the image is `<name>-<arch>` in the OCI tar
    short: str  # `org/image:tag`, for messages
    address: Address
    build_yml: str  # its path, for messages
    platform: str
    dockerfile: str  # relative to `context/`
    build_args: FrozenDict[str, str]  # proxy passwords masked (BuildSettings.build_args)
    labels: FrozenDict[str, str]
    network: bool
    no_cache: bool
    bases: Tuple[BaseImage, ...]
    input_digest: Digest  # `context/` and each base's layout
    force: str = ""  # a fresh value rebuilds (`[linuxkit].force`)
    ssh: Tuple[str, ...] = ()  # `--ssh` specs: `default` (SSH_AUTH_SOCK) or `<id>=<path>`
    # BuildKit's `rewrite-timestamp`: layer files newer than SOURCE_DATE_EPOCH get its time.
    rewrite_timestamp: bool = False
    # `FROM` images read through a registry mirror: (reference as written, mirror location).
    mirrored_bases: Tuple[Tuple[str, str], ...] = ()
    proxy_credentials: FrozenDict[str, str] = field(default=FrozenDict(), repr=False)  # real values

    @property
    def arch(self) -> str:
        return self.platform.split("/", 1)[1]

    @property
    def output(self) -> str:
        return f"{self.arch}.tar"


@dataclass(frozen=True)
class BuiltPlatform:
    digest: Digest  # `<arch>.tar`


def _build_arg(key: str, value: str, where: str) -> str:
    return key_value(f"build-arg:{key}", value, f"{where}: buildArgs")


def store_proxy_credentials(request: PlatformBuildRequest) -> None:
    """The real `--opt` value of each masked proxy arg, where lk-buildctl looks for it."""
    for key, real in request.proxy_credentials.items():
        masked = _build_arg(key, request.build_args[key], request.build_yml)
        option = _build_arg(key, real, request.build_yml).encode() + b"\0"
        write_private(build_arg_secret_name(masked), option)


def buildctl_build_argv(request: PlatformBuildRequest, sbom_generator: str = "") -> Tuple[str, ...]:
    """`buildctl build` arguments for one platform: the only place they are put together. Values
    from build.yml are placed so that none can add a field or an option (pkglib.buildctl_args).
    With `sbom_generator`, BuildKit attaches an SBOM attestation made by that image, as
    `linuxkit pkg build` asks for it (frontend attribute `attest:sbom`)."""
    where = request.build_yml
    argv = ["build", "--progress=plain", "--frontend=dockerfile.v0",
            "--local", "context=context", "--local", "dockerfile=context",
            "--opt", key_value("filename", request.dockerfile, f"{where}: dockerfile"),
            "--opt", f"platform={request.platform}"]  # fmt: skip
    for key, value in sorted(request.build_args.items()):
        argv += ["--opt", _build_arg(key, value, where)]
    for key, value in sorted(request.labels.items()):
        argv += ["--opt", key_value(f"label:{key}", value, f"{where}: label {key}")]
    argv += ["--opt", f"force-network-mode={'sandbox' if request.network else 'none'}"]
    if request.no_cache:
        argv.append("--no-cache")
    for spec in request.ssh:
        argv += ["--ssh", spec]
    for i, base in enumerate(request.bases):
        argv += ["--oci-layout", f"base{i}={base.layout}", "--opt",
                 key_value(f"context:{base.reference}", f"oci-layout://base{i}@{base.digest}",
                           f"{where}: dockerfile")]  # fmt: skip
    for reference, location in request.mirrored_bases:
        argv += ["--opt", key_value(f"context:{reference}", f"docker-image://{location}", f"{where}: dockerfile")]
    if sbom_generator:
        # The scanner sees parameters as BUILDKIT_SCAN_<key>: the build's epoch dates the SBOM.
        params = [("generator", sbom_generator)]
        if "SOURCE_DATE_EPOCH" in request.build_args:
            params.append(("SOURCE_DATE_EPOCH", request.build_args["SOURCE_DATE_EPOCH"]))
        argv += ["--opt", f"attest:sbom={csv_option(params, SBOM_OPTION)}"]
    output = [("type", "oci"), ("dest", request.output), ("name", f"{request.name}-{request.arch}")]
    if request.rewrite_timestamp:
        output.append(("rewrite-timestamp", "true"))
    argv += ["--output", csv_option(output, f"{where}: tag")]
    return tuple(argv)


OWN_BUILDKITD = "buildkitd (the backend's own)"
_UNREACHABLE = ("connection refused", "no such file or directory", "connection reset",
                "i/o timeout", "no route to host", "failed to dial", "transport: error")  # fmt: skip


def build_failure(stderr: str, platform: str, builder: PlatformBuilder) -> str:
    """One line for a builder that cannot be reached or cannot emulate, else the log's tail."""
    lines = stderr.strip().splitlines()
    last = lines[-1] if lines else "no output"
    if ".buildkit_qemu_emulator" in stderr or "exec format error" in stderr:
        return (
            f"buildkit was unable to emulate {platform}. check binfmt has been set up and works "
            "for this platform (qemu-user-static)"
        )
    if not any(line.startswith("#") for line in lines) and any(u in stderr.lower() for u in _UNREACHABLE):
        return f"cannot reach the builder {builder.name or OWN_BUILDKITD}: {last}"
    tail = "\n".join(lines[-15:])
    return f"build failed; BuildKit's log ends with:\n{tail}"


@rule(desc="Build a platform with BuildKit", level=LogLevel.DEBUG)
async def build_platform(request: PlatformBuildRequest) -> BuiltPlatform:
    builder = await Get(PlatformBuilder, PlatformBuilderRequest(request.platform))
    # The agent socket is machine-specific: it enters the process key only when asked for.
    ssh_env = await Get(EnvironmentVars, EnvironmentVarsRequest(["SSH_AUTH_SOCK"] if request.ssh else []))
    sbom = await Get(SbomGenerator)
    process = await Get(
        Process,
        BuildctlProcess(
            args=buildctl_build_argv(request, sbom.reference),
            description=f"Building {request.short} for {request.platform}",
            builder=builder,
            input_digest=request.input_digest,
            output_files=(request.output,),
            env=FrozenDict({**ssh_env, **sbom.env, **({"LINUXKIT_FORCE": request.force} if request.force else {})}),
            immutable_inputs=sbom.immutable_inputs,
        ),
    )
    # Here, right before the process may run, so a file removed since (a /tmp clean-up) is back.
    store_proxy_credentials(request)
    result = await Get(FallibleProcessResult, Process, process)
    secrets = request.proxy_credentials.values()
    check_process(
        result,
        f"{request.short} ({request.address}) {request.platform}",
        lambda stderr: build_failure(redact(stderr, secrets), request.platform, builder),
    )
    return BuiltPlatform(result.output_digest)


def rules():
    return collect_rules()
