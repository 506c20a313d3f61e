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
if [ "$4" = --slow ]; then  # a long build: its daemon must still be up when it ends
  sleep 3
  test -e "${2#unix://}" || { echo "the daemon went away during the build" >&2; exit 3; }
fi
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


def test_the_daemon_holds_no_lock(tools: Path, cache: Path) -> None:
    assert run(tools, cache).returncode == 0
    assert alive(daemon_pid(cache))
    for lock in (".lock", ".inuse"):
        assert subprocess.run(["flock", "-n", str(cache / "v1" / lock), "true"]).returncode == 0


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


def test_a_restart_waits_for_the_builds_in_flight(tools: Path, cache: Path) -> None:
    env = {"PATH": os.environ["PATH"], "BUILDKIT_VERSION": "v1", "LINUXKIT_BUILDKITD_STATE": str(cache)}
    slow = subprocess.Popen([str(tools / "lk-buildctl"), "build", "--slow"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    for _ in range(100):
        if (cache / "v1/fingerprint").exists():
            break
        time.sleep(0.05)
    old = daemon_pid(cache)
    (tools / "fingerprint").write_text("two\n")  # another checkout's tools
    restarted = run(tools, cache)
    _, slow_err = slow.communicate(timeout=30)
    assert slow.returncode == 0, slow_err
    assert restarted.returncode == 0, restarted.stderr
    assert daemon_pid(cache) != old


def test_a_restart_blocked_by_builds_gives_up_with_one_line(tools: Path, cache: Path) -> None:
    assert run(tools, cache).returncode == 0
    holder = subprocess.Popen(["flock", "-s", str(cache / "v1/.inuse"), "sleep", "30"])
    try:
        time.sleep(0.3)
        (tools / "fingerprint").write_text("two\n")
        result = run(tools, cache, LINUXKIT_BUILDKITD_BUSY_WAIT="1")
        assert result.returncode == 1
        assert result.stderr.strip() == (
            f"lk-buildctl: builds with other tools (another checkout?) still use {cache}/v1's buildkitd after 1s"
        )
        assert alive(daemon_pid(cache))
    finally:
        holder.kill()


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


# The SBOM generator image is loaded before each build (util_rules/sbom_scanner.py).
RECORDING_BUILDCTL = """#!/bin/bash
[ "$3 $4" != "debug workers" ] || exec test -e "${2#unix://}"
echo "$*" >>"$CALLS"
if [ -f .lk-sbom-load/Dockerfile ] && [ "${3:-}" = build ] && [[ "$*" == *oci-layout* ]]; then
  cp .lk-sbom-load/Dockerfile "$CALLS.dockerfile"
  n=$(cat "$CALLS.fails" 2>/dev/null || echo 0)
  if [ "$n" -gt 0 ]; then echo $((n - 1)) >"$CALLS.fails"; echo "error: load $n failed" >&2; exit 1; fi
fi
"""
SCANNER = "localhost/pants-linuxkit/sbom-scanner@sha256:" + "d" * 64


def run_with_scanner(tools: Path, cache: Path, work: Path, fails: int = 0, **env: str):
    (tools / "buildctl").write_text(RECORDING_BUILDCTL)
    (work / "layout").mkdir(parents=True, exist_ok=True)
    calls = work / "calls"
    (work / "calls.fails").write_text(f"{fails}\n")
    result = subprocess.run(
        [str(tools / "lk-buildctl"), "build", "--x"], cwd=work,
        env={"PATH": os.environ["PATH"], "BUILDKIT_VERSION": "v1", "LINUXKIT_BUILDKITD_STATE": str(cache),
             "CALLS": str(calls), "LINUXKIT_SBOM_SCANNER_IMAGE": SCANNER,
             "LINUXKIT_SBOM_SCANNER_LAYOUT": "layout", **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    lines = calls.read_text().splitlines() if calls.exists() else []
    return result, [line for line in lines if "debug workers" not in line]


def test_the_generator_image_is_loaded_from_its_layout_before_the_build(tools: Path, cache: Path, tmp_path: Path) -> None:
    work = tmp_path / "sandbox"
    result, calls = run_with_scanner(tools, cache, work)
    assert result.returncode == 0, result.stderr
    addr = f"--addr unix://{cache}/v1/buildkitd.sock"
    assert calls == [
        f"{addr} build --progress=plain --frontend=dockerfile.v0 --local context=.lk-sbom-load "
        f"--local dockerfile=.lk-sbom-load --oci-layout lk-sbom-scanner={work / 'layout'} "
        f"--opt context:localhost/pants-linuxkit/sbom-scanner=oci-layout://lk-sbom-scanner@sha256:{'d' * 64}",
        f"{addr} build --x",
    ]
    assert (work / "calls.dockerfile").read_text() == (
        "FROM scratch\nCOPY --from=localhost/pants-linuxkit/sbom-scanner /lk-sbom-scan /\n"
    )
    assert not (work / ".lk-sbom-load").exists()


def test_a_configured_builder_gets_the_generator_image_too(tools: Path, cache: Path, tmp_path: Path) -> None:
    result, calls = run_with_scanner(tools, cache, tmp_path / "sandbox", LINUXKIT_BUILDKIT_ADDR="tcp://b:1")
    assert result.returncode == 0, result.stderr
    assert [c.split(" ", 3)[:3] for c in calls] == [["--addr", "tcp://b:1", "build"]] * 2
    assert "oci-layout" in calls[0] and calls[1] == "--addr tcp://b:1 build --x"


def test_a_racing_load_is_retried_and_a_failing_one_stops_the_build(tools: Path, cache: Path, tmp_path: Path) -> None:
    result, calls = run_with_scanner(tools, cache, tmp_path / "once", fails=1)
    assert result.returncode == 0, result.stderr
    assert len(calls) == 3 and calls[-1].endswith("build --x")

    result, calls = run_with_scanner(tools, cache, tmp_path / "always", fails=3)
    assert result.returncode == 1
    assert result.stderr.startswith("lk-buildctl: cannot load the SBOM generator image into the builder")
    assert "error: load 1 failed" in result.stderr
    assert len(calls) == 3 and not any(c.endswith("build --x") for c in calls)


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
