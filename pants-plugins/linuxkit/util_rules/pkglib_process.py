"""Runs pkglib's command-line entries (`oci_runner`, `push_runner`) as Pants processes, with
this interpreter and the (stdlib-only) pkglib modules they need: one `PkglibProcess` request
becomes the Process, as `BuildctlProcess` and `SkopeoProcess` do for their tools."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

import linuxkit
from linuxkit.pkglib import oci_runner as _oci_runner  # noqa: F401 (shipped into processes)
from linuxkit.pkglib import push_runner as _push_runner  # noqa: F401 (shipped into processes)
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, FileContent, MergeDigests
from pants.engine.process import Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

RUNNER_DIR = "__lk_oci"
_MODULES = ("__init__.py", "pkglib/__init__.py", "pkglib/errors.py", "pkglib/gotypes.py",
            "pkglib/gojson.py", "pkglib/oci.py", "pkglib/linuxkit_cache.py", "pkglib/oci_runner.py",
            "pkglib/registry/__init__.py", "pkglib/registry/references.py",
            "pkglib/registry/credentials.py", "pkglib/registry/transport.py",
            "pkglib/registry/client.py", "pkglib/registry/push.py", "pkglib/push_runner.py")  # fmt: skip


@dataclass(frozen=True)
class PkglibRunner:
    """The pkglib modules as a digest, and how to run one of its entries."""

    digest: Digest

    def argv(self, *args: str, module: str = "oci_runner") -> tuple[str, ...]:
        return (sys.executable, "-m", f"linuxkit.pkglib.{module}", *args)

    @property
    def env(self) -> dict[str, str]:
        return {"PYTHONPATH": RUNNER_DIR, "PYTHONDONTWRITEBYTECODE": "1"}


@rule
async def pkglib_runner() -> PkglibRunner:
    root = Path(linuxkit.__file__).parent
    digest = await Get(
        Digest,
        CreateDigest(
            [FileContent(f"{RUNNER_DIR}/linuxkit/{m}", (root / m).read_bytes()) for m in _MODULES]
        ),
    )
    return PkglibRunner(digest)


@dataclass(frozen=True)
class PkglibProcess:
    args: Tuple[str, ...]  # after `python -m linuxkit.pkglib.<module>`
    description: str
    module: str = "oci_runner"
    input_digest: Digest = EMPTY_DIGEST
    env: FrozenDict[str, str] = FrozenDict()
    output_files: Tuple[str, ...] = ()
    output_directories: Tuple[str, ...] = ()
    level: LogLevel = LogLevel.DEBUG
    cache_scope: ProcessCacheScope = ProcessCacheScope.SUCCESSFUL


@rule
async def pkglib_process(request: PkglibProcess, runner: PkglibRunner) -> Process:
    input_digest = await Get(Digest, MergeDigests([runner.digest, request.input_digest]))
    return Process(
        argv=runner.argv(*request.args, module=request.module),
        env={**runner.env, **request.env},
        input_digest=input_digest,
        output_files=request.output_files,
        output_directories=request.output_directories,
        description=request.description,
        level=request.level,
        cache_scope=request.cache_scope,
    )


def rules():
    return collect_rules()
