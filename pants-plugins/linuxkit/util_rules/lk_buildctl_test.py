"""scripts/lk-buildctl.sh with stand-ins for buildkitd and buildctl (the edge: the script's own
start, lock and pid logic is what runs)."""

from __future__ import annotations

import os
import pkgutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from linuxkit.pkglib.private_files import build_arg_secret_name, private_dir, write_private

FAKE_BUILDKITD = """#!/bin/bash
# Serves until killed: "up" while its socket file exists.
sock=${4#unix://}
touch "$sock"
trap 'rm -f "$sock"; exit 0' TERM
while :; do sleep 0.1; done
"""

FAKE_BUILDCTL = """#!/bin/bash
[ "$1" = --addr ] || exit 2
[ "$3 $4" != "debug workers" ] || exec test -e "${2#unix://}"
echo "buildctl $*"
"""


@pytest.fixture
def tools(tmp_path: Path) -> Path:
    tools = tmp_path / "tools"
    tools.mkdir()
    script = pkgutil.get_data("linuxkit.util_rules", "scripts/lk-buildctl.sh")
    for name, text in [("lk-buildctl", script.decode()), ("buildkitd", FAKE_BUILDKITD),
                       ("buildctl", FAKE_BUILDCTL), ("runc", "#!/bin/sh\n")]:  # fmt: skip
        (tools / name).write_text(text)
        (tools / name).chmod(0o755)
    (tools / "fingerprint").write_text("one\n")
    return tools


def run(
    tools: Path, cache: Path, version: str = "v1", args: tuple[str, ...] = ("build", "--x"), **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(tools / "lk-buildctl"), *args],
        env={"PATH": os.environ["PATH"], "BUILDKIT_VERSION": version,
             "LINUXKIT_BUILDKITD_STATE": str(cache), **env},  # fmt: skip
        capture_output=True,
        text=True,
        timeout=60,
    )


def daemon_pid(cache: Path, version: str = "v1") -> int:
    return int((cache / version / "pid").read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


@pytest.fixture
def cache(tmp_path: Path):
    cache = tmp_path / "cache"
    cache.mkdir()
    yield cache
    for pid_file in cache.glob("*/pid"):
        try:
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def test_starts_once_and_passes_arguments(tools: Path, cache: Path) -> None:
    first = run(tools, cache)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"buildctl --addr unix://{cache}/v1/buildkitd.sock build --x"
    pid = daemon_pid(cache)
    assert run(tools, cache).returncode == 0
    assert daemon_pid(cache) == pid and alive(pid)


def test_the_daemon_does_not_hold_the_start_lock(tools: Path, cache: Path) -> None:
    assert run(tools, cache).returncode == 0
    assert alive(daemon_pid(cache))
    free = subprocess.run(["flock", "-n", str(cache / "v1/.lock"), "true"])
    assert free.returncode == 0


def test_a_stale_pid_file_never_signals_another_process(tools: Path, cache: Path) -> None:
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        (cache / "v1").mkdir()
        (cache / "v1/pid").write_text(f"{bystander.pid}\n")
        assert run(tools, cache).returncode == 0
        assert bystander.poll() is None
        assert daemon_pid(cache) != bystander.pid
    finally:
        bystander.kill()


def test_other_versions_keep_their_daemons(tools: Path, cache: Path) -> None:
    assert run(tools, cache, "v1").returncode == 0
    assert run(tools, cache, "v2").returncode == 0
    assert alive(daemon_pid(cache, "v1")) and alive(daemon_pid(cache, "v2"))


def test_new_tools_restart_the_daemon(tools: Path, cache: Path) -> None:
    assert run(tools, cache).returncode == 0
    old = daemon_pid(cache)
    (tools / "fingerprint").write_text("two\n")
    assert run(tools, cache).returncode == 0
    assert daemon_pid(cache) != old
    for _ in range(50):
        if not alive(old):
            break
        time.sleep(0.1)
    assert not alive(old)


def test_waiting_for_the_lock_times_out_with_one_line(tools: Path, cache: Path) -> None:
    (cache / "v1").mkdir()
    holder = subprocess.Popen(["flock", str(cache / "v1/.lock"), "sleep", "30"])
    try:
        time.sleep(0.3)
        result = run(tools, cache, LINUXKIT_BUILDKITD_LOCK_WAIT="1")
        assert result.returncode == 1
        assert result.stderr.strip() == f"lk-buildctl: waited 1s for {cache}/v1/.lock"
    finally:
        holder.kill()


def test_a_socket_path_too_long_is_one_line(tools: Path, tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100)
    deep.mkdir()
    result = run(tools, deep)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "longer than a unix socket path may be" in result.stderr


@pytest.fixture
def masked_proxy():
    """A masked proxy `--opt` (unique, so that its secret file is this test's) and its file."""
    masked = f"build-arg:HTTPS_PROXY=http://u:***@{uuid.uuid4().hex}:3128"
    secret = Path(private_dir(), build_arg_secret_name(masked))
    yield masked, secret
    secret.unlink(missing_ok=True)


def test_a_masked_proxy_arg_gets_its_real_value_from_its_private_file(tools: Path, cache: Path, masked_proxy) -> None:
    masked, secret = masked_proxy
    real = masked.replace("***", "p@ss w0rd")
    write_private(secret.name, real.encode() + b"\0")
    other = "build-arg:NOTE=a ***@b"  # not a proxy arg: as it is
    result = run(tools, cache, args=("build", "--opt", masked, "--opt", other))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"build --opt {real} --opt {other}")


def test_a_masked_proxy_arg_without_its_file_is_one_line(tools: Path, cache: Path, masked_proxy) -> None:
    masked, _ = masked_proxy
    result = run(tools, cache, args=("build", "--opt", masked))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"lk-buildctl: no credentials for {masked} in {private_dir()}: run the build again\n"
