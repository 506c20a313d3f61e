from __future__ import annotations

import pytest

from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.build_settings import (
    BuildArgFile,
    BuildArgFileRequest,
    BuildSettingsRequest,
    ReferencedPackages,
    ReferencedPackagesRequest,
    build_settings,
    read_build_arg_file,
)
from linuxkit.util_rules.tag import LinuxkitTag, LinuxkitTagRequest
from linuxkit.util_rules.testing import package_tag
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.testutil.option_util import create_subsystem
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import MockGet, QueryRule, RuleRunner, run_rule_with_mocks
from pants.util.frozendict import FrozenDict


def settings(tag: LinuxkitTag, *, env=None, names=None, files=None, **options):
    defaults = {"build_args": [], "build_arg_file": list(files or {}), "network": None,
                "disable_cache": None, "ssh": []}  # fmt: skip
    return run_rule_with_mocks(
        build_settings,
        rule_args=[BuildSettingsRequest(Address("pkg/foo")), create_subsystem(LinuxkitSubsystem, **{**defaults, **options})],
        mock_gets=[
            MockGet(output_type=BuildArgFile, input_types=(BuildArgFileRequest,),
                    mock=lambda r: BuildArgFile(FrozenDict(files[r.path]))),
            MockGet(output_type=LinuxkitTag, input_types=(LinuxkitTagRequest,), mock=lambda _: tag),
            MockGet(output_type=ReferencedPackages, input_types=(ReferencedPackagesRequest,),
                    mock=lambda _: ReferencedPackages(FrozenDict(names or {}), FrozenDict())),
            MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,),
                    mock=lambda _: EnvironmentVars(env or {})),
        ],
    )  # fmt: skip


def test_presets_fill_what_build_yml_and_options_leave_unset() -> None:
    tag = package_tag(build_args=("A=yml", "PKG_HASH=mine", "B=yml"), gitrepo="https://g/r")
    result = settings(tag, build_args=[" B = opt ", "C=opt"], env={"https_proxy": "http://p:3128"},
                      files={"a.args": {"A": "file", "B": "file", "D": "file"}})
    assert dict(result.build_args) == {
        "A": "file", "B": "opt", "C": "opt", "D": "file", "PKG_HASH": "mine",
        "SOURCE": "https://g/r", "REVISION": "c0ffee",
        "GOPKGVERSION": "v0.0.0-20260101000000-c0ffee000000", "PKG_IMAGE": "linuxkit/foo",
        "https_proxy": "http://p:3128",
    }  # fmt: skip
    assert dict(result.labels) == {
        "org.opencontainers.image.source": "https://g/r",
        "org.opencontainers.image.revision": "c0ffee",
        "org.mobyproject.linuxkit.version": "unknown",
        "org.mobyproject.linuxkit.revision": "unknown",
    }
    assert (result.network, result.no_cache, result.dockerfile) == (False, False, "Dockerfile")


def test_lkt_references_network_cache_and_config_label() -> None:
    tag = package_tag(build_args=("BASE=@lkt:pkg:../base",), network=True, disable_cache=True,
                      config_label='{"binds":["/a:/a"]}')  # fmt: skip
    result = settings(tag, names={"pkg/base": ("linuxkit/base", "linuxkit/base:def")})
    assert result.build_args["BASE"] == "linuxkit/base:def"
    assert result.labels["org.mobyproject.config"] == '{"binds":["/a:/a"]}'
    assert (result.network, result.no_cache) == (True, True)


@pytest.mark.parametrize("network, option, expected", [(False, True, True), (True, False, False), (True, None, True)])
def test_network_and_cache_options_override_build_yml(network, option, expected) -> None:
    result = settings(package_tag(network=network, disable_cache=network), network=option, disable_cache=option)
    assert (result.network, result.no_cache) == (expected, expected)


@pytest.fixture
def rule_runner() -> RuleRunner:
    return RuleRunner(rules=[read_build_arg_file, QueryRule(BuildArgFile, [BuildArgFileRequest])])


def test_build_arg_file_lines_are_trimmed(rule_runner: RuleRunner) -> None:
    rule_runner.write_files({"ci/args": " A = 1 \nB=x=y\n"})
    found = rule_runner.request(BuildArgFile, [BuildArgFileRequest("ci/args")])
    assert dict(found.args) == {"A": "1", "B": "x=y"}


@pytest.mark.parametrize(
    "path, text, message",
    [
        ("ci/args", "A=1\n\nB=2\n", "[linuxkit].build_arg_file: ci/args:2: invalid build-arg, must be in format 'arg=value': "),
        ("ci/args", "A=@lkt:pkg:x\n", "[linuxkit].build_arg_file: ci/args:1: `@lkt:` values belong in build.yml buildArgs"),
        ("missing", None, "[linuxkit].build_arg_file: missing: no such file"),
        ("../etc/passwd", None, "[linuxkit].build_arg_file: ../etc/passwd: must be a file inside the build root"),
    ],
)  # fmt: skip
def test_build_arg_file_errors_are_one_line(rule_runner: RuleRunner, path, text, message) -> None:
    if text is not None:
        rule_runner.write_files({path: text})
    with pytest.raises(ExecutionError) as e:
        rule_runner.request(BuildArgFile, [BuildArgFileRequest(path)])
    assert f"LinuxkitError: {message}" in str(e.value)
