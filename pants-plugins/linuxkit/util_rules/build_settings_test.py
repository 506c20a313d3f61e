from __future__ import annotations

import pytest

from linuxkit.pkglib.build_yml import ExtraSource
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
from linuxkit.util_rules.git_hash import SourceDateEpoch, SourceDateEpochRequest
from linuxkit.util_rules.tag import LinuxkitOverrides, LinuxkitTag, LinuxkitTagRequest
from linuxkit.util_rules.testing import package_tag
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.testutil.option_util import create_subsystem
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import MockGet, QueryRule, RuleRunner, run_rule_with_mocks
from pants.util.frozendict import FrozenDict


EPOCH = 1767225600  # 2026-01-01T00:00:00Z
OVERRIDES = LinuxkitOverrides(None, None, None, "HEAD", None, False)


def settings(tag: LinuxkitTag, *, env=None, names=None, files=None, epochs=None, overrides=OVERRIDES, **options):
    """The rule's result; `epochs` collects the SourceDateEpochRequests it makes."""
    defaults = {"build_args": [], "build_arg_file": list(files or {}), "network": None,
                "disable_cache": None, "ssh": [], "reproducible": True}  # fmt: skip
    asked = epochs if epochs is not None else []
    return run_rule_with_mocks(
        build_settings,
        rule_args=[BuildSettingsRequest(Address("pkg/foo")),
                   create_subsystem(LinuxkitSubsystem, **{**defaults, **options}), overrides],
        mock_gets=[
            MockGet(output_type=SourceDateEpoch, input_types=(SourceDateEpochRequest,),
                    mock=lambda r: asked.append(r) or SourceDateEpoch(EPOCH)),
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
        "https_proxy": "http://p:3128", "SOURCE_DATE_EPOCH": str(EPOCH),
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


def test_reproducible_by_default_from_the_hashed_directories() -> None:
    epochs: list = []
    tag = package_tag(extra_sources=(ExtraSource("../../src", "/src"),))
    result = settings(tag, epochs=epochs)
    assert result.build_args["SOURCE_DATE_EPOCH"] == str(EPOCH) and result.rewrite_timestamp
    assert epochs == [SourceDateEpochRequest(("pkg/foo", "src"), "c0ffee", "abc")]
    settings(tag, epochs=epochs, overrides=LinuxkitOverrides(None, None, None, "HEAD", "pkg", False))
    assert epochs[-1].directories == ("pkg", "src")  # [linuxkit].hash_path is hashed


def test_a_source_date_epoch_of_build_yml_or_the_options_wins() -> None:
    assert settings(package_tag(build_args=("SOURCE_DATE_EPOCH=1",))).build_args["SOURCE_DATE_EPOCH"] == "1"
    result = settings(package_tag(), build_args=["SOURCE_DATE_EPOCH=2"])
    assert result.build_args["SOURCE_DATE_EPOCH"] == "2" and result.rewrite_timestamp


def test_not_reproducible_keeps_linuxkits_build_time_timestamps() -> None:
    epochs: list = []
    result = settings(package_tag(), epochs=epochs, reproducible=False)
    assert "SOURCE_DATE_EPOCH" not in result.build_args and not result.rewrite_timestamp
    assert epochs == []  # no history walk


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
