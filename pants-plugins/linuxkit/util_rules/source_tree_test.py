from __future__ import annotations

import os

import pytest

from linuxkit.util_rules.source_tree import SourceTree, SourceTreeRequest, rules
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.rules import QueryRule
from pants.testutil.rule_runner import RuleRunner

WHERE = "pkg/x/build.yml"


@pytest.fixture
def rule_runner() -> RuleRunner:
    runner = RuleRunner(rules=[*rules(), QueryRule(SourceTree, [SourceTreeRequest])])
    runner.write_files(
        {"secrets.env": "SECRET=1\n", "pkg/x/build.yml": "image: x\n", "pkg/x/sub/f": "inside\n"}
    )
    return runner


def link(runner: RuleRunner, path: str, target: str) -> None:
    os.symlink(target, os.path.join(runner.build_root, path))


def error(runner: RuleRunner, directory: str = "pkg/x") -> str:
    with pytest.raises(ExecutionError) as e:
        runner.request(SourceTree, [SourceTreeRequest(directory, WHERE)])
    lines = [line for line in str(e.value).splitlines() if "LinuxkitError" in line]
    assert len(lines) == 1, str(e.value)
    return lines[0]


def test_links_inside_the_tree_are_followed(rule_runner: RuleRunner) -> None:
    link(rule_runner, "pkg/x/cfg", "sub/f")
    link(rule_runner, "pkg/x/dir", "sub")
    tree = rule_runner.request(SourceTree, [SourceTreeRequest("pkg/x", WHERE)])
    assert tree.snapshot.files == ("pkg/x/build.yml", "pkg/x/cfg", "pkg/x/dir/f", "pkg/x/sub/f")


def test_a_link_to_a_file_outside_is_refused(rule_runner: RuleRunner) -> None:
    link(rule_runner, "pkg/x/cfg", "../../secrets.env")
    assert error(rule_runner).endswith(
        "LinuxkitError: pkg/x/build.yml: symlink pkg/x/cfg -> ../../secrets.env leads outside "
        "pkg/x; the build context takes no content through such a link (linuxkit sends it as a "
        "link): replace it with a copy"
    )


def test_a_link_to_a_directory_outside_is_refused(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"other/key": "k\n"})
    link(rule_runner, "pkg/x/sub/other", "../../../other")
    assert "symlink pkg/x/sub/other -> ../../../other leads outside pkg/x" in error(rule_runner)


def test_an_absolute_link_is_refused(rule_runner: RuleRunner) -> None:
    link(rule_runner, "pkg/x/abs", os.path.join(rule_runner.build_root, "secrets.env"))
    assert f"symlink pkg/x/abs -> {rule_runner.build_root}/secrets.env is absolute" in error(rule_runner)


def test_an_extra_source_is_its_own_tree(rule_runner: RuleRunner) -> None:
    link(rule_runner, "pkg/x/sub/up", "../../../secrets.env")
    assert "symlink pkg/x/sub/up -> ../../../secrets.env leads outside pkg/x/sub" in error(
        rule_runner, "pkg/x/sub"
    )
