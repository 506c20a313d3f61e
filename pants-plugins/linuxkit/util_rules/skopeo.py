"""Every skopeo invocation: a `SkopeoProcess` request becomes the Process that runs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

from linuxkit.util_rules.buildkit_tools import STANDARD_PATH, Tool, ToolRequest
from pants.engine.fs import EMPTY_DIGEST, Digest
from pants.engine.process import Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel


@dataclass(frozen=True)
class SkopeoProcess:
    args: Tuple[str, ...]  # after `skopeo`
    description: str
    purpose: str  # completes "<purpose> needs `skopeo`" when it is missing
    input_digest: Digest = EMPTY_DIGEST
    output_files: Tuple[str, ...] = ()
    env: FrozenDict[str, str] = FrozenDict()  # beside PATH
    level: LogLevel = LogLevel.INFO
    cache_scope: ProcessCacheScope = ProcessCacheScope.SUCCESSFUL


@rule
async def skopeo_process(request: SkopeoProcess) -> Process:
    skopeo = await Get(Tool, ToolRequest("skopeo", request.purpose))
    return Process(
        argv=(skopeo.path, *request.args),
        env={"PATH": STANDARD_PATH, **request.env},
        input_digest=request.input_digest,
        output_files=request.output_files,
        description=request.description,
        level=request.level,
        cache_scope=request.cache_scope,
    )


def rules():
    return collect_rules()
