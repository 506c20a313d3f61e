"""Runs Pants with the linuxkit backend in a temporary repository, as a user would."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import sys
from dataclasses import dataclass
from pathlib import Path

import linuxkit

PLUGIN_ROOT = str(Path(linuxkit.__file__).resolve().parent.parent)


def pants_toml(extra: str = "", global_options: str = "") -> str:
    """`extra`: further sections; `global_options`: lines for [GLOBAL] (TOML has one of each)."""
    return f"""\
[GLOBAL]
pants_version = "2.17.1"
pythonpath = ["{PLUGIN_ROOT}"]
backend_packages = ["linuxkit", "pants.backend.shell"]
pantsd = false
{global_options}

[shell-setup]
dependency_inference = false  # it would download shellcheck
{extra}
"""


@dataclass(frozen=True)
class PantsResult:
    exit_code: int
    stdout: str
    stderr: str

    def assert_success(self) -> "PantsResult":
        assert self.exit_code == 0, f"pants failed ({self.exit_code}):\n{self.stdout}\n{self.stderr}"
        return self


def run_pants(
    buildroot: Path, *args: str, env: dict[str, str] | None = None, python: str = sys.executable
) -> PantsResult:
    """`python -m pants <args>` in `buildroot` with this interpreter (which has Pants installed),
    or `python`, this one's environment at another path."""
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "NO_SCIE_WARNING": "1",
        **(env or {}),
    }
    proc = subprocess.run(
        [python, "-m", "pants", "--no-dynamic-ui", *args],
        cwd=buildroot,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )
    return PantsResult(proc.returncode, proc.stdout, proc.stderr)


def python_at(directory: Path) -> str:
    """This interpreter's environment (a venv) at `directory`, as another machine (another
    $HOME) has it: its pyvenv.cfg and lib beside a link to the interpreter."""
    prefix = Path(sys.prefix)
    (directory / "bin").mkdir(parents=True)
    shutil.copy(prefix / "pyvenv.cfg", directory / "pyvenv.cfg")
    (directory / "lib").symlink_to(prefix / "lib")
    (directory / "bin/python").symlink_to(os.path.realpath(sys.executable))
    return str(directory / "bin/python")


def start_pantsd(buildroot: Path, env: dict[str, str] | None = None) -> None:
    """Start pantsd in `buildroot` before runs that use it: Pants waits only 60 s for it, too little
    on a busy machine (it keeps starting after the client gives up, so a later attempt finds it)."""
    for _ in range(5):
        if run_pants(buildroot, "--pantsd", "--version", env=env).exit_code == 0:
            return
    run_pants(buildroot, "--pantsd", "--version", env=env).assert_success()


def kill_pantsd(buildroot: Path) -> None:
    """Stop the pantsd a test started in `buildroot` (SIGTERM, then SIGKILL after 5 s)."""
    for pid_file in buildroot.glob(".pids/*/pantsd/pid"):
        try:
            pid = int(pid_file.read_text().strip())
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                os.kill(pid, 0)
                time.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
        except (ValueError, ProcessLookupError):
            pass


def local_store() -> list[Path]:
    """The databases of Pants' local store that hold process definitions (Command protos), their
    stdout and stderr and the process cache (`immutable` holds only large output files)."""
    root = Path.home() / ".cache/pants/lmdb_store"
    return [p for name in ("files", "directories", "cache") for p in (root / name).rglob("data.mdb")]


def files_holding(paths, secret: str) -> list[str]:
    """Those of `paths` that are files holding `secret`."""
    needle, found = secret.encode(), []
    for path in paths:
        if not Path(path).is_file():
            continue
        with open(path, "rb") as f:
            tail = b""
            while chunk := f.read(1 << 24):
                if needle in tail + chunk:
                    found.append(str(path))
                    break
                tail = chunk[-len(needle):]
    return found
