"""The backend's own buildkitd as `lk-buildctl` leaves it in a Pants named caches directory
(`linuxkit_buildkitd/<version>/`: `bin/`, `root/`, `buildkitd.sock`, `pid`): the builds it
recorded (BuildKit's build history, kept in its root) and stopping it.

Its socket lives in that directory, so the directory's path must stay short (a unix socket's
path has at most 107 bytes): give tests a `tempfile.mkdtemp()` one, not a deep pytest tmp_path."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def state_dirs(named_caches: Path) -> list[Path]:
    return sorted(p for p in (named_caches / "linuxkit_buildkitd").glob("v*") if p.is_dir())


def _buildctl(state: Path, addr: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(state / "bin/buildctl"), "--addr", addr, *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip


def _histories(state: Path, addr: str) -> list[str]:
    result = _buildctl(state, addr, "debug", "histories", "--format", "{{.Record.Ref}}")
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def _daemon_pid(state: Path) -> int | None:
    """The pid in `state/pid` when that process is the buildkitd of this state."""
    try:
        pid = int((state / "pid").read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    return pid if f"{state}/root".encode() in cmdline else None


def recorded_builds(named_caches: Path) -> list[str]:
    """The refs of every build the buildkitds of `named_caches` recorded: asked of the running
    daemon, or of one started on the same root for the question when it is gone."""
    refs: list[str] = []
    for state in state_dirs(named_caches):
        if not (state / "root/history.db").exists():
            continue  # no buildkitd ever ran on this state (it creates its history at start)
        own = f"unix://{state}/buildkitd.sock"
        if _buildctl(state, own, "debug", "workers").returncode == 0:
            refs += _histories(state, own)
            continue
        addr = f"unix://{state}/query.sock"
        daemon = subprocess.Popen(
            [str(state / "bin/buildkitd"), "--root", str(state / "root"), "--addr", addr,
             "--oci-worker=true", "--containerd-worker=false"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        try:
            for _ in range(300):
                if _buildctl(state, addr, "debug", "workers").returncode == 0:
                    break
                time.sleep(0.1)
            refs += _histories(state, addr)
        finally:
            daemon.terminate()
            daemon.wait(timeout=30)
    return refs


def stop_daemons(named_caches: Path) -> None:
    """Stop the buildkitd that lk-buildctl started on each state of `named_caches`."""
    for state in state_dirs(named_caches):
        pid = _daemon_pid(state)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        for _ in range(100):
            if _daemon_pid(state) is None or not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def short_dirs():
    """Makes directories with short paths for named caches (lk-buildctl's socket lives there);
    afterwards stops the buildkitds started in them and removes them."""
    made: list[Path] = []

    def make(name: str) -> Path:
        made.append(Path(tempfile.mkdtemp(prefix=f"lk-{name}-")))
        return made[-1]

    yield make
    for path in made:
        stop_daemons(path)
        shutil.rmtree(path, ignore_errors=True)
