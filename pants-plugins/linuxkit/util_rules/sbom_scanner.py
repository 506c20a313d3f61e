"""The SBOM generator of every build (`[linuxkit].sbom_scanner`), as `linuxkit pkg build
--sbom-scanner` picks it: off (`false`), an image BuildKit pulls, or, by default, the image the
backend assembles itself from syft (`[syft]`) and `lk-sbom-scan` (`scripts/sbom_scanner.go`,
which speaks BuildKit's scanner protocol).

That image never comes from a registry, nor from a builder: cacheable processes build the two
static binaries and write them into an OCI layout (`pkglib/scanner_layout.py`: one layer,
timestamps at 0, so its digest is stable). Each
`buildctl build` that runs first loads it into its builder (`lk-buildctl`, told by
`LINUXKIT_SBOM_SCANNER_*`): a build whose named context is that layout, under the name
`localhost/pants-linuxkit/sbom-scanner`. BuildKit labels what it loads with where it came from,
and resolves a generator named by digest from its content store when the labels match
(moby/buildkit util/imageutil/config.go, util/pull/pull.go), so
`localhost/pants-linuxkit/sbom-scanner@sha256:...` never reaches a registry. A fresh, pruned or
remote builder is loaded the same way, and a build taken from Pants' cache needs no BuildKit.
"""

from __future__ import annotations

from dataclasses import dataclass

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci import is_digest
from linuxkit.subsystems.buildkit import BuildkitSubsystem
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.subsystems.syft import SyftSubsystem
from linuxkit.util_rules.pkglib_process import PkglibProcess
from linuxkit.util_rules.sbom_generator import OPTION, SbomGenerator, check_scanner_reference
from linuxkit.util_rules.buildkit_tools import GO_CACHES, GO_TEST, Tool, ToolRequest, go_env, go_install, packaged_script
from pants.engine.fs import AddPrefix, CreateDigest, Digest, FileContent, MergeDigests, RemovePrefix
from pants.engine.platform import Platform
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.logging import LogLevel

SCANNER_NAME = "localhost/pants-linuxkit/sbom-scanner"
_HOST_ARCHES = {"linux_x86_64": "amd64", "linux_arm64": "arm64"}

@dataclass(frozen=True)
class SbomScannerImage:
    """The backend's generator image: an OCI layout and its image manifest's digest."""

    layout: Digest
    digest: str

    @property
    def reference(self) -> str:
        return f"{SCANNER_NAME}@{self.digest}"


@rule(desc="Choose the SBOM generator", level=LogLevel.DEBUG)
async def sbom_generator(linuxkit: LinuxkitSubsystem) -> SbomGenerator:
    value = linuxkit.sbom_scanner.strip()
    if value.lower() == "false":
        return SbomGenerator("")
    if value:
        return SbomGenerator(check_scanner_reference(value))
    image = await Get(SbomScannerImage)
    return SbomGenerator(image.reference, image.layout)


@dataclass(frozen=True)
class SbomScannerBinaries:
    """syft and lk-sbom-scan, static, for this machine's architecture."""

    digest: Digest


@rule(desc="Build syft and lk-sbom-scan", level=LogLevel.DEBUG)
async def sbom_scanner_binaries(syft: SyftSubsystem, buildkit: BuildkitSubsystem) -> SbomScannerBinaries:
    go = (await Get(Tool, ToolRequest(
        "go", f"{OPTION}: the default SBOM generator, built from syft's Go module ({syft.module} {syft.version}),",
        test_args=GO_TEST, hint="; set it to an image reference, or to `false`",
    ))).path  # fmt: skip
    source = await Get(Digest, CreateDigest([FileContent("sbom_scanner.go", packaged_script("sbom_scanner.go"))]))
    syft_built, wrapper_built = await MultiGet(
        Get(ProcessResult, Process, go_install(
            go, buildkit, f"{syft.module}/cmd/syft@{syft.version}", f"-X main.version={syft.version.lstrip('v')}",
            f"Build syft {syft.version} from its Go module", timeout=3600,
        )),
        Get(ProcessResult, Process(
            argv=(go, "build", "-trimpath", "-ldflags=-s -w -buildid=", "-o", "out/lk-sbom-scan", "sbom_scanner.go"),
            env={**go_env(buildkit), "CGO_ENABLED": "0"},
            input_digest=source,
            append_only_caches=GO_CACHES,
            output_directories=("out",),
            description="Build lk-sbom-scan (BuildKit's SBOM scanner protocol)",
            level=LogLevel.DEBUG,
            timeout_seconds=600,
        )),
    )  # fmt: skip
    merged = await Get(Digest, MergeDigests([syft_built.output_digest, wrapper_built.output_digest]))
    return SbomScannerBinaries(await Get(Digest, RemovePrefix(merged, "out")))


@rule(desc="Assemble the SBOM generator image", level=LogLevel.DEBUG)
async def sbom_scanner_image(platform: Platform) -> SbomScannerImage:
    binaries = await Get(SbomScannerBinaries)
    arch = _HOST_ARCHES.get(platform.value, "amd64")
    process = await Get(Process, PkglibProcess(
        args=("bin", arch, "layout"),
        module="scanner_layout",
        description="Assemble the SBOM generator image (syft, lk-sbom-scan)",
        input_digest=await Get(Digest, AddPrefix(binaries.digest, "bin")),
        output_directories=("layout",),
    ))  # fmt: skip
    result = await Get(ProcessResult, Process, process)
    digest = result.stdout.decode().strip()
    if not is_digest(digest):
        raise LinuxkitError(f"{OPTION}: assembling the SBOM generator image printed {digest[:80]!r}, not a digest")
    return SbomScannerImage(await Get(Digest, RemovePrefix(result.output_digest, "layout")), digest)


def rules():
    return collect_rules()
