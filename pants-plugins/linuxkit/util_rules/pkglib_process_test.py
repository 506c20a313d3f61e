from __future__ import annotations

import sys

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.util_rules import pkglib_process
from linuxkit.util_rules.pkglib_process import RUNNER_DIR, PkglibProcess
from linuxkit.util_rules.tool_failure import check_process, last_stderr_line
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
        ]
    )


def test_process_runs_the_module_with_the_shipped_pkglib(rule_runner: RuleRunner) -> None:
    process = rule_runner.request(
        Process,
        [PkglibProcess(args=("a", "b"), description="d", module="push_runner",
                       env=FrozenDict({"X": "1"}), cache_scope=ProcessCacheScope.PER_SESSION)],  # fmt: skip
    )
    assert process.argv == (sys.executable, "-m", "linuxkit.pkglib.push_runner", "a", "b")
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
