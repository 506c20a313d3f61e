"""The one way a failed tool process (buildctl, skopeo, docker, a pkglib runner) becomes an
error: `LinuxkitError("<context>: <what the tool said>")`, one line unless `explain` says more."""

from __future__ import annotations

from typing import Callable, Optional

from linuxkit.pkglib.errors import LinuxkitError
from pants.engine.process import FallibleProcessResult


def last_stderr_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def check_process(
    result: FallibleProcessResult,
    context: str,
    explain: Optional[Callable[[str], str]] = None,
) -> FallibleProcessResult:
    """`result` if it succeeded, else a LinuxkitError naming `context` and the tool's last word."""
    if result.exit_code == 0:
        return result
    stderr = result.stderr.decode(errors="replace")
    raise LinuxkitError(f"{context}: {(explain or last_stderr_line)(stderr)}")
