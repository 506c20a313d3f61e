from __future__ import annotations

from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.build_settings import (
    BuildSettingsRequest,
    ReferencedPackages,
    ReferencedPackagesRequest,
    build_settings,
)
from linuxkit.util_rules.tag import LinuxkitTag, LinuxkitTagRequest
from linuxkit.util_rules.testing import package_tag
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict


def settings(tag: LinuxkitTag, *, build_args=(), env=None, names=None):
    return run_rule_with_mocks(
        build_settings,
        rule_args=[BuildSettingsRequest(Address("pkg/foo")), create_subsystem(LinuxkitSubsystem, build_args=list(build_args))],
        mock_gets=[
            MockGet(output_type=LinuxkitTag, input_types=(LinuxkitTagRequest,), mock=lambda _: tag),
            MockGet(output_type=ReferencedPackages, input_types=(ReferencedPackagesRequest,),
                    mock=lambda _: ReferencedPackages(FrozenDict(names or {}), FrozenDict())),
            MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,),
                    mock=lambda _: EnvironmentVars(env or {})),
        ],
    )  # fmt: skip


def test_presets_fill_what_build_yml_and_options_leave_unset() -> None:
    tag = package_tag(build_args=("A=yml", "PKG_HASH=mine", "B=yml"), gitrepo="https://g/r")
    result = settings(tag, build_args=[" B = opt ", "C=opt"], env={"https_proxy": "http://p:3128"})
    assert dict(result.build_args) == {
        "A": "yml", "B": "opt", "C": "opt", "PKG_HASH": "mine",
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
