from __future__ import annotations

import os
import stat
from types import SimpleNamespace

import pytest

from linuxkit.goals.package import BuiltLinuxkitArtifact
from linuxkit.goals.publish import (
    LinuxkitPublishFieldSet,
    PublishLinuxkitPackageRequest,
    publish_linuxkit_package,
)
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.target_types import LinuxkitBuildYmlField, LinuxkitSkipPushField
from linuxkit.util_rules.image import LinuxkitImage, LinuxkitImageRequest
from linuxkit.util_rules.package_info import LinuxkitPackageInfo, LinuxkitPackageInfoRequest
from linuxkit.util_rules.pkglib_process import PkglibProcess
from linuxkit.util_rules.signing import SignedImages, SignImagesRequest
from linuxkit.util_rules.tag import LinuxkitTag, LinuxkitTagRequest
from linuxkit.util_rules.testing import failed_result, ok_result, package_tag
from pants.base.build_root import BuildRoot
from pants.core.goals.package import BuiltPackage
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import EMPTY_DIGEST
from pants.engine.process import FallibleProcessResult, Process
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks

ADDRESS = Address("pkg/foo")


def publish(upload_result=ok_result(), disable_content_trust=False, **options):
    root = BuildRoot()
    root.path = os.getcwd()
    field_set = LinuxkitPublishFieldSet(
        ADDRESS, LinuxkitBuildYmlField("build.yml", ADDRESS), LinuxkitSkipPushField(None, ADDRESS)
    )
    artifact = BuiltLinuxkitArtifact(relpath="pkg.foo/foo.oci.tar", name="n", index_digest="sha256:i")
    request = PublishLinuxkitPackageRequest(field_set, (BuiltPackage(EMPTY_DIGEST, (artifact,)),))
    seen: list[PkglibProcess] = []
    defaults = {"insecure_registries": [], "registry_ca_file": None, "force_push": False,
                "publish_dry_run": False, "registry_creds": [], "release": None,
                "signing_key": None}  # fmt: skip
    processes = run_rule_with_mocks(
        publish_linuxkit_package,
        rule_args=[request, create_subsystem(LinuxkitSubsystem, **{**defaults, **options}), root],
        mock_gets=[
            MockGet(output_type=LinuxkitTag, input_types=(LinuxkitTagRequest,), mock=lambda _: package_tag()),
            MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,), mock=lambda _: EnvironmentVars({})),
            MockGet(output_type=Process, input_types=(PkglibProcess,),
                    mock=lambda r: seen.append(r) or Process(argv=("py", *r.args), env=dict(r.env), description="d")),
            MockGet(output_type=FallibleProcessResult, input_types=(Process,), mock=lambda _: upload_result),
            MockGet(output_type=LinuxkitPackageInfo, input_types=(LinuxkitPackageInfoRequest,),
                    mock=lambda _: SimpleNamespace(definition=SimpleNamespace(disable_content_trust=disable_content_trust))),
            MockGet(output_type=LinuxkitImage, input_types=(LinuxkitImageRequest,),
                    mock=lambda _: SimpleNamespace(index_digest="sha256:i", manifests={"linux/amd64": "sha256:a"})),
            MockGet(output_type=SignedImages, input_types=(SignImagesRequest,),
                    mock=lambda r: seen.append(r) or SimpleNamespace(refs=r.digests)),
        ],
    )  # fmt: skip
    return processes, seen


def test_content_first_then_tags_and_no_secret_in_a_process_or_its_environment() -> None:
    processes, seen = publish(registry_creds=["r=u:s3cr3t", "q=tok3n"])
    upload, push = seen
    assert upload.args[:4] == ("--archive", "pkg.foo/foo.oci.tar", "--ref", "docker.io/linuxkit/foo:abc")
    assert upload.args[4] == "--content-only" and upload.args[5] == "--creds-file"
    assert upload.module == "push_runner"
    (package,) = processes
    # Pants' publish goal logs this process at debug level (`Execute InteractiveProcess(...)`).
    logged = repr(package.process)
    assert all(secret not in text for secret in ("s3cr3t", "tok3n") for text in (logged, *map(repr, seen)))
    creds_file = package.process.process.argv[-1]
    assert package.process.process.argv[-2] == "--creds-file" and upload.args[6] == creds_file
    try:
        with open(creds_file) as f:
            assert f.read() == "r=u:s3cr3t\nq=tok3n"
        assert stat.S_IMODE(os.stat(creds_file).st_mode) == 0o600
    finally:
        os.unlink(creds_file)


def test_without_credentials_no_file_is_named() -> None:
    processes, seen = publish()
    assert "--creds-file" not in processes[0].process.process.argv
    assert all("--creds-file" not in p.args for p in seen)


def test_dry_run_uploads_nothing() -> None:
    processes, seen = publish(publish_dry_run=True)
    (push,) = seen
    assert "--dry-run" in push.args and "--content-only" not in push.args


def test_upload_failure_is_one_line() -> None:
    with pytest.raises(LinuxkitError, match=r"^docker.io/linuxkit/foo:abc: 127.0.0.1:5000: authentication failed$"):
        publish(failed_result("127.0.0.1:5000: authentication failed\n"))


def test_release_option_names_the_release_instead_of_a_git_tag() -> None:
    _, seen = publish(release="v1.0.0")
    args = seen[0].args
    assert args[args.index("--release-ref") + 1] == "docker.io/linuxkit/foo:v1.0.0"


def test_signs_the_index_and_manifests_after_the_upload_before_the_tags() -> None:
    processes, seen = publish(signing_key="cosign.key")
    upload, sign, push = seen
    assert "--content-only" in upload.args and "--content-only" not in push.args
    assert sign.digests == ("sha256:i", "sha256:a")
    assert processes[0].description == "registry-1.docker.io, 2 manifests signed with cosign.key"


def test_disable_content_trust_signs_nothing() -> None:
    processes, seen = publish(signing_key="cosign.key", disable_content_trust=True)
    assert len(seen) == 2 and processes[0].description == "registry-1.docker.io"
