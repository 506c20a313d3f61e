from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.private_files import build_arg_secret_name, private_dir
from linuxkit.util_rules.builders import PlatformBuilder, PlatformBuilderRequest
from linuxkit.util_rules.buildctl import (
    BaseImage,
    BuildctlProcess,
    BuiltPlatform,
    PlatformBuildRequest,
    build_platform,
    buildctl_build_argv,
    buildctl_process,
)
from linuxkit.util_rules.buildkit_tools import BuildkitTools
from linuxkit.util_rules.sbom_generator import SbomGenerator
from linuxkit.util_rules.testing import failed_result, ok_result
from pants.engine.addresses import Address
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import EMPTY_DIGEST, Digest
from pants.engine.process import FallibleProcessResult, Process
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

TOOLS = BuildkitTools(digest=EMPTY_DIGEST, version="v0.32.2", path="/usr/bin:/bin")


def request(**overrides) -> PlatformBuildRequest:
    fields = dict(
        name="docker.io/linuxkit/init:abc", short="linuxkit/init:abc", address=Address("pkg/init"),
        build_yml="pkg/init/build.yml",
        platform="linux/arm64", dockerfile="Dockerfile", build_args=FrozenDict({"B": "2", "A": "1"}),
        labels=FrozenDict({"l": "v"}), network=False, no_cache=False, bases=(),
        input_digest=EMPTY_DIGEST,
    )  # fmt: skip
    fields.update(overrides)
    return PlatformBuildRequest(**fields)


def test_argv_sorted_args_labels_network_and_output() -> None:
    assert buildctl_build_argv(request()) == (
        "build", "--progress=plain", "--frontend=dockerfile.v0",
        "--local", "context=context", "--local", "dockerfile=context",
        "--opt", "filename=Dockerfile", "--opt", "platform=linux/arm64",
        "--opt", "build-arg:A=1", "--opt", "build-arg:B=2", "--opt", "label:l=v",
        "--opt", "force-network-mode=none",
        "--output", "type=oci,dest=arm64.tar,name=docker.io/linuxkit/init:abc-arm64",
    )  # fmt: skip


def test_argv_reproducible_build_carries_the_epoch_and_rewrites_timestamps() -> None:
    argv = buildctl_build_argv(
        request(build_args=FrozenDict({"SOURCE_DATE_EPOCH": "1767225600"}), rewrite_timestamp=True)
    )
    assert argv[argv.index("build-arg:SOURCE_DATE_EPOCH=1767225600") - 1] == "--opt"
    assert argv[-2:] == (
        "--output", "type=oci,dest=arm64.tar,name=docker.io/linuxkit/init:abc-arm64,rewrite-timestamp=true",
    )  # fmt: skip


def test_argv_without_reproducible_has_no_epoch_nor_rewrite() -> None:
    argv = buildctl_build_argv(request())
    assert not any("SOURCE_DATE_EPOCH" in a or "rewrite-timestamp" in a for a in argv)


def test_argv_network_no_cache_and_bases() -> None:
    argv = buildctl_build_argv(
        request(network=True, no_cache=True,
                bases=(BaseImage("linuxkit/base:1", "__bases/0/layout", "sha256:aa"),),
                mirrored_bases=(("alpine:3", "m:1/library/alpine:3"),))  # fmt: skip
    )
    assert argv[-4:-2] == ("--opt", "context:alpine:3=docker-image://m:1/library/alpine:3")
    assert "force-network-mode=sandbox" in argv and "--no-cache" in argv
    i = argv.index("--oci-layout")
    assert argv[i : i + 4] == (
        "--oci-layout", "base0=__bases/0/layout",
        "--opt", "context:linuxkit/base:1=oci-layout://base0@sha256:aa",
    )  # fmt: skip


def test_buildctl_process_mounts_tools_and_builder_env() -> None:
    process = run_rule_with_mocks(
        buildctl_process,
        rule_args=[
            BuildctlProcess(
                args=("build",), description="d",
                builder=PlatformBuilder("tcp://b:1", FrozenDict({"LINUXKIT_BUILDKIT_ADDR": "tcp://b:1"})),
                output_files=("arm64.tar",), env=FrozenDict({"X": "1"}),
            )  # fmt: skip
        ],
        mock_gets=[MockGet(output_type=BuildkitTools, input_types=(), mock=lambda: TOOLS)],
    )
    assert process.argv == ("__buildkit/lk-buildctl", "build")
    assert process.env["LINUXKIT_BUILDKIT_ADDR"] == "tcp://b:1" and process.env["X"] == "1"
    assert process.env["BUILDKIT_VERSION"] == "v0.32.2"
    assert process.output_files == ("arm64.tar",)
    assert "__buildkit" in process.immutable_input_digests


def _build(result: FallibleProcessResult, builder=PlatformBuilder("", FrozenDict()),
           sbom=SbomGenerator(""), **overrides):  # fmt: skip
    seen: list[BuildctlProcess] = []

    def make_process(req: BuildctlProcess) -> Process:
        seen.append(req)
        return Process(argv=("buildctl", *req.args), description=req.description)

    built = run_rule_with_mocks(
        build_platform,
        rule_args=[request(**overrides)],
        mock_gets=[
            MockGet(output_type=PlatformBuilder, input_types=(PlatformBuilderRequest,), mock=lambda _: builder),
            MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,),
                    mock=lambda r: EnvironmentVars({"SSH_AUTH_SOCK": "/agent"} if r.requested else {})),
            MockGet(output_type=SbomGenerator, input_types=(), mock=lambda: sbom),
            MockGet(output_type=Process, input_types=(BuildctlProcess,), mock=make_process),
            MockGet(output_type=FallibleProcessResult, input_types=(Process,), mock=lambda _: result),
        ],
    )
    return built, seen


def test_build_platform_outputs_the_arch_tar_and_force_token() -> None:
    built, seen = _build(ok_result(), force="f00")
    assert isinstance(built, BuiltPlatform)
    (req,) = seen
    assert req.output_files == ("arm64.tar",)
    assert dict(req.env) == {"LINUXKIT_FORCE": "f00"}
    assert req.args == buildctl_build_argv(request())


@pytest.mark.parametrize(
    "stderr, builder, message",
    [
        ("error: connection refused\n", PlatformBuilder("tcp://b:1", FrozenDict()),
         "linuxkit/init:abc (pkg/init:init) linux/arm64: cannot reach the builder tcp://b:1: error: connection refused"),
        ("failed to dial: no such file or directory\n", PlatformBuilder("", FrozenDict()),
         "cannot reach the builder buildkitd (the backend's own)"),
        ("#5 exec /dev/.buildkit_qemu_emulator: exec format error\n", PlatformBuilder("", FrozenDict()),
         "buildkit was unable to emulate linux/arm64"),
        ("#1 [internal] load\n#2 ERROR: RUN false\n", PlatformBuilder("", FrozenDict()),
         "build failed; BuildKit's log ends with:\n#1 [internal] load\n#2 ERROR: RUN false"),
    ],
)  # fmt: skip
def test_build_failures(stderr: str, builder: PlatformBuilder, message: str) -> None:
    with pytest.raises(LinuxkitError) as e:
        _build(failed_result(stderr), builder)
    assert message in str(e.value)


def test_ssh_specs_reach_buildctl_with_the_agent_socket() -> None:
    _, seen = _build(ok_result(), ssh=("default", "git=/k/id"))
    (req,) = seen
    assert req.args[-6:-2] == ("--ssh", "default", "--ssh", "git=/k/id")
    assert dict(req.env) == {"SSH_AUTH_SOCK": "/agent"}


def test_without_ssh_no_agent_socket_enters_the_process() -> None:
    _, seen = _build(ok_result())
    assert "SSH_AUTH_SOCK" not in seen[0].env and "--ssh" not in seen[0].args


def test_a_value_cannot_add_an_option_or_an_output_field() -> None:
    argv = buildctl_build_argv(request(name="docker.io/x/y:a,b"))
    assert argv[-1] == '"name=docker.io/x/y:a,b-arm64"'.join(["type=oci,dest=arm64.tar,", ""])
    with pytest.raises(LinuxkitError, match=r"^pkg/init/build.yml: buildArgs: 'build-arg:A=B' is not a valid name"):
        buildctl_build_argv(request(build_args=FrozenDict({"A=B": "1"})))


LAYOUT = Digest("a" * 64, 10)


def test_sbom_generator_is_an_attest_option_before_the_output() -> None:
    argv = buildctl_build_argv(request(), "localhost/pants-linuxkit/sbom-scanner@sha256:" + "b" * 64)
    assert argv[-4:-2] == ("--opt", "attest:sbom=generator=localhost/pants-linuxkit/sbom-scanner@sha256:" + "b" * 64)
    # A reference holding a comma stays one CSV field: it cannot add a scanner parameter.
    argv = buildctl_build_argv(request(), "r/s:1,x=y")
    assert argv[-3] == 'attest:sbom="generator=r/s:1,x=y"'


def test_the_builds_source_date_epoch_dates_the_sbom() -> None:
    argv = buildctl_build_argv(request(build_args=FrozenDict({"SOURCE_DATE_EPOCH": "1700000000"})), "r/s:1")
    assert argv[-3] == "attest:sbom=generator=r/s:1,SOURCE_DATE_EPOCH=1700000000"


def test_without_a_generator_the_argv_is_the_scanner_less_one() -> None:
    _, seen = _build(ok_result(), sbom=SbomGenerator(""))
    assert not any(a.startswith("attest:") for a in seen[0].args)
    assert seen[0].immutable_inputs == FrozenDict() and "LINUXKIT_SBOM_SCANNER_IMAGE" not in seen[0].env


def test_the_backends_generator_reaches_the_build_with_its_layout() -> None:
    ref = "localhost/pants-linuxkit/sbom-scanner@sha256:" + "c" * 64
    _, seen = _build(ok_result(), sbom=SbomGenerator(ref, LAYOUT))
    (req,) = seen
    assert req.args == buildctl_build_argv(request(), ref)
    assert req.immutable_inputs == FrozenDict({"__sbom_scanner": LAYOUT})
    assert dict(req.env) == {"LINUXKIT_SBOM_SCANNER_IMAGE": ref, "LINUXKIT_SBOM_SCANNER_LAYOUT": "__sbom_scanner"}


def test_another_generator_image_is_only_named() -> None:
    _, seen = _build(ok_result(), sbom=SbomGenerator("docker/buildkit-syft-scanner:stable-1"))
    assert "attest:sbom=generator=docker/buildkit-syft-scanner:stable-1" in seen[0].args
    assert seen[0].immutable_inputs == FrozenDict() and dict(seen[0].env) == {}


def test_buildctl_process_mounts_extra_inputs_beside_the_tools() -> None:
    process = run_rule_with_mocks(
        buildctl_process,
        rule_args=[BuildctlProcess(args=("build",), description="d", output_directories=("layout",),
                                   immutable_inputs=FrozenDict({"__sbom_scanner": LAYOUT}))],
        mock_gets=[MockGet(output_type=BuildkitTools, input_types=(), mock=lambda: TOOLS)],
    )  # fmt: skip
    assert dict(process.immutable_input_digests) == {"__sbom_scanner": LAYOUT, "__buildkit": EMPTY_DIGEST}
    assert process.output_directories == ("layout",)


@pytest.fixture
def proxy():
    """A proxy arg with a password (unique, so that its secret file is this test's), masked and real."""
    password = uuid.uuid4().hex
    masked = "build-arg:http_proxy=http://u:***@p:3128"
    secret = Path(private_dir(), build_arg_secret_name(masked))
    yield password, dict(build_args=FrozenDict({"A": "1", "http_proxy": "http://u:***@p:3128"}),
                         proxy_credentials=FrozenDict({"http_proxy": f"http://u:{password}@p:3128"}))
    secret.unlink(missing_ok=True)


def test_a_proxy_password_is_in_no_process_but_in_a_private_file_named_by_the_masked_value(proxy) -> None:
    password, fields = proxy
    _, (req,) = _build(ok_result(), **fields)
    assert "build-arg:http_proxy=http://u:***@p:3128" in req.args
    assert password not in repr(req) and password not in repr(request(**fields))
    secret = Path(private_dir(), build_arg_secret_name("build-arg:http_proxy=http://u:***@p:3128"))
    assert secret.read_bytes() == f"build-arg:http_proxy=http://u:{password}@p:3128\0".encode()
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600


def test_a_failure_that_echoes_the_proxy_password_masks_it(proxy) -> None:
    password, fields = proxy
    with pytest.raises(LinuxkitError) as e:
        _build(failed_result(f"#3 RUN |1 http_proxy=http://u:{password}@p:3128 apk add\n#3 ERROR\n"), **fields)
    assert password not in str(e.value) and "http_proxy=http://u:***@p:3128 apk add" in str(e.value)
