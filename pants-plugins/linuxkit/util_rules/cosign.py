"""cosign, built once from its Go module by a cacheable process, and the one rule that turns a
`CosignProcess` (a cosign command line) into the Process that runs it.

cosign processes sign, verify or read a key: they act on a registry or need a passphrase, so they
are never cached beyond the session. The passphrase reaches cosign through `lk-cosign`
(`scripts/lk-cosign.sh`), which reads it from a private file or a command: it is in no argv or
environment that Pants records."""

from __future__ import annotations

from dataclasses import dataclass

from linuxkit.subsystems.buildkit import BuildkitSubsystem
from linuxkit.subsystems.cosign import CosignSubsystem
from linuxkit.util_rules.buildkit_tools import GO_TEST, STANDARD_PATH, Tool, ToolRequest, go_install, packaged_script
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, FileContent, MergeDigests, RemovePrefix
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

COSIGN_DIR = "__cosign"


@dataclass(frozen=True)
class CosignBinary:
    """`cosign` and its `lk-cosign` wrapper, mounted at `__cosign/`."""

    digest: Digest


@rule(desc="Provision cosign", level=LogLevel.DEBUG)
async def cosign_binary(cosign: CosignSubsystem, buildkit: BuildkitSubsystem) -> CosignBinary:
    purpose = f"[cosign]: building cosign {cosign.version} from its Go module"
    go = (await Get(Tool, ToolRequest("go", purpose, test_args=GO_TEST))).path
    version_flag = f"-X sigs.k8s.io/release-utils/version.gitVersion={cosign.version}"
    built = await Get(ProcessResult, Process, go_install(
        go, buildkit, f"{cosign.module}/cmd/cosign@{cosign.version}", version_flag,
        f"Build cosign {cosign.version} from its Go module", timeout=1800,
    ))  # fmt: skip
    wrapper = await Get(
        Digest, CreateDigest([FileContent("out/lk-cosign", packaged_script("lk-cosign.sh"), is_executable=True)])
    )
    merged = await Get(Digest, MergeDigests([built.output_digest, wrapper]))
    return CosignBinary(await Get(Digest, RemovePrefix(merged, "out")))


@dataclass(frozen=True)
class CosignProcess:
    """A cosign command line. `env` holds no secret: the passphrase is named by
    `LK_COSIGN_PASSWORD_FILE` or `LK_COSIGN_PASSWORD_COMMAND`, registry logins by `DOCKER_CONFIG`."""

    argv: tuple[str, ...]
    description: str
    input_digest: Digest = EMPTY_DIGEST
    env: FrozenDict[str, str] = FrozenDict()
    output_files: tuple[str, ...] = ()


@rule(desc="Set up a cosign process", level=LogLevel.DEBUG)
async def cosign_process(request: CosignProcess, binary: CosignBinary) -> Process:
    return Process(
        argv=(f"{COSIGN_DIR}/lk-cosign", *request.argv),
        input_digest=request.input_digest,
        immutable_input_digests={COSIGN_DIR: binary.digest},
        env={"PATH": STANDARD_PATH, **request.env, "LK_COSIGN": f"{COSIGN_DIR}/cosign"},
        output_files=request.output_files,
        description=request.description,
        level=LogLevel.DEBUG,
        cache_scope=ProcessCacheScope.PER_SESSION,
    )


def rules():
    return collect_rules()
