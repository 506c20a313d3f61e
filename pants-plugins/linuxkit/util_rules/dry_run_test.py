from __future__ import annotations

from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.build_settings import BuildSettings, BuildSettingsRequest, ReferencedPackages
from linuxkit.util_rules.dry_run import DryRunRequest, buildx_line, dry_run
from linuxkit.util_rules.testing import build_settings_for, package_tag
from pants.base.build_root import BuildRoot
from pants.engine.addresses import Address
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict


def test_line_is_the_clis_format_with_its_double_spaces() -> None:
    assert buildx_line("linux/amd64", "docker.io/x/y:t-amd64", "/r/p", "Dockerfile", {}, {}, False) == (
        "docker buildx build --platform linux/amd64 -t docker.io/x/y:t-amd64 -f /r/p/Dockerfile   --network=none /r/p"
    )


def lines(settings: BuildSettings, tmp_path) -> tuple[str, ...]:
    root = BuildRoot()
    root.path = str(tmp_path)
    return run_rule_with_mocks(
        dry_run,
        rule_args=[DryRunRequest(Address("pkg/foo")),
                   create_subsystem(LinuxkitSubsystem, platforms=[], skip_platforms=["linux/arm64"]), root],
        mock_gets=[MockGet(output_type=BuildSettings, input_types=(BuildSettingsRequest,), mock=lambda _: settings)],
    ).lines  # fmt: skip


def test_one_line_per_platform_from_the_build_settings(tmp_path) -> None:
    tag = package_tag(arches=("amd64", "arm64"), dockerfile="sub/Dockerfile.x")
    settings = BuildSettings(
        tag=tag, referenced=ReferencedPackages(FrozenDict(), FrozenDict()),
        build_args=FrozenDict({"B": "2", "A": "1 2"}), labels=FrozenDict({"l": "v"}), network=True,
        no_cache=False,
    )  # fmt: skip
    assert lines(settings, tmp_path) == (
        "docker buildx build --platform linux/amd64 -t docker.io/linuxkit/foo:abc-amd64 "
        f"-f {tmp_path}/pkg/foo/sub/Dockerfile.x --build-arg=A=1 2 --build-arg=B=2 --label=l=v "
        f"--network=default {tmp_path}/pkg/foo",
    )


def test_a_proxy_password_is_masked(tmp_path) -> None:
    settings = build_settings_for(package_tag(arches=("amd64",)), env={"https_proxy": "http://u:s3cr3t@p:3128"})
    (line,) = lines(settings, tmp_path)
    assert "--build-arg=https_proxy=http://u:***@p:3128 " in line and "s3cr3t" not in line
