from __future__ import annotations

import platform as host_platform

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.util_rules.buildkit_tools import Tool, ToolRequest
from linuxkit.util_rules.docker_load import _GOARCH, DockerLoadRequest, docker_load
from linuxkit.util_rules.image import LinuxkitImage
from linuxkit.util_rules.skopeo import SkopeoProcess
from linuxkit.util_rules.testing import failed_result, ok_result, package_tag
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import EMPTY_DIGEST
from pants.engine.process import FallibleProcessResult, Process
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

NATIVE = _GOARCH.get(host_platform.machine(), host_platform.machine())
OTHER = "s390x" if NATIVE != "s390x" else "amd64"


def load(load_result: FallibleProcessResult):
    image = LinuxkitImage(
        tag=package_tag(), platforms=(f"linux/{NATIVE}", f"linux/{OTHER}"), built=(), pulled=(),
        layout=EMPTY_DIGEST, archive=EMPTY_DIGEST, index_digest="sha256:i", manifests=FrozenDict(),
    )  # fmt: skip
    saves: list[SkopeoProcess] = []

    def run(process: Process) -> FallibleProcessResult:
        return load_result if process.argv[0] == "/usr/bin/docker" else ok_result()

    loaded = run_rule_with_mocks(
        docker_load,
        rule_args=[DockerLoadRequest(image)],
        mock_gets=[
            MockGet(output_type=Tool, input_types=(ToolRequest,), mock=lambda _: Tool("/usr/bin/docker")),
            MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,), mock=lambda _: EnvironmentVars({})),
            MockGet(output_type=Process, input_types=(SkopeoProcess,),
                    mock=lambda r: saves.append(r) or Process(argv=("skopeo", *r.args), description="d")),
            MockGet(output_type=FallibleProcessResult, input_types=(Process,), mock=run),
        ],
    )  # fmt: skip
    return loaded, saves


def test_native_platform_also_gets_the_plain_tag() -> None:
    loaded, saves = load(ok_result())
    name = "docker.io/linuxkit/foo:abc"
    assert [s.args[-2:] for s in saves] == [
        (f"docker-archive:{NATIVE}.tar:{name}-{NATIVE}", f"--additional-tag={name}"),
        (f"oci-archive:image.oci.tar:{name}", f"docker-archive:{OTHER}.tar:{name}-{OTHER}"),
    ]
    assert loaded.lines[-1] == f"  loaded into docker as {name}-{OTHER}"


def test_docker_load_failure_is_one_line() -> None:
    with pytest.raises(LinuxkitError, match=r"^cannot load docker.io/linuxkit/foo:abc-\w+ into docker: no daemon$"):
        load(failed_result("Error\nno daemon\n"))
