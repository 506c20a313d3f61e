from __future__ import annotations

import json
import os
import stat
from types import SimpleNamespace

import pytest

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.cosign import CosignProcess
from linuxkit.util_rules.signing import SignedImages, SignImagesRequest, sign_images
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.fs import EMPTY_DIGEST
from pants.engine.process import FallibleProcessResult, Process
from pants.testutil.option_util import create_subsystem
from pants.testutil.rule_runner import MockGet, run_rule_with_mocks

REPO = "reg.example:5000/lk/init"
DIGESTS = ("sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "3" * 64)
SECRETS = ("s3cret", "hunter2")


def linuxkit(**options) -> LinuxkitSubsystem:
    defaults = dict(signing_key="keys/cosign.key", signing_passphrase_env="COSIGN_PASSWORD",
                    signing_passphrase_command=None, registry_creds=["reg.example:5000=user:hunter2"],
                    insecure_registries=[], registry_ca_file=None)  # fmt: skip
    return create_subsystem(LinuxkitSubsystem, **{**defaults, **options})


def sign(subsystem: LinuxkitSubsystem, *, env=None, fail=("", ""), registry="reg.example:5000",
         stderr=b"Error: boom\nmain.go:74: error during command execution: boom\n"):
    """Runs sign_images; returns (result or error, [(process, what the secret files held)])."""
    runs: list[tuple[Process, dict]] = []

    def run(process: Process):
        files = {}
        for var, name in (("LK_COSIGN_PASSWORD_FILE", None), ("DOCKER_CONFIG", "config.json")):
            path = process.env.get(var, "")
            path = os.path.join(path, name) if name and path else path
            if path and os.path.isfile(path):
                files[var] = (stat.S_IMODE(os.stat(path).st_mode), open(path).read())
        runs.append((process, files))
        failed = process.argv[0] == fail[0] and process.argv[-1].startswith(fail[1])
        return SimpleNamespace(exit_code=1 if failed else 0, stderr=stderr if failed else b"",
                               output_digest=EMPTY_DIGEST)

    mocks = [
        MockGet(output_type=EnvironmentVars, input_types=(EnvironmentVarsRequest,),
                mock=lambda req: EnvironmentVars({k: v for k, v in (env or {}).items() if k in req.requested})),
        MockGet(output_type=Process, input_types=(CosignProcess,),
                mock=lambda req: Process(argv=req.argv, env=req.env, description=req.description)),
        MockGet(output_type=FallibleProcessResult, input_types=(Process,), mock=run),
    ]  # fmt: skip
    request = SignImagesRequest(registry, REPO.replace("reg.example:5000", registry), DIGESTS)
    try:
        result = run_rule_with_mocks(
            sign_images, rule_args=[request, subsystem, SimpleNamespace(path="/repo")], mock_gets=mocks
        )
    except LinuxkitError as e:
        result = e
    return result, runs


def test_signs_and_verifies_every_manifest_with_secrets_only_in_private_files() -> None:
    result, runs = sign(linuxkit(), env={"COSIGN_PASSWORD": "s3cret", "HOME": "/root"})
    assert result == SignedImages(tuple(f"{REPO}@{d}" for d in DIGESTS))
    commands = [p.argv[0] for p, _ in runs]
    assert commands == ["public-key", "sign", "verify", "verify", "verify"]
    sign_argv = runs[1][0].argv
    assert sign_argv[:6] == ("sign", "--yes", "--key", "/repo/keys/cosign.key", "--tlog-upload=false", f"{REPO}@{DIGESTS[0]}")
    assert {p.argv[-1] for p, _ in runs[2:]} == set(result.refs)
    assert all("--insecure-ignore-tlog" in p.argv for p, _ in runs[2:])
    assert not any("--allow-insecure-registry" in p.argv for p, _ in runs)
    for process, files in runs:
        shown = " ".join([*process.argv, *process.env.values()])
        assert not any(secret in shown for secret in SECRETS)
        mode, passphrase = files["LK_COSIGN_PASSWORD_FILE"]
        assert (mode, passphrase) == (0o600, "s3cret")
        mode, config = files["DOCKER_CONFIG"]
        assert mode == 0o600 and list(json.loads(config)["auths"]) == ["reg.example:5000"]
    # The private directory is gone once cosign is done.
    assert not os.path.exists(runs[0][0].env["DOCKER_CONFIG"])


def test_local_registry_gets_cosigns_insecure_flags_and_the_docker_config() -> None:
    result, runs = sign(linuxkit(registry_creds=[]), env={"COSIGN_PASSWORD": "", "DOCKER_CONFIG": "/d"},
                        registry="127.0.0.1:5000")  # fmt: skip
    assert isinstance(result, SignedImages)
    for process, _ in runs[1:]:
        assert "--allow-insecure-registry" in process.argv and "--allow-http-registry" in process.argv
    assert all(p.env["DOCKER_CONFIG"] == "/d" for p, _ in runs)
    # cosign's own state (`~/.sigstore`) goes into the sandbox, not the user's home.
    assert all(p.env["HOME"] == "{chroot}/.home" for p, _ in runs)
    _, runs = sign(linuxkit(registry_creds=[]), env={"COSIGN_PASSWORD": "", "HOME": "/u"})
    assert all(p.env["DOCKER_CONFIG"] == "/u/.docker" for p, _ in runs)


def test_logins_go_over_plain_http_only_to_listed_registries() -> None:
    creds = ["127.0.0.1:5000=user:hunter2"]
    _, runs = sign(linuxkit(registry_creds=creds), env={"COSIGN_PASSWORD": ""}, registry="127.0.0.1:5000")
    assert all("DOCKER_CONFIG" not in files for _, files in runs)
    _, runs = sign(linuxkit(registry_creds=creds, insecure_registries=["127.0.0.1:5000"]),
                   env={"COSIGN_PASSWORD": ""}, registry="127.0.0.1:5000")  # fmt: skip
    assert all("DOCKER_CONFIG" in files for _, files in runs)


def test_ca_file_means_tls_for_a_local_registry() -> None:
    _, runs = sign(linuxkit(registry_ca_file="ca.pem"), env={"COSIGN_PASSWORD": ""}, registry="127.0.0.1:5000")
    sign_argv = runs[1][0].argv
    assert "--allow-http-registry" not in sign_argv
    assert sign_argv[sign_argv.index("--registry-cacert") + 1] == "/repo/ca.pem"


def test_passphrase_command_runs_in_the_cosign_process() -> None:
    result, runs = sign(linuxkit(signing_passphrase_command="pass show cosign"), env={"PATH": "/bin"})
    assert isinstance(result, SignedImages)
    for process, files in runs:
        assert process.env["LK_COSIGN_PASSWORD_COMMAND"] == "pass show cosign"
        assert "LK_COSIGN_PASSWORD_FILE" not in process.env and process.env["PATH"] == "/bin"


def test_wrong_passphrase_says_so() -> None:
    result, _ = sign(linuxkit(), env={"COSIGN_PASSWORD": "x"}, fail=("public-key", ""),
                     stderr=b"Error: reading key: decrypt: encrypted: decryption failed\n")  # fmt: skip
    assert str(result) == (
        "[linuxkit].signing_key keys/cosign.key: reading key: decrypt: encrypted: decryption failed "
        "(wrong passphrase?)"
    )


def test_no_passphrase_is_one_line_and_runs_nothing() -> None:
    result, runs = sign(linuxkit(), env={})
    assert isinstance(result, LinuxkitError) and runs == []
    assert str(result) == (
        "[linuxkit].signing_key keys/cosign.key: no passphrase: set COSIGN_PASSWORD "
        "([linuxkit].signing_passphrase_env) or [linuxkit].signing_passphrase_command"
    )


@pytest.mark.parametrize(
    "failing, message, commands",
    [
        (("public-key", ""), "[linuxkit].signing_key keys/cosign.key: boom", ["public-key"]),
        (("sign", ""), f"{REPO}: cosign sign: boom", ["public-key", "sign"]),
        (("verify", f"{REPO}@{DIGESTS[2]}"), f"{REPO}@{DIGESTS[2]}: cosign verify: boom",
         ["public-key", "sign", "verify", "verify", "verify"]),
    ],
)
def test_cosign_failure_is_one_line(failing: tuple[str, str], message: str, commands: list[str]) -> None:
    result, runs = sign(linuxkit(), env={"COSIGN_PASSWORD": "s3cret"}, fail=failing)
    assert isinstance(result, LinuxkitError) and str(result) == message
    assert [p.argv[0] for p, _ in runs] == commands
