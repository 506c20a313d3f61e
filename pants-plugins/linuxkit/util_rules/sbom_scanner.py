"""The SBOM generator of every build (`[linuxkit].sbom_scanner`), as `linuxkit pkg build
--sbom-scanner` picks it: off (`false`), an image BuildKit pulls, or, by default, the image the
backend assembles itself from syft (`[syft]`) and `lk-sbom-scan` (`scripts/sbom_scanner.go`,
which speaks BuildKit's scanner protocol).

That image never comes from a registry. It is built once, by cacheable processes, into an OCI
layout (`FROM scratch`, the two static binaries, timestamps at 0, so its digest is stable). Each
`buildctl build` that runs first loads it into its builder (`lk-buildctl`, told by
`LINUXKIT_SBOM_SCANNER_*`): a build whose named context is that layout, under the name
`localhost/pants-linuxkit/sbom-scanner`. BuildKit labels what it loads with where it came from,
and resolves a generator named by digest from its content store when the labels match
(moby/buildkit util/imageutil/config.go, util/pull/pull.go), so
`localhost/pants-linuxkit/sbom-scanner@sha256:...` never reaches a registry. A fresh, pruned or
remote builder is loaded the same way, and a build taken from Pants' cache needs no BuildKit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci import check_digest
from linuxkit.subsystems.buildkit import BuildkitSubsystem
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.subsystems.syft import SyftSubsystem
from linuxkit.util_rules.buildctl import BuildctlProcess
from linuxkit.util_rules.sbom_generator import OPTION, SbomGenerator, check_scanner_reference
from linuxkit.util_rules.builders import PlatformBuilder, PlatformBuilderRequest
from linuxkit.util_rules.buildkit_tools import (
    GO_CACHES,
    SearchPaths,
    find_binary,
    go_env,
    go_install,
    packaged_script,
)
from pants.engine.fs import (
    AddPrefix,
    CreateDigest,
    Digest,
    DigestContents,
    DigestSubset,
    FileContent,
    MergeDigests,
    PathGlobs,
    RemovePrefix,
)
from pants.engine.platform import Platform
from pants.engine.process import Process, ProcessResult
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.logging import LogLevel

SCANNER_NAME = "localhost/pants-linuxkit/sbom-scanner"
_HOST_PLATFORMS = {"linux_x86_64": "linux/amd64", "linux_arm64": "linux/arm64"}

DOCKERFILE = b"""\
FROM scratch
COPY syft lk-sbom-scan /
ENV HOME=/tmp SYFT_CHECK_FOR_APP_UPDATE=false SYFT_FILE_METADATA_SELECTION=all SYFT_FILE_METADATA_DIGESTS=sha256
ENTRYPOINT ["/lk-sbom-scan"]
"""


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
async def sbom_scanner_binaries(
    syft: SyftSubsystem, buildkit: BuildkitSubsystem, search: SearchPaths
) -> SbomScannerBinaries:
    go = await find_binary("go", search, test_args=("version",))
    if go is None:
        raise LinuxkitError(
            f"{OPTION}: the default SBOM generator is built from syft's Go module ({syft.module} "
            f"{syft.version}) and needs `go` on [buildkit].search_path ({':'.join(search.paths)}); "
            "set it to an image reference, or to `false`"
        )
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


def layout_manifest(index_json: bytes) -> str:
    """The image manifest digest of a single-image OCI layout's `index.json`."""
    try:
        manifests = json.loads(index_json)["manifests"]
        return check_digest(manifests[0]["digest"])
    except (ValueError, KeyError, IndexError, TypeError, LinuxkitError) as e:
        raise LinuxkitError(f"the SBOM generator image's OCI layout has a malformed index.json: {e}")


@rule(desc="Assemble the SBOM generator image", level=LogLevel.DEBUG)
async def sbom_scanner_image(platform: Platform) -> SbomScannerImage:
    binaries = await Get(SbomScannerBinaries)
    dockerfile = await Get(Digest, CreateDigest([FileContent("Dockerfile", DOCKERFILE)]))
    context = await Get(Digest, AddPrefix(await Get(Digest, MergeDigests([binaries.digest, dockerfile])), "context"))
    builder = await Get(PlatformBuilder, PlatformBuilderRequest(_HOST_PLATFORMS.get(platform.value, "linux/amd64")))
    process = await Get(Process, BuildctlProcess(
        args=("build", "--progress=plain", "--frontend=dockerfile.v0",
              "--local", "context=context", "--local", "dockerfile=context",
              "--opt", "build-arg:SOURCE_DATE_EPOCH=0",
              "--output", "type=oci,dest=layout,tar=false,rewrite-timestamp=true"),
        description="Assemble the SBOM generator image (syft, lk-sbom-scan)",
        builder=builder,
        input_digest=context,
        output_directories=("layout",),
    ))  # fmt: skip
    result = await Get(ProcessResult, Process, process)
    layout = await Get(Digest, RemovePrefix(result.output_digest, "layout"))
    index = await Get(DigestContents, DigestSubset(layout, PathGlobs(["index.json"])))
    return SbomScannerImage(layout, layout_manifest(index[0].content if index else b""))


def rules():
    return collect_rules()
