from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.cosign import CosignSubsystem
from linuxkit.util_rules.buildkit_tools import packaged_script
from linuxkit.util_rules.buildkit_tools_test import buildkit, process_mocks, tools
from linuxkit.util_rules.cosign import CosignBinary, CosignProcess, cosign_binary, cosign_process
from pants.engine.fs import EMPTY_DIGEST, Digest, MergeDigests
from pants.engine.process import Process, ProcessCacheScope
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict


def cosign() -> CosignSubsystem:
    return create_subsystem(CosignSubsystem, version="v2.6.5", module="github.com/sigstore/cosign/v2")


def build_mocks(processes: list[Process]):
    return [
        *process_mocks(processes),
        MockGet(output_type=Digest, input_types=(MergeDigests,), mock=lambda _: EMPTY_DIGEST),
    ]


def test_cosign_without_go_is_one_line() -> None:
    with pytest.raises(LinuxkitError) as error:
        run_rule_with_mocks(
            cosign_binary, rule_args=[cosign(), buildkit()], mock_gets=[tools(), *build_mocks([])]
        )
    assert str(error.value) == (
        "[cosign]: building cosign v2.6.5 from its Go module needs `go` on [buildkit].search_path (/usr/bin:/bin)"
    )


def test_cosign_is_built_from_the_pinned_module_by_a_cacheable_process() -> None:
    processes: list[Process] = []
    run_rule_with_mocks(
        cosign_binary, rule_args=[cosign(), buildkit()], mock_gets=[tools("go"), *build_mocks(processes)]
    )
    (build,) = processes
    assert build.argv[:2] == ("/usr/bin/go", "install")
    assert build.argv[-1] == "github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5"
    assert "version.gitVersion=v2.6.5" in build.argv[-2]
    assert build.env["GOBIN"] == "{chroot}/out" and build.env["GOPROXY"] == "https://proxy.golang.org"
    assert build.cache_scope == ProcessCacheScope.SUCCESSFUL


def test_cosign_processes_run_the_wrapper_once_per_session() -> None:
    process = run_rule_with_mocks(
        cosign_process,
        rule_args=[
            CosignProcess(("verify", "r@sha256:1"), "Verify", env=FrozenDict({"LK_COSIGN": "/bin/evil", "HOME": "/h"})),
            CosignBinary(EMPTY_DIGEST),
        ],
    )
    assert process.argv == ("__cosign/lk-cosign", "verify", "r@sha256:1")
    assert process.env["LK_COSIGN"] == "__cosign/cosign" and process.env["HOME"] == "/h"
    assert process.cache_scope == ProcessCacheScope.PER_SESSION
    assert set(process.immutable_input_digests) == {"__cosign"}


@pytest.fixture
def wrapper(tmp_path: Path) -> Path:
    """lk-cosign with a stand-in cosign that records its arguments and COSIGN_PASSWORD."""
    script = tmp_path / "lk-cosign"
    script.write_bytes(packaged_script("lk-cosign.sh"))
    script.chmod(0o755)
    fake = tmp_path / "cosign"
    fake.write_text('#!/bin/sh\nprintf "%s|%s" "${COSIGN_PASSWORD-unset}" "$*" > "$OUT"\n')
    fake.chmod(0o755)
    return script


def run_wrapper(wrapper: Path, **env: str) -> tuple[subprocess.CompletedProcess, str]:
    out = wrapper.parent / "out"
    result = subprocess.run(
        [str(wrapper), "sign", "x"],
        env={"PATH": "/usr/bin:/bin", "LK_COSIGN": str(wrapper.parent / "cosign"), "OUT": str(out), **env},
        capture_output=True, text=True,
    )  # fmt: skip
    return result, out.read_text() if out.exists() else ""


def test_wrapper_reads_the_passphrase_from_a_file(wrapper: Path) -> None:
    secret = wrapper.parent / "passphrase"
    secret.write_text("pa ss")
    result, seen = run_wrapper(wrapper, LK_COSIGN_PASSWORD_FILE=str(secret))
    assert result.returncode == 0 and seen == "pa ss|sign x"


def test_wrapper_runs_the_passphrase_command(wrapper: Path) -> None:
    result, seen = run_wrapper(wrapper, LK_COSIGN_PASSWORD_COMMAND="echo from-command")
    assert result.returncode == 0 and seen == "from-command|sign x"


def test_wrapper_stops_when_the_passphrase_command_fails(wrapper: Path) -> None:
    result, seen = run_wrapper(wrapper, LK_COSIGN_PASSWORD_COMMAND="echo partial; exit 3")
    assert result.returncode == 1 and seen == ""
    assert result.stderr == "Error: [linuxkit].signing_passphrase_command failed\n"


def test_wrapper_without_a_passphrase_leaves_cosign_alone(wrapper: Path) -> None:
    result, seen = run_wrapper(wrapper)
    assert result.returncode == 0 and seen == "unset|sign x"
