from __future__ import annotations

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.remote_image import PullPlatformRequest, RemotePlatformRequest, pull_platform, remote_platform
from linuxkit.pkglib.mirrors import parse_mirrors
from linuxkit.util_rules.registry_mirrors import RegistryMirrors
from linuxkit.util_rules.skopeo import SkopeoProcess
from linuxkit.util_rules.testing import failed_result, ok_result
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.process import FallibleProcessResult, Process
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

NO_MIRRORS = RegistryMirrors(FrozenDict())
REQUEST = PullPlatformRequest("127.0.0.1:5000/linuxkit/foo:abc", "arm64", "sha256:d", "arm64.tar")


def pull(result: FallibleProcessResult, mirrors=NO_MIRRORS, **options):
    seen: list[SkopeoProcess] = []
    subsystem = create_subsystem(
        LinuxkitSubsystem, **{"insecure_registries": [], "registry_ca_file": None, **options}
    )
    run_rule_with_mocks(
        pull_platform,
        rule_args=[REQUEST, subsystem, mirrors],
        mock_gets=[
            MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,),
                    mock=lambda _: EnvironmentVars({"HOME": "/root"})),
            MockGet(output_type=Process, input_types=(SkopeoProcess,),
                    mock=lambda r: seen.append(r) or Process(argv=("skopeo",), description="d")),
            MockGet(output_type=FallibleProcessResult, input_types=(Process,), mock=lambda _: result),
        ],
    )  # fmt: skip
    return seen


def test_pull_copies_by_digest_into_an_oci_archive() -> None:
    (process,) = pull(ok_result())
    assert process.args == (
        "copy", "--quiet", "--src-tls-verify=false", "docker://127.0.0.1:5000/linuxkit/foo@sha256:d",
        "oci-archive:arm64.tar:127.0.0.1:5000/linuxkit/foo:abc-arm64",
    )  # fmt: skip
    assert process.output_files == ("arm64.tar",) and dict(process.env) == {"HOME": "/root"}


def test_pull_with_a_ca_file_verifies_against_its_directory() -> None:
    (process,) = pull(ok_result(), registry_ca_file="/certs/ca.pem")
    assert "--src-cert-dir=/certs" in process.args and "--src-tls-verify=false" not in process.args


def test_pull_failure_is_the_last_stderr_line() -> None:
    with pytest.raises(LinuxkitError) as e:
        pull(failed_result("time=x level=info\nmanifest unknown\n"))
    assert str(e.value) == (
        "127.0.0.1:5000/linuxkit/foo:abc linux/arm64: cannot pull sha256:d: manifest unknown"
    )


def test_registry_lookup_can_be_switched_off() -> None:
    result = run_rule_with_mocks(
        remote_platform,
        rule_args=[RemotePlatformRequest("docker.io/x/y:t", "amd64"),
                   create_subsystem(LinuxkitSubsystem, check_registry=False), NO_MIRRORS],  # fmt: skip
    )
    assert result.digest is None


def test_pull_reads_through_the_mirror_over_plain_http() -> None:
    mirrors = RegistryMirrors(FrozenDict(parse_mirrors([("http://mirror.example:5001", "[linuxkit].mirror")])))
    (process,) = pull(ok_result(), mirrors, registry_ca_file="/certs/ca.pem")
    assert process.args[2:4] == ("--src-tls-verify=false", "docker://mirror.example:5001/linuxkit/foo@sha256:d")
    assert process.args[-1] == "oci-archive:arm64.tar:127.0.0.1:5000/linuxkit/foo:abc-arm64"
