from __future__ import annotations

from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.registry_mirrors import RegistryMirrors
from linuxkit.util_rules.registry_source import RegistryPull, RegistryPullRequest
from linuxkit.util_rules.remote_image import PullPlatformRequest, RemotePlatformRequest, pull_platform, remote_platform
from pants.engine.fs import EMPTY_DIGEST
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict


def test_pull_copies_the_platform_by_digest_into_an_oci_archive() -> None:
    seen: list[RegistryPullRequest] = []
    run_rule_with_mocks(
        pull_platform,
        rule_args=[PullPlatformRequest("127.0.0.1:5000/linuxkit/foo:abc", "arm64", "sha256:d", "arm64.tar")],
        mock_gets=[MockGet(output_type=RegistryPull, input_types=(RegistryPullRequest,),
                           mock=lambda r: seen.append(r) or RegistryPull(EMPTY_DIGEST))],
    )  # fmt: skip
    (request,) = seen
    assert (request.locator, request.digest, request.output) == ("127.0.0.1:5000/linuxkit/foo", "sha256:d", "arm64.tar")
    assert request.destination == "oci-archive:arm64.tar:127.0.0.1:5000/linuxkit/foo:abc-arm64"
    assert request.failure == "127.0.0.1:5000/linuxkit/foo:abc linux/arm64: cannot pull sha256:d"


def test_registry_lookup_can_be_switched_off() -> None:
    result = run_rule_with_mocks(
        remote_platform,
        rule_args=[RemotePlatformRequest("docker.io/x/y:t", "amd64"),
                   create_subsystem(LinuxkitSubsystem, check_registry=False), RegistryMirrors(FrozenDict())],  # fmt: skip
    )
    assert result.digest is None
