"""Signed publishes: cosign signatures, stored in the registry beside the images, for a package's
index and per-arch manifests, made with `[linuxkit].signing_key` and verified before its tags are
written.

Secrets never enter a process definition: the passphrase (from `[linuxkit].signing_passphrase_env`)
and the package registry's `[linuxkit].registry_creds` login go into a private temporary directory
(a passphrase file, a docker `config.json` for `DOCKER_CONFIG`) that only lives while cosign runs;
`[linuxkit].signing_passphrase_command` runs inside the cosign process."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Mapping

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.registry.credentials import parse_registry_creds, registry_key, split_registry_creds
from linuxkit.pkglib.signing import cosign_error, docker_config_json
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.buildkit_tools import STANDARD_PATH
from linuxkit.util_rules.cosign import CosignProcess
from pants.base.build_root import BuildRoot
from pants.engine.env_vars import EnvironmentVars, EnvironmentVarsRequest
from pants.engine.process import FallibleProcessResult, Process
from pants.engine.rules import Get, MultiGet, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

PUBLIC_KEY = "cosign.pub"


@dataclass(frozen=True)
class SignImagesRequest:
    registry: str  # the registry host, as in `[linuxkit].insecure_registries`
    repository: str  # `<registry>/<org>/<image>`
    digests: tuple[str, ...]  # the index, then each platform's manifest


@dataclass(frozen=True)
class SignedImages:
    refs: tuple[str, ...]  # `<repository>@<digest>`, each signed and verified


def registry_flags(linuxkit: LinuxkitSubsystem, registry: str, build_root: str) -> tuple[str, ...]:
    """cosign's registry options, matching how the backend itself reaches `registry`."""
    flags: list[str] = []
    if linuxkit.speaks_plain_http(registry):
        flags += ["--allow-insecure-registry", "--allow-http-registry"]
    elif registry in linuxkit.insecure_registries:
        flags.append("--allow-insecure-registry")
    if linuxkit.registry_ca_file:
        flags += ["--registry-cacert", os.path.join(build_root, linuxkit.registry_ca_file)]
    return tuple(flags)


@contextmanager
def secrets_env(
    linuxkit: LinuxkitSubsystem, registry: str, env: Mapping[str, str]
) -> Iterator[dict[str, str]]:
    """The environment of a cosign process: no secret, only where the secrets are. cosign keeps
    state under HOME (`.sigstore/`): that is the sandbox, while the docker config stays the user's."""
    result = {"HOME": "{chroot}/.home"}
    if "DOCKER_CONFIG" in env or "HOME" in env:
        result["DOCKER_CONFIG"] = env.get("DOCKER_CONFIG") or os.path.join(env["HOME"], ".docker")
    if linuxkit.signing_passphrase_command:
        result.update(PATH=env.get("PATH") or STANDARD_PATH, LK_COSIGN_PASSWORD_COMMAND=linuxkit.signing_passphrase_command)
    passphrase = env.get(linuxkit.signing_passphrase_env)
    if not linuxkit.signing_passphrase_command and passphrase is None:
        raise LinuxkitError(
            f"[linuxkit].signing_key {linuxkit.signing_key}: no passphrase: set "
            f"{linuxkit.signing_passphrase_env} ([linuxkit].signing_passphrase_env) or "
            "[linuxkit].signing_passphrase_command"
        )
    login = parse_registry_creds(split_registry_creds(linuxkit.registry_creds)).get(registry_key(registry))
    if linuxkit.speaks_plain_http(registry) and registry not in linuxkit.insecure_registries:
        login = None  # as the backend's own pushes: no credentials over plain HTTP unless listed
    with tempfile.TemporaryDirectory(prefix="linuxkit-cosign-") as private:  # mode 0700
        if not linuxkit.signing_passphrase_command:
            result["LK_COSIGN_PASSWORD_FILE"] = _private_file(private, "passphrase", passphrase.encode())
        if login is not None:
            _private_file(private, "config.json", docker_config_json({registry_key(registry): login}))
            result["DOCKER_CONFIG"] = private
        yield result


def _private_file(directory: str, name: str, content: bytes) -> str:
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    return path


def _check(result: FallibleProcessResult, failure: str) -> FallibleProcessResult:
    if result.exit_code != 0:
        error = cosign_error(result.stderr.decode(errors="replace"))
        hint = " (wrong passphrase?)" if error.endswith("decryption failed") else ""
        raise LinuxkitError(f"{failure}: {error}{hint}")
    return result


async def _run(process: CosignProcess, failure: str) -> FallibleProcessResult:
    return _check(await Get(FallibleProcessResult, Process, await Get(Process, CosignProcess, process)), failure)


@rule(desc="Sign and verify images with cosign", level=LogLevel.DEBUG)
async def sign_images(
    request: SignImagesRequest, linuxkit: LinuxkitSubsystem, build_root: BuildRoot
) -> SignedImages:
    assert linuxkit.signing_key
    key = os.path.join(build_root.path, linuxkit.signing_key)
    env = await Get(
        EnvironmentVars,
        EnvironmentVarsRequest([linuxkit.signing_passphrase_env, "PATH", "HOME", "DOCKER_CONFIG"]),
    )
    refs = tuple(f"{request.repository}@{digest}" for digest in request.digests)
    flags = registry_flags(linuxkit, request.registry, build_root.path)
    with secrets_env(linuxkit, request.registry, env) as cosign_env:
        frozen_env = FrozenDict(cosign_env)
        public_key = await _run(
            CosignProcess(
                ("public-key", "--key", key, "--outfile", PUBLIC_KEY),
                description=f"Read the public key of {linuxkit.signing_key}",
                env=frozen_env,
                output_files=(PUBLIC_KEY,),
            ),
            f"[linuxkit].signing_key {linuxkit.signing_key}",
        )
        # cosign does not add a signature that the key already made (re-publishing adds nothing).
        await _run(
            CosignProcess(
                ("sign", "--yes", "--key", key, "--tlog-upload=false", *flags, *refs),
                description=f"Sign {request.repository} ({len(refs)} manifests)",
                env=frozen_env,
            ),
            f"{request.repository}: cosign sign",
        )
        verify = await MultiGet(
            Get(
                Process,
                CosignProcess(
                    ("verify", "--key", PUBLIC_KEY, "--insecure-ignore-tlog", *flags, ref),
                    description=f"Verify the signature of {ref}",
                    input_digest=public_key.output_digest,
                    env=frozen_env,
                ),
            )
            for ref in refs
        )
        results = await MultiGet(Get(FallibleProcessResult, Process, p) for p in verify)
    for ref, result in zip(refs, results):
        _check(result, f"{ref}: cosign verify")
    return SignedImages(refs)


def rules():
    return collect_rules()
