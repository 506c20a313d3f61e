"""How skopeo reads from a registry (pulls of published platforms, `depends.docker-images`
fetches): the same plain-HTTP rule, CA file and credentials as the registry lookups in
`pkglib.registry`.

The CA goes into the process's input (skopeo's `--src-cert-dir` layout, which adds to the system
CAs). Credentials never enter an argv, a process environment or the Pants store: they go in a
private temporary file named by `--src-authfile`, deleted when the process is done, and such a
process is cached for the session only."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.registry.credentials import Credential, CredentialStore, registry_key
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from pants.base.build_environment import get_buildroot
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, FileContent
from pants.engine.process import ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule

CERTS_DIR = ".registry-certs"
PLAIN_HTTP_HINT = (
    "(credentials are not sent over plain HTTP: list the registry in "
    "[linuxkit].insecure_registries to allow it)"
)


@dataclass(frozen=True)
class RegistrySourceRequest:
    host: str  # the registry part of a reference, e.g. `parse_ref(name).registry`


@dataclass(frozen=True)
class RegistrySource:
    host: str
    tls_args: tuple[str, ...]  # --src-tls-verify / --src-cert-dir
    certs: Digest  # `.registry-certs/ca.crt` when [linuxkit].registry_ca_file is set


@rule
async def registry_source(
    request: RegistrySourceRequest, linuxkit: LinuxkitSubsystem
) -> RegistrySource:
    args = ["--src-tls-verify=false"] if linuxkit.speaks_plain_http(request.host) else []
    certs = EMPTY_DIGEST
    if linuxkit.registry_ca_file:
        path = os.path.join(get_buildroot(), linuxkit.registry_ca_file)
        try:
            with open(path, "rb") as f:
                content = f.read()
        except OSError as e:
            raise LinuxkitError(f"[linuxkit].registry_ca_file: cannot read {path}: {e.strerror}")
        certs = await Get(Digest, CreateDigest([FileContent(f"{CERTS_DIR}/ca.crt", content)]))
        args.append(f"--src-cert-dir={CERTS_DIR}")
    return RegistrySource(request.host, tuple(args), certs)


@dataclass(frozen=True)
class SourceCredentials:
    args: tuple[str, ...]  # --src-authfile <private file>, or --src-no-creds
    cache_scope: ProcessCacheScope
    hint: str  # for the error message when the pull fails


def _auth_entry(host: str, cred: Credential) -> dict:
    if cred.registry_token:
        raise LinuxkitError(
            f"{host}: a token from [linuxkit].registry_creds (`<registry>=<token>`) cannot be "
            "used to pull with skopeo; give `<registry>=<user>:<password>`"
        )
    if cred.identity_token:
        return {"identitytoken": cred.identity_token}
    pair = f"{cred.username}:{cred.password}".encode()
    return {"auth": base64.b64encode(pair).decode("ascii")}


@contextmanager
def source_credentials(linuxkit: LinuxkitSubsystem, host: str) -> Iterator[SourceCredentials]:
    """What skopeo needs to read `host` with the lookups' credentials ([linuxkit].registry_creds,
    else the docker config); valid until the `with` block ends."""
    cred = CredentialStore.from_specs(linuxkit.registry_creds).lookup(host)
    anonymous = SourceCredentials(("--src-no-creds",), ProcessCacheScope.SUCCESSFUL, "")
    if cred is None:
        yield anonymous
        return
    if linuxkit.speaks_plain_http(host) and host not in linuxkit.insecure_registries:
        yield SourceCredentials(anonymous.args, anonymous.cache_scope, f" {PLAIN_HTTP_HINT}")
        return
    config = {"auths": {registry_key(host): _auth_entry(host, cred)}}
    fd, path = tempfile.mkstemp(prefix="linuxkit-auth-", suffix=".json")  # mode 0600
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(config, f)
        yield SourceCredentials(("--src-authfile", path), ProcessCacheScope.PER_SESSION, "")
    finally:
        os.unlink(path)


def rules():
    return collect_rules()
