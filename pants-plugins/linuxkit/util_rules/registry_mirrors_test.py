from __future__ import annotations

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.registry_mirrors import registry_mirrors
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks


def mirrors(env: str, option: list[str]):
    return run_rule_with_mocks(
        registry_mirrors,
        rule_args=[create_subsystem(LinuxkitSubsystem, mirror=option)],
        mock_gets=[MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,),
                           mock=lambda _: EnvironmentVars({"LINUXKIT_MIRROR": env}))],  # fmt: skip
    )


def test_option_entries_win_over_the_environment() -> None:
    found = mirrors("docker.io=http://env:1, http://all:2", ["docker.io=https://opt:3"])
    assert found.read_location("alpine:3") == ("opt:3/library/alpine:3", False)
    assert found.read_location("quay.io/a/b:1") == ("all:2/a/b:1", True)
    assert mirrors("", []).read_location("quay.io/a/b:1") == ("quay.io/a/b:1", False)


def test_a_bad_environment_entry_names_the_variable() -> None:
    with pytest.raises(LinuxkitError, match=r'^LINUXKIT_MIRROR: mirror "mirror:5000" must start'):
        mirrors("mirror:5000", [])
