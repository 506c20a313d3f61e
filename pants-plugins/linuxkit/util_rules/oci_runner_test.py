"""A shareable pkglib process (one a remote cache may share) runs pkglib with Pants' interpreter
reached through the named-cache link: its key holds no path of this machine."""

from __future__ import annotations

import os
import sys

import pytest

from linuxkit.util_rules.buildkit_tools import STANDARD_PATH, BuildkitTools
from linuxkit.util_rules.oci_runner import PkglibRunner
from linuxkit.util_rules.oci_runner import rules as runner_rules
from pants.engine.fs import EMPTY_DIGEST
from pants.engine.process import FallibleProcessResult, Process
from pants.testutil.rule_runner import QueryRule, RuleRunner


def absolute_values(process: Process) -> list[str]:
    """Key values that name a place on this machine (the standard PATH is the same on all)."""
    values = [*process.argv, *process.env.values(), *process.append_only_caches.values()]
    return [v for v in values if v.startswith("/") and v != STANDARD_PATH]


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        rules=[*runner_rules(), QueryRule(PkglibRunner, []), QueryRule(FallibleProcessResult, [Process])]
    )


def test_shareable_process_runs_pkglib_without_the_interpreters_path(rule_runner: RuleRunner) -> None:
    runner = rule_runner.request(PkglibRunner, [])
    process = Process(
        argv=runner.shareable_argv("no-such-command"),
        env=runner.env,
        input_digest=runner.digest,
        append_only_caches=runner.append_only_caches,
        description="pkglib through the link",
    )
    assert absolute_values(process) == []
    assert not {sys.executable, os.path.realpath(sys.executable)} & set(process.argv)
    result = rule_runner.request(FallibleProcessResult, [process])
    # pkglib's oci_runner ran: its one-line error for an unknown command.
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
