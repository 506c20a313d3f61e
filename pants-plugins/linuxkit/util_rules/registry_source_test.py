"""skopeo reads a registry with the lookups' CA and credentials, and no secret reaches its argv,
its environment or the Pants store."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path
from typing import Iterator

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.pkglib.mirrors import parse_mirrors
from linuxkit.util_rules.registry_mirrors import RegistryMirrors
from linuxkit.util_rules.skopeo import SkopeoProcess
from linuxkit.util_rules.registry_source import (
    RegistryPull,
    RegistryPullRequest,
    RegistrySource,
    RegistrySourceRequest,
    registry_pull,
    registry_source,
    source_credentials,
)
from pants.base.build_root import BuildRoot
from pants.engine.fs import EMPTY_DIGEST, EMPTY_FILE_DIGEST, CreateDigest, Digest
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks
from pants.util.frozendict import FrozenDict

REMOTE = "registry.example.com"
LOCAL = "127.0.0.1:5000"
SECRET = "s3cret-pw"


@pytest.fixture(autouse=True)
def _environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "no-docker-config"))
    BuildRoot().path = str(tmp_path)
    yield
    BuildRoot().reset()


def _linuxkit(**options) -> LinuxkitSubsystem:
    options.setdefault("registry_creds", [])
    options.setdefault("insecure_registries", [])
    options.setdefault("registry_ca_file", None)
    return create_subsystem(LinuxkitSubsystem, **options)


def _source(host: str, **options) -> tuple[RegistrySource, list[CreateDigest]]:
    created: list[CreateDigest] = []

    def create(request: CreateDigest) -> Digest:
        created.append(request)
        return Digest("a" * 64, 1)

    source = run_rule_with_mocks(
        registry_source,
        rule_args=[RegistrySourceRequest(host), _linuxkit(**options)],
        mock_gets=[MockGet(output_type=Digest, input_types=(CreateDigest,), mock=create)],
    )
    return source, created


def test_tls_args_follow_the_clients_plain_http_rule(tmp_path: Path) -> None:
    assert _source(REMOTE)[0].tls_args == ()
    assert _source(LOCAL)[0].tls_args == ("--src-tls-verify=false",)
    assert _source(REMOTE, insecure_registries=[REMOTE])[0].tls_args == ("--src-tls-verify=false",)
    ca = tmp_path / "my-ca.pem"  # not `*.crt`: skopeo would ignore it in its own directory
    ca.write_text("PEM")
    source, created = _source(LOCAL, registry_ca_file=str(ca))
    assert source.tls_args == ("--src-cert-dir=.registry-certs",)
    assert source.certs != EMPTY_DIGEST
    (content,) = created[0]
    assert (content.path, content.content) == (".registry-certs/ca.crt", b"PEM")


def test_unreadable_ca_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LinuxkitError) as e:
        _source(REMOTE, registry_ca_file=str(tmp_path / "missing.pem"))
    assert str(e.value) == (
        f"[linuxkit].registry_ca_file: cannot read {tmp_path / 'missing.pem'}: "
        "No such file or directory"
    )


def test_credentials_go_in_a_private_file_removed_afterwards() -> None:
    linuxkit = _linuxkit(registry_creds=[f"{REMOTE}=alice:{SECRET}"])
    with source_credentials(linuxkit, REMOTE) as creds:
        flag, path = creds.args
        assert flag == "--src-authfile" and SECRET not in path
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        auth = json.loads(Path(path).read_text())["auths"][REMOTE]["auth"]
        assert base64.b64decode(auth).decode() == f"alice:{SECRET}"
        assert creds.cache_scope == ProcessCacheScope.PER_SESSION
    assert not os.path.exists(path)


def test_anonymous_and_refused_credentials() -> None:
    with source_credentials(_linuxkit(), REMOTE) as creds:
        assert creds.args == ("--src-no-creds",) and creds.hint == ""
        assert creds.cache_scope == ProcessCacheScope.SUCCESSFUL
    # this machine's registry over plain HTTP, not listed: anonymous, and the error says why
    with source_credentials(_linuxkit(registry_creds=[f"{LOCAL}=alice:{SECRET}"]), LOCAL) as creds:
        assert creds.args == ("--src-no-creds",) and "insecure_registries" in creds.hint
    listed = _linuxkit(registry_creds=[f"{LOCAL}=alice:{SECRET}"], insecure_registries=[LOCAL])
    with source_credentials(listed, LOCAL) as creds:
        assert creds.args[0] == "--src-authfile"
    with pytest.raises(LinuxkitError, match=f"^{REMOTE}: a token from .* cannot be used to pull"):
        with source_credentials(_linuxkit(registry_creds=[f"{REMOTE}=tok3n"]), REMOTE):
            pass


def _skopeo(request: SkopeoProcess) -> Process:
    return Process(argv=("/bin/skopeo", *request.args), env=dict(request.env), description="d",
                   cache_scope=request.cache_scope)  # fmt: skip


def _pull(linuxkit: LinuxkitSubsystem, digest: str, run, mirrors=RegistryMirrors(FrozenDict())) -> RegistryPull:
    return run_rule_with_mocks(
        registry_pull,
        rule_args=[
            RegistryPullRequest(f"{REMOTE}/lk/pkg", digest, "oci-archive:out.tar:x", "out.tar",
                                "Pull", f"{REMOTE}/lk/pkg:t linux/arm64: cannot pull"),
            linuxkit,
            mirrors,
        ],  # fmt: skip
        mock_gets=[
            MockGet(output_type=Process, input_types=(SkopeoProcess,), mock=_skopeo),
            MockGet(
                output_type=RegistrySource,
                input_types=(RegistrySourceRequest,),
                mock=lambda r: RegistrySource(r.host, (), EMPTY_DIGEST),
            ),
            MockGet(output_type=FallibleProcessResult, input_types=(Process,), mock=run),
        ],
    )


def test_pull_uses_the_lookups_credentials_without_exposing_them() -> None:
    seen: list[Process] = []
    authfiles: list[dict] = []

    def run(process: Process) -> FallibleProcessResult:
        seen.append(process)
        path = process.argv[process.argv.index("--src-authfile") + 1]
        authfiles.append(json.loads(Path(path).read_text()))
        return FallibleProcessResult(
            stdout=b"", stdout_digest=EMPTY_FILE_DIGEST, stderr=b"x\nunauthorized: no way",
            stderr_digest=EMPTY_FILE_DIGEST, exit_code=1, output_digest=EMPTY_DIGEST,
            metadata=None,  # type: ignore[arg-type]
        )  # fmt: skip

    linuxkit = _linuxkit(registry_creds=[f"{REMOTE}=alice:{SECRET}"])
    digest = "sha256:" + "1" * 64
    with pytest.raises(LinuxkitError) as e:
        _pull(linuxkit, digest, run)
    assert str(e.value) == f"{REMOTE}/lk/pkg:t linux/arm64: cannot pull: unauthorized: no way"
    (process,) = seen
    assert SECRET not in " ".join(process.argv) and SECRET not in json.dumps(dict(process.env))
    assert process.argv[-2:] == (f"docker://{REMOTE}/lk/pkg@{digest}", "oci-archive:out.tar:x")
    assert process.cache_scope == ProcessCacheScope.PER_SESSION
    assert list(authfiles[0]["auths"]) == [REMOTE]
    path = process.argv[process.argv.index("--src-authfile") + 1]
    assert not os.path.exists(path)


def test_a_digest_from_a_registry_is_checked_before_it_reaches_argv() -> None:
    with pytest.raises(LinuxkitError) as e:
        _pull(_linuxkit(), "sha256:x --dest-creds=a:b", lambda p: pytest.fail("ran skopeo"))
    assert str(e.value) == (
        f"{REMOTE}/lk/pkg:t linux/arm64: cannot pull: invalid digest 'sha256:x --dest-creds=a:b'"
    )


def test_pull_reads_through_a_plain_http_mirror_without_credentials() -> None:
    seen: list[Process] = []

    def run(process: Process) -> FallibleProcessResult:
        seen.append(process)
        return FallibleProcessResult(
            stdout=b"", stdout_digest=EMPTY_FILE_DIGEST, stderr=b"", stderr_digest=EMPTY_FILE_DIGEST,
            exit_code=0, output_digest=EMPTY_DIGEST, metadata=None,  # type: ignore[arg-type]
        )  # fmt: skip

    mirrors = RegistryMirrors(FrozenDict(parse_mirrors([(f"{REMOTE}=http://mirror.example:5000", "m")])))
    linuxkit = _linuxkit(registry_creds=[f"mirror.example:5000=alice:{SECRET}"])
    _pull(linuxkit, "sha256:" + "1" * 64, run, mirrors)
    (process,) = seen
    assert process.argv[1:6] == ("copy", "--quiet", "--src-tls-verify=false", "--src-no-creds",
                                 f"docker://mirror.example:5000/lk/pkg@sha256:{'1' * 64}")  # fmt: skip
