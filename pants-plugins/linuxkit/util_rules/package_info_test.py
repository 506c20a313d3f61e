from __future__ import annotations

import pytest

from linuxkit.target_types import LinuxkitPackageTarget
from linuxkit.util_rules.package_info import LinuxkitPackageInfo, LinuxkitPackageInfoRequest, rules
from pants.engine.addresses import Address
from pants.engine.internals.scheduler import ExecutionError
from pants.engine.rules import QueryRule
from pants.testutil.rule_runner import RuleRunner


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(
        rules=[*rules(), QueryRule(LinuxkitPackageInfo, [LinuxkitPackageInfoRequest])],
        target_types=[LinuxkitPackageTarget],
    )


def info(rule_runner: RuleRunner, build_yml: bytes) -> LinuxkitPackageInfo:
    rule_runner.write_files({"pkg/x/BUILD": "linuxkit_package()\n", "pkg/x/build.yml": build_yml})
    return rule_runner.request(LinuxkitPackageInfo, [LinuxkitPackageInfoRequest(Address("pkg/x"))])


def test_reads_build_yml(rule_runner: RuleRunner) -> None:
    assert info(rule_runner, b"image: x\norg: me\n").definition.org == "me"


def test_a_build_yml_that_is_not_utf8_is_one_line(rule_runner: RuleRunner) -> None:
    with pytest.raises(ExecutionError) as e:
        info(rule_runner, b"image: x\n# caf\xe9\n")
    (error,) = e.value.wrapped_exceptions
    assert str(error) == (
        "pkg/x/build.yml: invalid YAML: not UTF-8 (or UTF-16 with a byte order mark) "
        "text: invalid continuation byte at byte 14"
    )
