"""The multi-arch OCI index of a package, assembled from its per-platform OCI tars by pkglib's
`oci_runner assemble`: an OCI layout and the same as an OCI archive."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Tuple

from linuxkit.util_rules.pkglib_process import PkglibProcess
from linuxkit.util_rules.platform_plan import platform_arch
from linuxkit.util_rules.tool_failure import check_process
from pants.engine.fs import Digest, DigestContents, DigestSubset, PathGlobs, RemovePrefix
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class OciIndexRequest:
    name: str  # canonical
    platforms: Tuple[str, ...]
    tars: Digest  # `<arch>.tar` for each platform


@dataclass(frozen=True)
class OciIndex:
    layout: Digest  # `layout/`: an OCI layout naming the index and each `<name>-<arch>`
    archive: Digest  # `image.oci.tar`: the same, as an OCI archive
    digest: str
    manifests: FrozenDict[str, str]  # platform -> image manifest digest


def assemble_args(request: OciIndexRequest) -> Tuple[str, ...]:
    arches = [platform_arch(p) for p in request.platforms]
    return ("assemble", request.name, "out", *(f"{arch}={arch}.tar" for arch in arches))


@rule(desc="Assemble a multi-arch OCI index", level=LogLevel.DEBUG)
async def oci_index(request: OciIndexRequest) -> OciIndex:
    process = await Get(
        Process,
        PkglibProcess(
            args=assemble_args(request),
            description=f"Assemble the multi-arch index of {request.name}",
            input_digest=request.tars,
            output_directories=("out",),
        ),
    )
    result = await Get(FallibleProcessResult, Process, process)
    check_process(result, f"{request.name}: cannot assemble the index")
    summary_contents = await Get(
        DigestContents, DigestSubset(result.output_digest, PathGlobs(["out/summary.json"]))
    )
    summary = json.loads(summary_contents[0].content)
    output = await Get(Digest, RemovePrefix(result.output_digest, "out"))
    layout, archive = await MultiGet(
        Get(Digest, DigestSubset(output, PathGlobs(["layout/**"]))),
        Get(Digest, DigestSubset(output, PathGlobs(["image.oci.tar"]))),
    )
    return OciIndex(
        layout=layout,
        archive=archive,
        digest=summary["index"]["digest"],
        manifests=FrozenDict(
            {f"linux/{arch}": descs[0]["digest"] for arch, descs in summary["platforms"].items()}
        ),
    )


def rules():
    return collect_rules()
