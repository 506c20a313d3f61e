from __future__ import annotations

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.build_context import (
    DockerImageTarRequest,
    dockerfile_problem,
    fetch_docker_image_tar,
)
from linuxkit.pkglib.mirrors import parse_mirrors
from linuxkit.util_rules.registry_mirrors import RegistryMirrors
from linuxkit.util_rules.skopeo import SkopeoProcess
from linuxkit.util_rules.testing import failed_result
from pants.engine.fs import CreateDigest, Digest, DigestEntries
from pants.engine.process import FallibleProcessResult, Process
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

IMAGE = "docker.io/library/alpine:3.20@sha256:" + "a" * 64


@pytest.mark.parametrize(
    "mirrors, source, tls",
    [
        (RegistryMirrors(FrozenDict()), f"docker.io/library/alpine@sha256:{'a' * 64}", "true"),
        (RegistryMirrors(FrozenDict(parse_mirrors([("docker.io=http://127.0.0.1:5001", "m")]))),
         f"127.0.0.1:5001/library/alpine@sha256:{'a' * 64}", "false"),
    ],
)  # fmt: skip
def test_fetch_failure_names_the_package_field_and_image(mirrors, source, tls) -> None:
    seen: list[SkopeoProcess] = []
    with pytest.raises(LinuxkitError) as e:
        run_rule_with_mocks(
            fetch_docker_image_tar,
            rule_args=[DockerImageTarRequest(IMAGE, "x.tar", "pkg/a/build.yml: depends.docker-images"),
                       create_subsystem(LinuxkitSubsystem, insecure_registries=[]), mirrors],
            mock_gets=[
                MockGet(output_type=Process, input_types=(SkopeoProcess,),
                        mock=lambda r: seen.append(r) or Process(argv=("skopeo",), description="d")),
                MockGet(output_type=FallibleProcessResult, input_types=(Process,),
                        mock=lambda _: failed_result("FATA[0001] reading manifest: unauthorized\n")),
                MockGet(output_type=DigestEntries, input_types=(Digest,), mock=lambda _: pytest.fail()),
                MockGet(output_type=Digest, input_types=(CreateDigest,), mock=lambda _: pytest.fail()),
            ],
        )  # fmt: skip
    assert str(e.value) == (
        f"pkg/a/build.yml: depends.docker-images: cannot fetch {IMAGE}: "
        "FATA[0001] reading manifest: unauthorized"
    )
    (process,) = seen
    assert process.args == (
        "copy", "--quiet", f"--src-tls-verify={tls}", f"docker://{source}",
        "docker-archive:image.tar:docker.io/library/alpine:3.20",
    )  # fmt: skip


@pytest.mark.parametrize(
    "dockerfile, problem",
    [("Dockerfile", None), ("../Dockerfile", "cannot expand beyond root"), ("/Dockerfile", "must be relative")],
)
def test_dockerfile_problem(dockerfile: str, problem) -> None:
    found = dockerfile_problem(dockerfile)
    assert found is None if problem is None else problem in found
