from __future__ import annotations

from linuxkit.goals.package import BuiltLinuxkitArtifact, LinuxkitOciArchiveFieldSet, package_linuxkit
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import LinuxkitBuildYmlField, LinuxkitOutputPathField
from linuxkit.util_rules.docker_load import DockerLoad, DockerLoadRequest
from linuxkit.util_rules.dry_run import DryRun, DryRunRequest
from linuxkit.util_rules.image import LinuxkitImage, LinuxkitImageRequest
from linuxkit.util_rules.testing import package_tag
from pants.engine.addresses import Address
from pants.engine.fs import EMPTY_DIGEST, EMPTY_FILE_DIGEST, CreateDigest, Digest, DigestEntries, FileContent, FileEntry
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

ADDRESS = Address("pkg/foo")
FIELD_SET = LinuxkitOciArchiveFieldSet(
    ADDRESS, LinuxkitBuildYmlField("build.yml", ADDRESS), LinuxkitOutputPathField(None, ADDRESS)
)


def package(dry_run: bool):
    created: list[CreateDigest] = []
    image = LinuxkitImage(
        tag=package_tag(), platforms=("linux/amd64", "linux/arm64", "linux/s390x"),
        built=("linux/amd64",), pulled=("linux/arm64",), layout=EMPTY_DIGEST, archive=EMPTY_DIGEST,
        index_digest="sha256:i", manifests=FrozenDict({"linux/amd64": "sha256:a"}),
    )  # fmt: skip
    built = run_rule_with_mocks(
        package_linuxkit,
        rule_args=[FIELD_SET, create_subsystem(LinuxkitSubsystem, dry_run=dry_run, docker=False)],
        mock_gets=[
            MockGet(output_type=DryRun, input_types=(DryRunRequest,), mock=lambda _: DryRun(("line 1", "line 2"))),
            MockGet(output_type=Digest, input_types=(CreateDigest,), mock=lambda c: created.append(c) or EMPTY_DIGEST),
            MockGet(output_type=LinuxkitImage, input_types=(LinuxkitImageRequest,), mock=lambda _: image),
            MockGet(output_type=DigestEntries, input_types=(Digest,),
                    mock=lambda _: DigestEntries([FileEntry("image.oci.tar", EMPTY_FILE_DIGEST)])),
            MockGet(output_type=DockerLoad, input_types=(DockerLoadRequest,), mock=lambda _: DockerLoad(())),
        ],
    )  # fmt: skip
    return built, created


def test_dry_run_writes_and_logs_the_lines_and_builds_nothing() -> None:
    built, created = package(dry_run=True)
    (artifact,) = built.artifacts
    assert artifact.relpath == "pkg.foo/foo.dry-run.txt" and artifact.extra_log_lines == ("line 1", "line 2")
    assert created == [CreateDigest([FileContent("pkg.foo/foo.dry-run.txt", b"line 1\nline 2\n")])]


def test_build_says_where_each_platform_came_from() -> None:
    built, _ = package(dry_run=False)
    (artifact,) = built.artifacts
    assert isinstance(artifact, BuiltLinuxkitArtifact) and artifact.relpath == "pkg.foo/foo.oci.tar"
    assert artifact.extra_log_lines == (
        "docker.io/linuxkit/foo:abc sha256:i",
        "  linux/amd64 sha256:a (built)",
        "  linux/arm64  (from the registry)",
        "  linux/s390x  (from the linuxkit cache)",
    )
