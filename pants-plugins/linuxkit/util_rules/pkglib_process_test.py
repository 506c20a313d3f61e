from __future__ import annotations

import os
import sys

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.util_rules import pkglib_process
from linuxkit.util_rules.buildkit_tools import STANDARD_PATH, BuildkitTools
from linuxkit.util_rules.pkglib_process import PYTHON_LINK, RUNNER_DIR, PkglibProcess, PkglibRunner
from linuxkit.util_rules.tool_failure import check_process, last_stderr_line
from pants.engine.fs import EMPTY_DIGEST
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.testutil.rule_runner import QueryRule, RuleRunner
from pants.util.frozendict import FrozenDict


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        rules=[
            *pkglib_process.rules(),
            QueryRule(Process, [PkglibProcess]),
            QueryRule(FallibleProcessResult, [Process]),
            QueryRule(PkglibRunner, []),
        ]
    )


def test_process_runs_the_module_with_the_shipped_pkglib(rule_runner: RuleRunner) -> None:
    process = rule_runner.request(
        Process,
        [PkglibProcess(args=("a", "b"), description="d", module="push_runner",
                       env=FrozenDict({"X": "1"}), cache_scope=ProcessCacheScope.PER_SESSION)],  # fmt: skip
    )
    assert process.argv == (".linuxkit-python/" + PYTHON_LINK, "-m", "linuxkit.pkglib.push_runner", "a", "b")
    assert process.append_only_caches == FrozenDict({"linuxkit_python": ".linuxkit-python"})
    assert process.env["PYTHONPATH"] == RUNNER_DIR and process.env["X"] == "1"
    assert process.cache_scope == ProcessCacheScope.PER_SESSION


def test_a_failing_entry_becomes_one_line(rule_runner: RuleRunner) -> None:
    process = rule_runner.request(Process, [PkglibProcess(args=("no-such-command",), description="d")])
    result = rule_runner.request(FallibleProcessResult, [process])
    assert result.exit_code == 1
    with pytest.raises(LinuxkitError, match=r"^oci step: unknown command no-such-command$"):
        check_process(result, "oci step")


@pytest.mark.parametrize(
    "stderr, line",
    [("a\nb\n\n", "b"), ("", "no output"), ("  only  ", "only")],
)
def test_last_stderr_line(stderr: str, line: str) -> None:
    assert last_stderr_line(stderr) == line


# A pkglib process (one a remote cache may share) runs pkglib with Pants' interpreter reached
# through the named-cache link: its key holds no path of this machine.
def absolute_values(process: Process) -> list[str]:
    """Key values that name a place on this machine (the standard PATH is the same on all)."""
    values = [*process.argv, *process.env.values(), *process.append_only_caches.values()]
    return [v for v in values if v.startswith("/") and v != STANDARD_PATH]


def test_process_runs_pkglib_without_the_interpreters_path(rule_runner: RuleRunner) -> None:
    process = rule_runner.request(Process, [PkglibProcess(args=("no-such-command",), description="d")])
    assert absolute_values(process) == []
    assert not {sys.executable, os.path.realpath(sys.executable)} & set(process.argv)
    result = rule_runner.request(FallibleProcessResult, [process])
    # pkglib's oci_runner ran through the link: its one-line error for an unknown command.
    assert (result.exit_code, result.stderr.decode().strip()) == (1, "unknown command no-such-command")


def test_buildctl_process_parts_hold_no_path_of_this_machine() -> None:
    # What the backend's own buildkitd adds to each `buildctl build` Process: a relative wrapper,
    # its state through a named cache, the standard PATH.
    tools = BuildkitTools(digest=EMPTY_DIGEST, version="v0.32.2", path=STANDARD_PATH)
    process = Process(
        argv=(tools.buildctl, "build"),
        env=tools.env,
        append_only_caches=tools.append_only_caches,
        description="buildctl",
    )
    assert absolute_values(process) == []

