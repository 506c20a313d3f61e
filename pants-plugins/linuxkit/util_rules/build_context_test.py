from __future__ import annotations

import pytest

from linuxkit.util_rules.build_context import DockerImageTarRequest, dockerfile_problem, fetch_docker_image_tar
from linuxkit.util_rules.registry_source import RegistryPull, RegistryPullRequest
from pants.engine.fs import EMPTY_DIGEST, EMPTY_FILE_DIGEST, CreateDigest, Digest, DigestEntries, FileEntry
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks

IMAGE = "docker.io/library/alpine:3.20@sha256:" + "a" * 64


def test_fetch_pulls_by_digest_and_names_the_tar_for_the_package() -> None:
    seen: list = []
    run_rule_with_mocks(
        fetch_docker_image_tar,
        rule_args=[DockerImageTarRequest(IMAGE, "images/alpine@x.tar", "pkg/a/build.yml: depends.docker-images")],
        mock_gets=[
            MockGet(output_type=RegistryPull, input_types=(RegistryPullRequest,),
                    mock=lambda r: seen.append(r) or RegistryPull(EMPTY_DIGEST)),
            MockGet(output_type=DigestEntries, input_types=(Digest,),
                    mock=lambda _: DigestEntries([FileEntry("image.tar", EMPTY_FILE_DIGEST)])),
            MockGet(output_type=Digest, input_types=(CreateDigest,), mock=lambda c: seen.append(c) or EMPTY_DIGEST),
        ],
    )  # fmt: skip
    pull, create = seen
    assert (pull.locator, pull.digest) == ("docker.io/library/alpine", "sha256:" + "a" * 64)
    assert pull.destination == "docker-archive:image.tar:docker.io/library/alpine:3.20"
    assert pull.failure == f"pkg/a/build.yml: depends.docker-images: cannot fetch {IMAGE}"
    assert [e.path for e in create] == ["images/alpine@x.tar"]


@pytest.mark.parametrize(
    "dockerfile, problem",
    [("Dockerfile", None), ("../Dockerfile", "cannot expand beyond root"), ("/Dockerfile", "must be relative")],
)
def test_dockerfile_problem(dockerfile: str, problem) -> None:
    found = dockerfile_problem(dockerfile)
    assert found is None if problem is None else problem in found
