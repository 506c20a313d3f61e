"""Push a package's OCI archive to a registry: what `linuxkit pkg push` does (spec §3.11).

The package product is an OCI image-layout tar whose `index.json` has one root: a multi-arch OCI
index over per-arch image manifests (plus buildkit's attestation manifests). `push_image` puts
it in a registry through the distribution HTTP API:

* every blob of every image manifest (HEAD first, then a streamed chunked or monolithic upload);
* every manifest by digest, children before the index that lists them;
* then the tags: `<tag>-<arch>` for each per-arch image manifest (remote `-arch` tags point at
  plain image manifests, spec §3.11), and `<tag>` for the index last.

So no tag ever names content the registry lacks, and because everything is content-addressed a
push that was interrupted simply completes when run again. Manifests and indexes are sent as the
exact bytes in the archive, so their digests are the ones linuxkit computed.

Before anything is written, each tag is looked up: the same digest is skipped, a different one is
an error unless `force`. Authentication (docker config / credential helpers / linuxkit-style
`--registry-creds`, Basic or the Bearer token flow) is settled by the first request, so a wrong
password fails before any blob or tag is written. Transient failures (5xx, 429, connection
errors) are retried with bounded exponential backoff.

Pure Python (stdlib `http.client`), no Pants imports, no third-party packages. Error messages are
one line and name the registry endpoint; they never contain credentials, tokens or upload URLs.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import http.client
import json
import os
import re
import shutil
import ssl
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Iterable, Iterator, Mapping, NamedTuple, Sequence, Union

from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    FOREIGN_LAYER_TYPES,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    OciArchive,
    OciError,
    check_digest,
    manifest_platform,
    parse_config_platform,
    parse_index,
    parse_manifest,
    sha256_digest,
)

DOCKER_HUB_DOMAIN = "docker.io"
DOCKER_HUB_API_HOST = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"  # docker config / credential helper key
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

MANIFEST_ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST))
_INDEX_TYPES = (OCI_INDEX, DOCKER_MANIFEST_LIST)
_IMAGE_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)

DEFAULT_CHUNK_SIZE = 64 << 20  # one PATCH per 64 MiB; most layers go up in a single request
DEFAULT_TIMEOUT = 120.0
_USER_AGENT = "pants-linuxkit"
_MAX_REDIRECTS = 5

# distribution/reference grammar
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?"
)
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")


class RegistryError(LinuxkitError):
    """Talking to a registry failed (network, authentication, or the registry said no)."""


class RegistryContentError(RegistryError):
    """The registry sent content that is malformed or does not match its digest."""


# --------------------------------------------------------------------------------------------
# References


class ImageRef(NamedTuple):
    """A parsed push target. `registry` is the API host (`registry-1.docker.io` for Docker Hub);
    `str(ref)` is the containerd-style name (`docker.io/linuxkit/foo:tag`)."""

    registry: str
    repository: str
    tag: str

    @property
    def domain(self) -> str:
        return DOCKER_HUB_DOMAIN if self.registry == DOCKER_HUB_API_HOST else self.registry

    @property
    def name(self) -> str:
        return f"{self.domain}/{self.repository}"

    def with_tag(self, tag: str) -> ImageRef:
        return self._replace(tag=tag)

    def __str__(self) -> str:
        return f"{self.name}:{self.tag}"


def _is_domain(component: str) -> bool:
    return "." in component or ":" in component or component == "localhost"


def parse_ref(ref: str) -> ImageRef:
    """`<registry>/<repo>:<tag>` → (API host, repository, tag), normalised the way docker and
    go-containerregistry do it: no registry means Docker Hub (`library/` for one-part names), a
    missing tag means `latest`. Digest references cannot be pushed to."""
    original = ref
    if not isinstance(ref, str) or not ref or ref != ref.strip() or "\n" in ref:
        raise RegistryError(f"invalid image reference {original!r}")
    if "@" in ref:
        raise RegistryError(f"cannot push to digest reference {original!r}: a tag is required")
    name, tag = ref, "latest"
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        name, tag = ref[:colon], ref[colon + 1 :]
    if not _TAG_RE.fullmatch(tag):
        raise RegistryError(f"invalid image reference {original!r}: invalid tag {tag!r}")
    parts = name.split("/")
    if len(parts) > 1 and _is_domain(parts[0]):
        domain, path = parts[0], parts[1:]
        if not _DOMAIN_RE.fullmatch(domain):
            raise RegistryError(
                f"invalid image reference {original!r}: invalid registry {domain!r}"
            )
    else:
        domain, path = DOCKER_HUB_DOMAIN, parts
    if domain.lower() in _DOCKER_HUB_ALIASES:
        domain = DOCKER_HUB_API_HOST
        if len(path) == 1:
            path = ["library", *path]
    for component in path:
        if not _PATH_COMPONENT_RE.fullmatch(component):
            why = "must be lowercase" if component.lower() != component else "is invalid"
            raise RegistryError(
                f"invalid image reference {original!r}: repository component {component!r} {why}"
            )
    repository = "/".join(path)
    if len(domain) + 1 + len(repository) > 255:
        raise RegistryError(
            f"invalid image reference {original!r}: name longer than 255 characters"
        )
    return ImageRef(domain, repository, tag)


# --------------------------------------------------------------------------------------------
# Credentials


@dataclass(frozen=True, repr=False)
class Credential:
    """A registry login. `registry_token` is sent as-is as a Bearer token; `identity_token` is an
    OAuth2 refresh token (docker config `identitytoken`, helper user `<token>`)."""

    username: str = ""
    password: str = ""
    registry_token: str = ""
    identity_token: str = ""

    def __repr__(self) -> str:  # never show secrets, even in a traceback
        return f"Credential(username={self.username!r}, secret=<redacted>)"


def registry_key(name: str) -> str:
    """The host a registry name (`https://index.docker.io/v1/`, `ghcr.io`, `localhost:5000`,
    an API host...) refers to, for matching credentials; Docker Hub's names all give docker.io."""
    name = name.strip()
    lowered = name.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            name = name[len(scheme) :]
            break
    host = name.split("/", 1)[0].lower()
    return DOCKER_HUB_DOMAIN if host in _DOCKER_HUB_ALIASES else host


def _redact_cred_spec(spec: str) -> str:
    registry, sep, auth = spec.partition("=")
    if not sep:
        return spec
    user, colon, secret = auth.partition(":")
    if colon:
        return f"{registry}={user}:{'<redacted>' if secret.strip() else secret}"
    return f"{registry}={'<redacted>' if auth.strip() else auth}"


def split_registry_creds(values: Iterable[str]) -> list[str]:
    """pflag's string-slice parsing: every value is a CSV record, one entry per field.
    Newlines separate values too (for credentials passed through one environment variable)."""
    entries: list[str] = []
    for value in values:
        for line in value.splitlines():
            if not line.strip():
                continue
            try:
                for record in csv.reader([line], skipinitialspace=False):
                    entries.extend(record)
            except csv.Error:
                raise RegistryError("invalid registry auth specification list (bad quoting)")
    return entries


def parse_registry_creds(entries: Iterable[str]) -> dict[str, Credential]:
    """linuxkit's `--registry-creds` (spec §3.1 item 9): `<registry>=<user>:<password>` or
    `<registry>=<token>`, split on the first `=` then the first `:`, trimmed. Keys are
    `registry_key`s. Messages are linuxkit's, with the secret part of the spec redacted."""
    result: dict[str, Credential] = {}
    for cred in entries:
        shown = _redact_cred_spec(cred)
        registry_part, sep, auth_part = cred.partition("=")
        if not sep or not registry_part or not auth_part:
            raise RegistryError(f"invalid registry auth specification '{shown}'")
        registry_part = registry_part.strip()
        auth_part = auth_part.strip()
        user, colon, secret = auth_part.partition(":")
        user, secret = user.strip(), secret.strip()
        if not registry_part:
            raise RegistryError(
                f"invalid registry auth specification '{shown}', registry must not be blank"
            )
        if colon and (not user or not secret):
            raise RegistryError(
                f"invalid registry auth specification '{shown}', "
                "username and password must not be blank"
            )
        if not colon and not user:
            raise RegistryError(
                f"invalid registry auth specification '{shown}', token must not be blank"
            )
        if colon:
            result[registry_key(registry_part)] = Credential(username=user, password=secret)
        else:
            result[registry_key(registry_part)] = Credential(registry_token=auth_part)
    return result


def docker_config_dir() -> Path:
    configured = os.environ.get("DOCKER_CONFIG")
    return Path(configured) if configured else Path.home() / ".docker"


def _helper_server_url(key: str) -> str:
    return DOCKER_HUB_AUTH_KEY if key == DOCKER_HUB_DOMAIN else key


def _run_credential_helper(helper: str, key: str, endpoint: str) -> Credential | None:
    program = f"docker-credential-{helper}"
    path = shutil.which(program)
    if path is None:
        raise RegistryError(
            f"{endpoint}: docker credential helper {program} (from the docker config) "
            "is not installed"
        )
    try:
        proc = subprocess.run(
            [path, "get"],
            input=_helper_server_url(key).encode(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise RegistryError(
            f"{endpoint}: docker credential helper {program} failed: {type(e).__name__}"
        )
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace").lower()
        if "credentials not found" in output:
            return None
        raise RegistryError(
            f"{endpoint}: docker credential helper {program} failed (exit status {proc.returncode})"
        )
    try:
        reply = json.loads(proc.stdout)
        username, secret = reply.get("Username", ""), reply.get("Secret", "")
    except (ValueError, AttributeError):
        raise RegistryError(f"{endpoint}: docker credential helper {program} returned invalid JSON")
    if not secret:
        return None
    if username == "<token>":
        return Credential(identity_token=secret)
    return Credential(username=username or "", password=secret)


def _auth_entry_credential(entry: Mapping, endpoint: str, config_path: Path) -> Credential | None:
    username, password = entry.get("username") or "", entry.get("password") or ""
    encoded = entry.get("auth") or ""
    if encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise RegistryError(f"{endpoint}: invalid auth entry in {config_path}")
        user, colon, secret = decoded.partition(":")
        if not colon:
            raise RegistryError(f"{endpoint}: invalid auth entry in {config_path}")
        username, password = user, secret.strip("\x00")
    if entry.get("registrytoken"):
        return Credential(registry_token=entry["registrytoken"])
    if entry.get("identitytoken"):
        return Credential(username=username, identity_token=entry["identitytoken"])
    if username and password:
        return Credential(username=username, password=password)
    return None


def docker_config_credential(
    key: str, endpoint: str, config_dir: Path | None = None
) -> Credential | None:
    """Credentials for registry `key` the way the docker CLI finds them: `credHelpers[key]`,
    else `credsStore`, else the `auths` entry (base64 `auth`, `identitytoken`, ...)."""
    config_path = (config_dir or docker_config_dir()) / "config.json"
    try:
        config = json.loads(config_path.read_text("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise RegistryError(f"cannot read docker config {config_path}: {type(e).__name__}")
    if not isinstance(config, dict):
        return None
    helpers = config.get("credHelpers") or {}
    if isinstance(helpers, dict):
        for name, helper in helpers.items():
            if registry_key(name) == key and helper:
                return _run_credential_helper(helper, key, endpoint)
    store = config.get("credsStore")
    if store:
        found = _run_credential_helper(store, key, endpoint)
        if found is not None:
            return found
    auths = config.get("auths") or {}
    if isinstance(auths, dict):
        for name, entry in auths.items():
            if registry_key(name) == key and isinstance(entry, dict):
                found = _auth_entry_credential(entry, endpoint, config_path)
                if found is not None:
                    return found
    return None


class CredentialStore:
    """Explicit linuxkit-style credentials first, then (unless disabled) the docker config."""

    def __init__(
        self,
        explicit: Mapping[str, Credential] | None = None,
        *,
        docker_config: bool = True,
        config_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        self._explicit = dict(explicit or {})
        self._docker_config = docker_config
        self._config_dir = Path(config_dir) if config_dir is not None else None

    @classmethod
    def from_specs(cls, specs: Iterable[str] = (), **kwargs) -> CredentialStore:
        return cls(parse_registry_creds(split_registry_creds(specs)), **kwargs)

    def lookup(self, registry: str) -> Credential | None:
        key = registry_key(registry)
        if key in self._explicit:
            return self._explicit[key]
        if self._docker_config:
            return docker_config_credential(key, registry, self._config_dir)
        return None


# --------------------------------------------------------------------------------------------
# HTTP


@dataclass(frozen=True)
class RetryPolicy:
    """`attempts` tries in all; sleeps double from `initial_delay` up to `max_delay`."""

    attempts: int = 6
    initial_delay: float = 0.2
    max_delay: float = 3.2
    max_retry_after: float = 10.0

    def delays(self) -> Iterator[float]:
        delay = self.initial_delay
        for _ in range(self.attempts - 1):
            yield delay
            delay = min(delay * 2, self.max_delay)


DEFAULT_RETRY = RetryPolicy()


@dataclass
class Response:
    status: int
    reason: str
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


class _Transient(Exception):
    """A failure worth retrying; `str()` is safe to show."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


Body = Union[bytes, Callable[[], IO[bytes]], None]


class _Slice:
    """`length` bytes of `f` from `offset`, as a read()-able body."""

    def __init__(self, f: IO[bytes], offset: int, length: int) -> None:
        if offset:
            f.seek(offset)
        self._f = f
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if size < 0 or size > self._left:
            size = self._left
        data = self._f.read(size)
        if not data:
            raise OciError("blob in the OCI archive is shorter than its size")
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._f.close()


def _error_detail(resp: Response) -> str:
    """`<status> <CODE>: <message>` from a distribution error body, else the reason phrase."""
    detail = f"{resp.status} {resp.reason}".strip()
    try:
        errors = json.loads(resp.body).get("errors") or []
        first = errors[0]
        code, message = first.get("code", ""), first.get("message", "")
        text = ": ".join(p for p in (code, message) if p)
        if text:
            detail = f"{resp.status} {text}"
    except (ValueError, AttributeError, IndexError, KeyError, TypeError):
        pass
    return detail.replace("\n", " ")[:300]


def _error_codes(resp: Response) -> set[str]:
    try:
        return {e.get("code", "") for e in json.loads(resp.body).get("errors") or []}
    except (ValueError, AttributeError, TypeError):
        return set()


def _upload_lost(resp: Response) -> bool:
    """The registry forgot or cancelled an upload session: start a new one."""
    return resp.status == 404 or (
        resp.status == 400
        and bool(_error_codes(resp) & {"BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN"})
    )


_CHALLENGE_PARAM_RE = re.compile(r'([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """`Bearer realm="…",service="…",scope="…"` → ("bearer", {realm, service, scope})."""
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    params = {}
    for m in _CHALLENGE_PARAM_RE.finditer(rest):
        value = m.group(2) if m.group(2) is not None else m.group(3)
        params[m.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
    return scheme.lower(), params


def is_local_host(host: str) -> bool:
    hostname = urllib.parse.urlsplit(f"//{host}").hostname or ""
    return hostname in ("localhost", "127.0.0.1", "::1") or hostname.endswith(".localhost")


def speaks_plain_http(host: str, *, insecure: bool, ca_file: object = None) -> bool:
    """go-containerregistry's rule: insecure registries, and this machine's without a CA file,
    are reached over plain HTTP. Credentials only go there when the registry is `insecure`."""
    return insecure or (ca_file is None and is_local_host(host))


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _without_authorization(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}


class RegistryClient:
    """One repository on one registry. `_perform` is the single place bytes hit the network."""

    def __init__(
        self,
        ref: ImageRef,
        *,
        insecure: bool = False,
        ca_file: str | os.PathLike[str] | None = None,
        credentials: CredentialStore | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        push: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.ref = ref
        self.endpoint = ref.registry
        plain = speaks_plain_http(ref.registry, insecure=insecure, ca_file=ca_file)
        self.base_url = f"{'http' if plain else 'https'}://{ref.registry}"
        self._origin = _origin(self.base_url)
        self._insecure = insecure
        self._ca_file = os.fspath(ca_file) if ca_file is not None else None
        self._ssl: ssl.SSLContext | None = None
        self._credentials = credentials if credentials is not None else CredentialStore()
        self._credential: Credential | None = None
        self._credential_loaded = False
        self._retry = retry
        self._scope = f"repository:{ref.repository}:{'pull,push' if push else 'pull'}"
        self._timeout = timeout
        self._sleep = sleep or (lambda seconds: time.sleep(seconds))
        self._authorization: str | None = None
        self._connections: dict[tuple[str, str], http.client.HTTPConnection] = {}
        self._known_blobs: set[str] = set()

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            # The system's CAs, plus the CA file (a token service may use a public CA while
            # the registry uses a private one).
            context = ssl.create_default_context()
            if self._ca_file is not None:
                try:
                    context.load_verify_locations(cafile=self._ca_file)
                except (OSError, ssl.SSLError) as e:
                    raise RegistryError(
                        f"{self.endpoint}: cannot load CA file {self._ca_file}: "
                        f"{getattr(e, 'strerror', None) or e}"
                    )
            self._ssl = context
        return self._ssl

    def _connection(self, scheme: str, netloc: str) -> http.client.HTTPConnection:
        key = (scheme, netloc)
        conn = self._connections.get(key)
        if conn is None:
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    netloc, timeout=self._timeout, context=self._ssl_context(), blocksize=1 << 16
                )
            elif scheme == "http":
                conn = http.client.HTTPConnection(netloc, timeout=self._timeout, blocksize=1 << 16)
            else:
                raise RegistryError(
                    f"{self.endpoint}: unsupported URL scheme {scheme!r} from registry"
                )
            self._connections[key] = conn
        return conn

    def _drop_connection(self, scheme: str, netloc: str) -> None:
        conn = self._connections.pop((scheme, netloc), None)
        if conn is not None:
            conn.close()

    def _perform(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | IO[bytes] | None
    ) -> Response:
        """One HTTP exchange on a kept-alive connection. Raises OSError/HTTPException."""
        parts = urllib.parse.urlsplit(url)
        conn = self._connection(parts.scheme, parts.netloc)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            conn.request(method, target, body=body, headers=dict(headers))
            resp = conn.getresponse()
            data = resp.read()
        except BaseException:
            self._drop_connection(parts.scheme, parts.netloc)
            raise
        if resp.will_close:
            self._drop_connection(parts.scheme, parts.netloc)
        return Response(
            resp.status, resp.reason, {k.lower(): v for k, v in resp.getheaders()}, data
        )

    def _url(self, path: str) -> str:
        return f"{self.base_url}/v2/{self.ref.repository}/{path}"

    def _manifest_url(self, reference: str) -> str:
        if not (_TAG_RE.fullmatch(reference) or self._is_digest(reference)):
            raise RegistryError(f"{self.endpoint}: invalid tag or digest {reference!r}")
        return self._url(f"manifests/{reference}")

    def _blob_url(self, digest: str) -> str:
        if not self._is_digest(digest):
            raise RegistryError(f"{self.endpoint}: invalid blob digest {digest!r}")
        return self._url(f"blobs/{digest}")

    @staticmethod
    def _is_digest(value: str) -> bool:
        try:
            check_digest(value)
        except OciError:
            return False
        return True

    def _is_registry_url(self, url: str) -> bool:
        """Same scheme, host and port as the registry: the only place its token goes."""
        return _origin(url) == self._origin

    def _check_secret_transport(self, url: str, what: str) -> None:
        if _origin(url)[0] != "https" and not self._insecure:
            raise RegistryError(
                f"{self.endpoint}: refusing to send credentials over plain HTTP to {what}; "
                "list the registry in [linuxkit].insecure_registries to allow it"
            )

    def _send(
        self, method: str, url: str, headers: Mapping[str, str] | None, body: Body, *, auth: bool
    ) -> Response:
        hdrs = {"User-Agent": _USER_AGENT, **(headers or {})}
        if (
            auth
            and self._authorization
            and "Authorization" not in hdrs
            and self._is_registry_url(url)
        ):
            hdrs["Authorization"] = self._authorization
        payload = body() if callable(body) else body
        if payload is None and method in ("POST", "PUT", "PATCH"):
            payload = b""
        try:
            return self._perform(method, url, hdrs, payload)
        except ssl.SSLCertVerificationError as e:
            raise RegistryError(
                f"{self.endpoint}: TLS certificate verification failed "
                f"({e.verify_message or e.reason}); pass the registry's CA certificate"
            )
        except ssl.SSLError as e:
            if not isinstance(e, (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)):
                # e.g. WRONG_VERSION_NUMBER: a plain-HTTP registry; retrying will not help
                raise RegistryError(f"{self.endpoint}: TLS error ({e.reason or e})")
            raise _Transient(f"{type(e).__name__}: {e}")
        except (OSError, http.client.HTTPException) as e:
            raise _Transient(f"{type(e).__name__}: {e}".rstrip(": "))
        finally:
            close = getattr(payload, "close", None)
            if close is not None:
                close()

    def _once(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        auth: bool = True,
    ) -> Response:
        """One request: authenticates on a 401 challenge (once), follows GET/HEAD redirects,
        turns retryable failures into `_Transient`. Any other status is returned."""
        redirects = 0
        reauthenticated = False
        while True:
            resp = self._send(method, url, headers, body, auth=auth)
            if resp.status == 401 and auth and self._is_registry_url(url):
                if reauthenticated:
                    raise self._auth_failed(resp)
                self._authenticate(resp)
                reauthenticated = True
                continue
            if resp.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
                location = resp.header("location")
                redirects += 1
                if not location or redirects > _MAX_REDIRECTS:
                    raise RegistryError(f"{self.endpoint}: too many redirects")
                target = urllib.parse.urljoin(url, location)
                if _origin(target) != _origin(url):
                    # Credentials stay with the origin that asked for them (another host, port
                    # or scheme gets none); `_send` adds the registry's token only to its own.
                    headers = _without_authorization(headers)
                url = target
                continue
            if resp.status >= 500 or resp.status in (408, 429):
                retry_after = None
                with contextlib.suppress(ValueError):
                    retry_after = float(resp.header("retry-after"))
                raise _Transient(_error_detail(resp), retry_after)
            return resp

    def _retrying(self, what: str, fn: Callable[[], object]):
        last: _Transient | None = None
        delays = self._retry.delays()
        while True:
            try:
                return fn()
            except _Transient as e:
                last = e
            delay = next(delays, None)
            if delay is None:
                break
            if last.retry_after is not None:
                delay = max(delay, min(last.retry_after, self._retry.max_retry_after))
            self._sleep(delay)
        raise RegistryError(
            f"{self.endpoint}: {what} failed after {self._retry.attempts} attempts ({last})"
        )

    def _request(self, what: str, method: str, url: str, **kwargs) -> Response:
        return self._retrying(what, lambda: self._once(method, url, **kwargs))

    def _unexpected(self, what: str, resp: Response) -> RegistryError:
        if resp.status == 403:
            return RegistryError(f"{self.endpoint}: {what}: access denied ({_error_detail(resp)})")
        return RegistryError(f"{self.endpoint}: {what} failed ({_error_detail(resp)})")

    # -- authentication -----------------------------------------------------------------------

    def _auth_failed(self, resp: Response, hint: str = "") -> RegistryError:
        return RegistryError(
            f"{self.endpoint}: authentication failed ({_error_detail(resp)}){hint}"
        )

    def _get_credential(self) -> Credential | None:
        if not self._credential_loaded:
            self._credential = self._credentials.lookup(self.endpoint)
            self._credential_loaded = True
        return self._credential

    def _authenticate(self, resp: Response) -> None:
        scheme, params = parse_challenge(resp.header("www-authenticate"))
        cred = self._get_credential()
        if cred is not None:
            self._check_secret_transport(self.base_url, self.endpoint)
        if scheme == "bearer":
            if cred is not None and cred.registry_token:
                self._authorization = f"Bearer {cred.registry_token}"
                return
            realm = params.get("realm")
            if not realm:
                raise self._auth_failed(resp, ": Bearer challenge without a realm")
            token = self._fetch_token(realm, params.get("service", ""), cred)
            self._authorization = f"Bearer {token}"
        elif scheme == "basic":
            if cred is None or not (cred.username and cred.password):
                raise self._auth_failed(resp, f": no credentials for {self.endpoint}")
            pair = f"{cred.username}:{cred.password}".encode("utf-8")
            self._authorization = f"Basic {base64.b64encode(pair).decode('ascii')}"
        else:
            raise self._auth_failed(
                resp, f": unsupported authentication scheme {scheme or 'none'!r}"
            )

    def _fetch_token(self, realm: str, service: str, cred: Credential | None) -> str:
        realm_parts = urllib.parse.urlsplit(realm)
        if realm_parts.scheme not in ("http", "https") or not realm_parts.netloc:
            raise RegistryError(f"{self.endpoint}: invalid token realm in the registry's challenge")
        service_desc = f"token service {realm_parts.netloc}"
        if cred is not None:
            self._check_secret_transport(realm, service_desc)
        headers = {"Accept": "application/json"}
        if cred is not None and cred.identity_token:
            form = {
                "grant_type": "refresh_token",
                "refresh_token": cred.identity_token,
                "client_id": _USER_AGENT,
                "scope": self._scope,
            }
            if service:
                form["service"] = service
            data = urllib.parse.urlencode(form).encode("ascii")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            method, url, body = "POST", realm, data
        else:
            query = [("scope", self._scope)]
            if service:
                query.insert(0, ("service", service))
            sep = "&" if realm_parts.query else "?"
            url = realm + sep + urllib.parse.urlencode(query)
            if cred is not None and cred.username and cred.password:
                pair = f"{cred.username}:{cred.password}".encode("utf-8")
                headers["Authorization"] = f"Basic {base64.b64encode(pair).decode('ascii')}"
            method, body = "GET", None
        resp = self._request(
            f"{service_desc} request", method, url, headers=headers, body=body, auth=False
        )
        if resp.status in (401, 403):
            raise RegistryError(
                f"{self.endpoint}: authentication failed ({resp.status} from {service_desc})"
            )
        if resp.status != 200:
            raise RegistryError(f"{self.endpoint}: {service_desc} failed ({_error_detail(resp)})")
        try:
            reply = json.loads(resp.body)
            token = reply.get("token") or reply.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{self.endpoint}: {service_desc} returned no token")
        return token

    def check_access(self) -> None:
        """`GET /v2/`, authenticating if challenged: credentials are checked here, before any
        write. (A registry that only challenges writes is authenticated on its first 401.)"""
        resp = self._request("API version check", "GET", f"{self.base_url}/v2/")
        if resp.status == 404:
            raise RegistryError(f"{self.endpoint}: not a registry (GET /v2/ returned 404)")
        if resp.status != 200:
            raise self._unexpected("API version check", resp)

    # -- content ------------------------------------------------------------------------------

    def manifest_digest(self, reference: str) -> str | None:
        """The digest a tag (or digest) resolves to, or None if the registry does not have it."""
        what = f"looking up {self.ref.with_tag(reference) if ':' not in reference else reference}"
        headers = {"Accept": MANIFEST_ACCEPT}
        url = self._manifest_url(reference)
        resp = self._request(what, "HEAD", url, headers=headers)
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self._unexpected(what, resp)
        digest = resp.header("docker-content-digest")
        if digest:
            return self._checked_digest(what, digest)
        resp = self._request(what, "GET", url, headers=headers)
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self._unexpected(what, resp)
        return self._verified(what, resp, reference)

    def get_manifest(self, reference: str) -> tuple[bytes, str] | None:
        """A manifest or index by tag or digest: (bytes, media type), or None if absent. The
        bytes match the digest asked for, or the one the registry reports for a tag."""
        what = f"fetching {reference}"
        resp = self._request(
            what, "GET", self._manifest_url(reference), headers={"Accept": MANIFEST_ACCEPT}
        )
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise self._unexpected(what, resp)
        self._verified(what, resp, reference)
        return resp.body, resp.header("content-type") or ""

    def get_blob(self, digest: str) -> bytes:
        what = f"fetching blob {digest}"
        resp = self._request(what, "GET", self._blob_url(digest))
        if resp.status != 200:
            raise self._unexpected(what, resp)
        if sha256_digest(resp.body) != digest:
            raise RegistryContentError(f"{self.endpoint}: {what}: content does not match")
        return resp.body

    def _checked_digest(self, what: str, digest: str) -> str:
        if not self._is_digest(digest):
            raise RegistryContentError(
                f"{self.endpoint}: {what}: invalid Docker-Content-Digest {digest[:80]!r}"
            )
        return digest

    def _verified(self, what: str, resp: Response, reference: str) -> str:
        """The digest of a manifest response, checked against the digest asked for and the one
        the registry reports (bytes that match neither were altered on the way)."""
        actual = sha256_digest(resp.body)
        reported = resp.header("docker-content-digest")
        for expected in (reference if ":" in reference else "", reported):
            if expected and self._checked_digest(what, expected) != actual:
                raise RegistryContentError(
                    f"{self.endpoint}: {what}: content does not match its digest {expected}"
                )
        return actual

    def blob_exists(self, digest: str) -> bool:
        if digest in self._known_blobs:
            return True
        what = f"checking blob {digest}"
        resp = self._request(what, "HEAD", self._blob_url(digest))
        if resp.status == 404:
            return False
        if resp.status != 200:
            raise self._unexpected(what, resp)
        self._known_blobs.add(digest)
        return True

    def upload_blob(
        self,
        digest: str,
        size: int,
        opener: Callable[[], IO[bytes]],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        """Upload a blob streamed from `opener()` (called again for every request that sends
        bytes, so nothing is held in memory). `chunk_size` > 0: PATCH chunks, then a closing
        PUT; a failed chunk is resumed from the offset the registry reports. 0: one monolithic
        PUT. When the upload session itself is lost, a fresh one is started."""
        what = f"uploading blob {digest}"
        self._retrying(what, lambda: self._upload_session(what, digest, size, opener, chunk_size))
        self._known_blobs.add(digest)

    def _upload_session(
        self, what: str, digest: str, size: int, opener: Callable[[], IO[bytes]], chunk_size: int
    ) -> None:
        """One upload session. Raises `_Transient` when it has to be started over."""
        resp = self._request(
            what, "POST", self._url("blobs/uploads/"), headers={"Content-Length": "0"}
        )
        if resp.status != 202:
            raise self._unexpected(what, resp)
        location = self._location(resp, what)
        octets = {"Content-Type": "application/octet-stream"}
        if chunk_size > 0:
            offset = 0
            rejected_at = -1
            delays = self._retry.delays()
            while offset < size:
                start, length = offset, min(chunk_size, size - offset)
                try:
                    resp = self._once(
                        "PATCH",
                        location,
                        headers={
                            **octets,
                            "Content-Length": str(length),
                            "Content-Range": f"{start}-{start + length - 1}",
                        },
                        body=lambda: _Slice(opener(), start, length),
                    )
                except _Transient as e:
                    delay = next(delays, None)
                    if delay is None:
                        raise RegistryError(
                            f"{self.endpoint}: {what} failed after {self._retry.attempts} "
                            f"attempts ({e})"
                        )
                    self._sleep(delay)
                    offset, location = self._upload_status(what, location, start)
                    continue
                if resp.status == 416:  # the registry has a different offset: ask it
                    if start == rejected_at:
                        raise _Transient("upload offset rejected twice")
                    rejected_at = start
                    offset, location = self._upload_status(what, location, -1)
                    continue
                if _upload_lost(resp):
                    raise _Transient(f"upload session lost ({_error_detail(resp)})")
                if resp.status != 202:
                    raise self._unexpected(what, resp)
                location = self._location(resp, what)
                offset = self._range_end(resp, start + length)
            final_body: Body = None
            final_length = 0
        else:
            final_body = lambda: _Slice(opener(), 0, size)  # noqa: E731
            final_length = size
        sep = "&" if urllib.parse.urlsplit(location).query else "?"
        put_url = f"{location}{sep}digest={urllib.parse.quote(digest, safe='')}"
        headers = {**octets, "Content-Length": str(final_length)}
        if final_body is None:  # empty body: safe to retry on its own
            resp = self._request(what, "PUT", put_url, headers=headers)
        else:  # a failed monolithic PUT restarts the session (`_Transient` propagates)
            resp = self._once("PUT", put_url, headers=headers, body=final_body)
        if resp.status not in (201, 204):
            # A retried closing PUT finds the session gone if the first one did land.
            self._known_blobs.discard(digest)
            if resp.status == 404 and self.blob_exists(digest):
                return
            if _upload_lost(resp):
                raise _Transient(f"upload session lost ({_error_detail(resp)})")
            raise self._unexpected(what, resp)
        returned = resp.header("docker-content-digest")
        if returned and returned != digest:
            raise RegistryError(f"{self.endpoint}: {what}: registry stored it as {returned}")

    @staticmethod
    def _range_end(resp: Response, default: int) -> int:
        """The offset after the bytes a `Range: 0-<last>` header says the registry has."""
        m = re.fullmatch(r"(?:bytes=)?0-(\d+)", resp.header("range").strip())
        return int(m.group(1)) + 1 if m else default

    def _upload_status(self, what: str, location: str, expected: int) -> tuple[int, str]:
        """Where an interrupted upload session stands (GET on it), to resume from there.
        A lost session, or an offset that cannot be told apart, means starting over."""
        resp = self._request(what, "GET", location)
        if _upload_lost(resp):
            # e.g. distribution cancels a session whose data no longer matches its offset
            raise _Transient(f"upload session lost ({_error_detail(resp)})")
        if resp.status not in (200, 204):
            raise self._unexpected(what, resp)
        offset = self._range_end(resp, -1)
        if offset <= 1:
            # distribution answers `0-0` for both "nothing" and "one byte"; nothing is what we
            # expect when the first chunk failed (a 416 on retrying it restarts the session).
            if expected != 0:
                raise _Transient("upload session has no usable offset")
            offset = 0
        return offset, self._location(resp, what) if resp.header("location") else location

    def _location(self, resp: Response, what: str) -> str:
        location = resp.header("location")
        if not location:
            raise RegistryError(f"{self.endpoint}: {what}: registry sent no upload location")
        return urllib.parse.urljoin(self.base_url + "/", location)

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str:
        """PUT the exact bytes under a tag or digest; returns the digest the registry reports."""
        digest = sha256_digest(data)
        target = str(self.ref.with_tag(reference)) if ":" not in reference else reference
        what = f"pushing {target}"
        resp = self._request(
            what,
            "PUT",
            self._manifest_url(reference),
            headers={"Content-Type": media_type, "Content-Length": str(len(data))},
            body=data,
        )
        if resp.status not in (200, 201, 202):
            raise self._unexpected(what, resp)
        returned = resp.header("docker-content-digest")
        if returned and returned != digest:
            raise RegistryError(
                f"{self.endpoint}: {what}: registry stored digest {returned}, expected {digest}"
            )
        return digest


# --------------------------------------------------------------------------------------------
# Pushing an archive


@dataclass(frozen=True)
class PushResult:
    ref: str  # containerd form, e.g. docker.io/linuxkit/foo:abc-amd64
    digest: str
    action: str  # "pushed", "skipped" or "would push"
    media_type: str = ""

    @property
    def line(self) -> str:
        if self.action == "skipped":
            return f"skipped {self.ref} {self.digest} (already in the registry)"
        return f"{self.action} {self.ref} {self.digest}"

    def __str__(self) -> str:
        return self.line


@dataclass(frozen=True)
class _Manifest:
    desc: Descriptor
    data: bytes
    media_type: str
    blobs: tuple[Descriptor, ...] = ()  # for image manifests


@dataclass(frozen=True)
class _Tag:
    ref: ImageRef
    manifest: _Manifest


@dataclass
class PushPlan:
    """What a push writes: `manifests` children-first (root last), then `tags` in order."""

    root: _Manifest
    manifests: list[_Manifest] = field(default_factory=list)
    tags: list[_Tag] = field(default_factory=list)


def _media_type(desc: Descriptor, data: bytes) -> str:
    if desc.media_type:
        return desc.media_type
    with contextlib.suppress(ValueError, AttributeError):
        declared = json.loads(data).get("mediaType")
        if isinstance(declared, str) and declared:
            return declared
    raise OciError(f"manifest {desc.digest} has no media type")


def _collect(
    archive: OciArchive, desc: Descriptor, out: list[_Manifest], seen: dict[str, _Manifest]
) -> _Manifest:
    if desc.digest in seen:
        return seen[desc.digest]
    if not archive.has_blob(desc.digest):
        raise OciError(f"manifest {desc.digest} is not in the OCI archive")
    data = archive.read_blob(desc.digest)
    if sha256_digest(data) != desc.digest:
        raise OciError(f"manifest {desc.digest} in the OCI archive does not match its digest")
    media_type = _media_type(desc, data)
    if media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST):
        for child in parse_index(data).manifests:
            _collect(archive, child, out, seen)
        item = _Manifest(desc, data, media_type)
    elif media_type in (OCI_MANIFEST, DOCKER_MANIFEST):
        manifest = parse_manifest(data)
        blobs = tuple(
            d
            for d in (manifest.config, *manifest.layers)
            if not (d.media_type in FOREIGN_LAYER_TYPES and not archive.has_blob(d.digest))
        )
        item = _Manifest(desc, data, media_type, blobs)
    else:
        raise OciError(f"cannot push {desc.digest}: unsupported media type {media_type!r}")
    seen[desc.digest] = item
    out.append(item)
    return item


def _arch_image(
    archive: OciArchive, child: Descriptor, seen: Mapping[str, _Manifest]
) -> tuple[str, _Manifest] | None:
    """(architecture, image manifest) a root-index child gets an `-arch` tag for, if any."""
    item = seen[child.digest]
    if item.media_type in (OCI_MANIFEST, DOCKER_MANIFEST):
        platform = manifest_platform(child, archive.read_blob)
        if platform is None or platform.is_unknown or not platform.architecture:
            return None
        return platform.architecture, item
    # A nested (buildkit per-arch) index: tag the image manifest in it.
    for grandchild in parse_index(item.data).manifests:
        if seen[grandchild.digest].media_type not in (OCI_MANIFEST, DOCKER_MANIFEST):
            continue
        platform = manifest_platform(grandchild, archive.read_blob)
        if platform is not None and platform.is_unknown:
            continue
        platform = child.platform or platform
        if platform is None or not platform.architecture:
            continue
        return platform.architecture, seen[grandchild.digest]
    return None


def plan_push(archive: OciArchive, target: ImageRef, *, arch_tags: bool = True) -> PushPlan:
    roots = archive.root_descriptors
    if len(roots) != 1:
        raise OciError(f"OCI archive has {len(roots)} root descriptors, want exactly one to push")
    seen: dict[str, _Manifest] = {}
    manifests: list[_Manifest] = []
    root = _collect(archive, roots[0], manifests, seen)
    plan = PushPlan(root=root, manifests=manifests)
    if arch_tags and root.media_type in (OCI_INDEX, DOCKER_MANIFEST_LIST):
        by_tag: dict[str, _Manifest] = {}
        for child in parse_index(root.data).manifests:
            found = _arch_image(archive, child, seen)
            if found is None:
                continue
            arch, image = found
            tag = f"{target.tag}-{arch}"
            if not _TAG_RE.fullmatch(tag):
                raise RegistryError(f"cannot tag {target.name}:{tag}: invalid tag")
            previous = by_tag.get(tag)
            if previous is not None and previous.desc.digest != image.desc.digest:
                raise RegistryError(
                    f"cannot tag {target.name}:{tag}: the index has more than one {arch} image"
                )
            if previous is None:
                by_tag[tag] = image
                plan.tags.append(_Tag(target.with_tag(tag), image))
    plan.tags.append(_Tag(target, root))
    return plan


def push_image(
    archive_path: str | os.PathLike[str],
    ref: str,
    *,
    arch_tags: bool = True,
    insecure: bool = False,
    ca_file: str | os.PathLike[str] | None = None,
    creds: Iterable[str] | CredentialStore = (),
    force: bool = False,
    dry_run: bool = False,
    log: Callable[[str], None] | None = print,
    retry: RetryPolicy = DEFAULT_RETRY,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_event: Callable[[str, str], None] | None = None,
    content_only: bool = False,
) -> list[PushResult]:
    """Push the archive's root (a multi-arch index, or a single image) to `ref`.

    `creds`: linuxkit `--registry-creds` entries (used for their registry, docker config
    otherwise) or a ready `CredentialStore`. Logs (and returns) one line per tag:
    `pushed <ref> <digest>`, `skipped <ref> <digest> (already in the registry)`, or with
    `dry_run` `would push <ref> <digest>` (dry runs only read from the registry). A tag that
    exists with another digest is an error unless `force`. `on_event(kind, what)` is called after
    each write (`blob`, `manifest`, `tag`); tests use it to interrupt a push. `content_only`
    uploads blobs and manifests by digest and writes no tag (publish does that part last).
    """
    target = parse_ref(ref)
    if isinstance(creds, str):
        creds = [creds]
    store = creds if isinstance(creds, CredentialStore) else CredentialStore.from_specs(creds)
    emit = log or (lambda line: None)
    event = on_event or (lambda kind, what: None)
    results: list[PushResult] = []
    with OciArchive.open(archive_path) as archive:
        plan = plan_push(archive, target, arch_tags=arch_tags)
        with RegistryClient(
            target,
            insecure=insecure,
            ca_file=ca_file,
            credentials=store,
            retry=retry,
            push=not dry_run,
        ) as client:
            client.check_access()
            existing = {tag.ref.tag: client.manifest_digest(tag.ref.tag) for tag in plan.tags}
            for tag in plan.tags:
                remote = existing[tag.ref.tag]
                if remote is not None and remote != tag.manifest.desc.digest and not force:
                    raise RegistryError(
                        f"{tag.ref} already exists in the registry as {remote}, "
                        f"not {tag.manifest.desc.digest}; use force to replace it"
                    )
            pending = [t for t in plan.tags if existing[t.ref.tag] != t.manifest.desc.digest]
            if pending and not dry_run:
                _push_content(archive, client, plan, chunk_size, event)
            if content_only:
                return results
            for tag in plan.tags:
                digest = tag.manifest.desc.digest
                if existing[tag.ref.tag] == digest:
                    result = PushResult(str(tag.ref), digest, "skipped", tag.manifest.media_type)
                elif dry_run:
                    result = PushResult(str(tag.ref), digest, "would push", tag.manifest.media_type)
                else:
                    client.put_manifest(tag.ref.tag, tag.manifest.data, tag.manifest.media_type)
                    result = PushResult(str(tag.ref), digest, "pushed", tag.manifest.media_type)
                    event("tag", str(tag.ref))
                results.append(result)
                emit(result.line)
    return results


def _push_content(
    archive: OciArchive,
    client: RegistryClient,
    plan: PushPlan,
    chunk_size: int,
    event: Callable[[str, str], None],
) -> None:
    """Blobs, then each manifest by digest, children first. A manifest already in the
    repository implies its blobs are (the registry checked them when it accepted it)."""
    sizes = archive.blob_sizes
    for item in plan.manifests:
        if client.manifest_digest(item.desc.digest) == item.desc.digest:
            continue
        for blob in item.blobs:
            if client.blob_exists(blob.digest):
                continue
            if blob.digest not in sizes:
                raise OciError(
                    f"blob {blob.digest} is in neither the OCI archive nor {client.ref.name}"
                )
            if sizes[blob.digest] != blob.size:
                raise OciError(
                    f"blob {blob.digest} in the OCI archive has {sizes[blob.digest]} bytes, "
                    f"its descriptor says {blob.size}"
                )
            client.upload_blob(
                blob.digest,
                blob.size,
                lambda d=blob.digest: archive.open_blob(d),
                chunk_size=chunk_size,
            )
            event("blob", blob.digest)
        client.put_manifest(item.desc.digest, item.data, item.media_type)
        event("manifest", item.desc.digest)


def push_refs(
    archive_path: str | os.PathLike[str], refs: Sequence[str], **kwargs
) -> list[PushResult]:
    """`push_image` for each ref in turn (e.g. the package tag, then its release tag)."""
    results: list[PushResult] = []
    for ref in refs:
        results.extend(push_image(archive_path, ref, **kwargs))
    return results


def remote_image_for(
    ref: str, arch: str, *, timeout: float = 5.0, **client_kwargs
) -> str | None:
    """linuxkit's `ImageInRegistry`: the digest of the image manifest that `ref` has for
    `linux/<arch>`, or None. A registry that cannot be reached (or refuses us) counts as "not
    there"; one that sends malformed JSON or content that does not match its digest is an
    error (one line naming the endpoint), since what it says cannot be trusted."""
    target = parse_ref(ref)
    with RegistryClient(
        target, push=False, retry=RetryPolicy(attempts=1), timeout=timeout, **client_kwargs
    ) as client:
        try:
            return _platform_digest(client, target.tag, arch)
        except RegistryContentError:
            raise
        except OciError as e:
            raise RegistryContentError(f"{client.endpoint}: {target}: {e}")
        except (RegistryError, OSError):
            return None


def _platform_digest(client: RegistryClient, tag: str, arch: str) -> str | None:
    found = client.get_manifest(tag)
    if found is None:
        return None
    data, media_type = found
    if media_type not in _INDEX_TYPES + _IMAGE_TYPES:
        with contextlib.suppress(ValueError, TypeError):
            media_type = OCI_INDEX if "manifests" in json.loads(data) else OCI_MANIFEST
    if media_type in _INDEX_TYPES:
        for child in parse_index(data).manifests:  # validates every child digest
            platform = child.platform
            if platform and platform.architecture == arch and platform.os in ("", "linux"):
                return child.digest
        return None
    config = parse_config_platform(client.get_blob(parse_manifest(data).config.digest))
    return sha256_digest(data) if config.architecture == arch else None
