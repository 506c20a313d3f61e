"""`skopeo copy` of an image, by digest, from its registry (pulls of published platforms,
`depends.docker-images` fetches): the same plain-HTTP rule, CA file and credentials as the
registry lookups in `pkglib.registry`.

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
from linuxkit.pkglib.oci import is_digest
from linuxkit.pkglib.registry.credentials import Credential, CredentialStore, registry_key
from linuxkit.pkglib.registry.references import parse_ref
from linuxkit.subsystems.linuxkit import LinuxkitSubsystem
from linuxkit.util_rules.registry_mirrors import RegistryMirrors
from linuxkit.util_rules.skopeo import SkopeoProcess
from linuxkit.util_rules.tool_failure import check_process, last_stderr_line
from pants.base.build_environment import get_buildroot
from pants.engine.fs import EMPTY_DIGEST, CreateDigest, Digest, FileContent
from pants.engine.process import FallibleProcessResult, Process, ProcessCacheScope
from pants.engine.rules import Get, collect_rules, rule
from pants.util.frozendict import FrozenDict
from pants.util.logging import LogLevel

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
def source_credentials(
    linuxkit: LinuxkitSubsystem, host: str, *, plain_http: bool = False
) -> Iterator[SourceCredentials]:
    """What skopeo needs to read `host` with the lookups' credentials ([linuxkit].registry_creds,
    else the docker config); valid until the `with` block ends."""
    cred = CredentialStore.from_specs(linuxkit.registry_creds).lookup(host)
    anonymous = SourceCredentials(("--src-no-creds",), ProcessCacheScope.SUCCESSFUL, "")
    if cred is None:
        yield anonymous
        return
    if (plain_http or linuxkit.speaks_plain_http(host)) and host not in linuxkit.insecure_registries:
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


@dataclass(frozen=True)
class RegistryPullRequest:
    locator: str  # `<registry>/<repository>`
    digest: str  # what to copy
    destination: str  # skopeo's destination, e.g. `oci-archive:out.tar:<name>`
    output: str  # the file the destination writes
    description: str
    failure: str  # the error message's start when the copy fails


@dataclass(frozen=True)
class RegistryPull:
    digest: Digest  # holds `output`


@rule(desc="Copy an image from its registry", level=LogLevel.DEBUG)
async def registry_pull(
    request: RegistryPullRequest, linuxkit: LinuxkitSubsystem, mirrors: RegistryMirrors
) -> RegistryPull:
    if not is_digest(request.digest):
        raise LinuxkitError(f"{request.failure}: invalid digest {request.digest!r}")
    # Through the registry mirror, if one serves this registry ([linuxkit].mirror).
    original = f"{request.locator}@{request.digest}"
    image, plain_http = mirrors.read_location(original)
    host = parse_ref(request.locator).registry if image == original else image.split("/", 1)[0]
    source = await Get(RegistrySource, RegistrySourceRequest(host))
    tls_args = ("--src-tls-verify=false",) if plain_http else source.tls_args
    with source_credentials(linuxkit, host, plain_http=plain_http) as creds:
        process = await Get(
            Process,
            SkopeoProcess(
                args=("copy", "--quiet", *tls_args, *creds.args, f"docker://{image}", request.destination),
                description=request.description,
                purpose=request.failure,
                input_digest=source.certs,
                output_files=(request.output,),
                env=FrozenDict({"HOME": "{chroot}"}),
                cache_scope=creds.cache_scope,
            ),
        )
        result = await Get(FallibleProcessResult, Process, process)
    check_process(result, request.failure, lambda stderr: f"{last_stderr_line(stderr)}{creds.hint}")
    return RegistryPull(result.output_digest)


def rules():
    return collect_rules()
