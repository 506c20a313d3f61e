"""Runs pkglib's command-line entries (`oci_runner`, `push_runner`) as Pants processes, with
this interpreter and the (stdlib-only) pkglib modules they need: one `PkglibProcess` request
becomes the Process, as `BuildctlProcess` and `SkopeoProcess` do for their tools."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

import linuxkit
from linuxkit.pkglib import oci_runner as _oci_runner  # noqa: F401 (shipped into processes)
from linuxkit.pkglib import push_runner as _push_runner  # noqa: F401 (shipped into processes)
from linuxkit.pkglib import scanner_layout as _scanner_layout  # noqa: F401 (shipped into processes)
from linuxkit.util_rules.buildkit_tools import STANDARD_PATH
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, FileContent, MergeDigests
from pants.engine.process import Process, ProcessCacheScope, ProcessResult
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

RUNNER_DIR = "__lk_oci"
_MODULES = ("__init__.py", "pkglib/__init__.py", "pkglib/errors.py", "pkglib/gotypes.py",
            "pkglib/gojson.py", "pkglib/oci.py", "pkglib/oci_archive.py", "pkglib/linuxkit_cache.py",
            "pkglib/cache_lookup.py", "pkglib/oci_runner.py", "pkglib/scanner_layout.py",
            "pkglib/registry/__init__.py", "pkglib/registry/references.py",
            "pkglib/registry/credentials.py", "pkglib/registry/transport.py",
            "pkglib/registry/client.py", "pkglib/registry/push.py", "pkglib/push_runner.py")  # fmt: skip

# Pants' interpreter lies under $HOME (its bootstrap or scie cache): a path that differs between
# machines and would make every other machine miss a remote cache. Pkglib processes name it by a
# link in this named cache instead, made in each session, so their keys hold its version only.
PYTHON_CACHE = "linuxkit_python"
PYTHON_DIR = ".linuxkit-python"  # where the named cache appears in a sandbox
PYTHON_LINK = f"python{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class PkglibRunner:
    """The pkglib modules as a digest, and how every pkglib process runs one of its entries:
    Pants' interpreter through the link in `append_only_caches`, which the Process must carry."""

    digest: Digest

    def argv(self, *args: str, module: str = "oci_runner") -> tuple[str, ...]:
        return (f"{PYTHON_DIR}/{PYTHON_LINK}", "-m", f"linuxkit.pkglib.{module}", *args)

    @property
    def append_only_caches(self) -> FrozenDict[str, str]:
        return FrozenDict({PYTHON_CACHE: PYTHON_DIR})

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
    # Replaced atomically (a rename), so a concurrent run of another checkout never sees no link.
    await Get(
        ProcessResult,
        Process(
            argv=("/bin/sh", "-c", 'ln -sfn "$1" "$2.$$" && mv -Tf "$2.$$" "$2"', "link",
                  os.path.realpath(sys.executable), f"{PYTHON_DIR}/{PYTHON_LINK}"),  # fmt: skip
            env={"PATH": STANDARD_PATH},
            append_only_caches={PYTHON_CACHE: PYTHON_DIR},
            description=f"Link Pants' interpreter into the named cache {PYTHON_CACHE}",
            level=LogLevel.DEBUG,
            cache_scope=ProcessCacheScope.PER_SESSION,
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
    # No path of this machine in the key: a remote cache may share the result with any machine.
    return Process(
        argv=runner.argv(*request.args, module=request.module),
        env={**runner.env, **request.env},
        append_only_caches=runner.append_only_caches,
        input_digest=input_digest,
        output_files=request.output_files,
        output_directories=request.output_directories,
        description=request.description,
        level=request.level,
        cache_scope=request.cache_scope,
    )


def rules():
    return collect_rules()
