from __future__ import annotations

import pytest

from linuxkit.pkglib.build_yml import ExtraSource
from linuxkit.util_rules.build_settings import BuildArgFile, BuildArgFileRequest, read_build_arg_file
from linuxkit.util_rules.git_hash import SourceDateEpochRequest
from linuxkit.util_rules.tag import LinuxkitOverrides
from linuxkit.util_rules.testing import EPOCH
from linuxkit.util_rules.testing import build_settings_for as settings
from linuxkit.util_rules.testing import package_tag
from pants.engine.internals.scheduler import ExecutionError
from pants.testutil.rule_runner import QueryRule, RuleRunner


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


def test_proxy_passwords_are_masked_in_the_build_args_and_kept_apart() -> None:
    proxy = "http://u:s3cr3t@p:3128"
    result = settings(package_tag(), env={"http_proxy": proxy, "no_proxy": "localhost"},
                      build_args=[f"HTTPS_PROXY={proxy}"])  # fmt: skip
    assert result.build_args["http_proxy"] == result.build_args["HTTPS_PROXY"] == "http://u:***@p:3128"
    assert result.build_args["no_proxy"] == "localhost"
    assert dict(result.proxy_credentials) == {"http_proxy": proxy, "HTTPS_PROXY": proxy}
    assert "s3cr3t" not in repr(result)
