"""Runs pkglib's command-line entries (`oci_runner`, `push_runner`) as Pants processes, with
this interpreter and the (stdlib-only) pkglib modules they need."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import linuxkit
from linuxkit.pkglib import oci_runner as _oci_runner  # noqa: F401 (shipped into processes)
from linuxkit.pkglib import push_runner as _push_runner  # noqa: F401 (shipped into processes)
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.rules import Get, collect_rules, rule

RUNNER_DIR = "__lk_oci"
_MODULES = ("__init__.py", "pkglib/__init__.py", "pkglib/errors.py", "pkglib/gotypes.py",
            "pkglib/gojson.py", "pkglib/oci.py", "pkglib/linuxkit_cache.py", "pkglib/oci_runner.py",
            "pkglib/registry/__init__.py", "pkglib/registry/references.py",
            "pkglib/registry/credentials.py", "pkglib/registry/transport.py",
            "pkglib/registry/client.py", "pkglib/registry/push.py", "pkglib/push_runner.py")  # fmt: skip


@dataclass(frozen=True)
class PkglibRunner:
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


def rules():
    return collect_rules()
