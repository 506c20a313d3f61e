"""HTTP to a registry: kept-alive connections, bounded retries with backoff (5xx, 429, dropped
connections, `Retry-After`), redirects, and authentication (Basic, or the Bearer token flow)
settled on the first 401.

Credentials stay with the origin (scheme, host, port) they are for: a redirect elsewhere drops
them, and they go over plain HTTP only to a registry listed as insecure. Error messages are one
line naming the registry; they never contain credentials, tokens or upload URLs."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import re
import ssl
import time
import urllib.parse
from dataclasses import dataclass
from typing import IO, Callable, Iterator, Mapping, Union

from linuxkit.pkglib.errors import RegistryError
from linuxkit.pkglib.registry.credentials import Credential, CredentialStore
from linuxkit.pkglib.registry.references import ImageRef

DEFAULT_TIMEOUT = 120.0
USER_AGENT = "pants-linuxkit"
MAX_REDIRECTS = 5


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


class Transient(Exception):
    """A failure worth retrying; `str()` is safe to show."""

    def __init__(self, detail: str, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


Body = Union[bytes, Callable[[], IO[bytes]], None]


def error_detail(resp: Response) -> str:
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


class Transport:
    """HTTP to one registry for one repository: kept-alive connections, retries, and the
    authentication the registry asks for. `_perform` is the single place bytes hit the network."""

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

    # -- plumbing -----------------------------------------------------------------------------

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()

    def __enter__(self) -> Transport:
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
        hdrs = {"User-Agent": USER_AGENT, **(headers or {})}
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
            raise Transient(f"{type(e).__name__}: {e}")
        except (OSError, http.client.HTTPException) as e:
            raise Transient(f"{type(e).__name__}: {e}".rstrip(": "))
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
        turns retryable failures into `Transient`. Any other status is returned."""
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
                if not location or redirects > MAX_REDIRECTS:
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
                raise Transient(error_detail(resp), retry_after)
            return resp

    def _retrying(self, what: str, fn: Callable[[], object]):
        last: Transient | None = None
        delays = self._retry.delays()
        while True:
            try:
                return fn()
            except Transient as e:
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
            return RegistryError(f"{self.endpoint}: {what}: access denied ({error_detail(resp)})")
        return RegistryError(f"{self.endpoint}: {what} failed ({error_detail(resp)})")

    # -- authentication -----------------------------------------------------------------------

    def _auth_failed(self, resp: Response, hint: str = "") -> RegistryError:
        return RegistryError(
            f"{self.endpoint}: authentication failed ({error_detail(resp)}){hint}"
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
                "client_id": USER_AGENT,
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
            raise RegistryError(f"{self.endpoint}: {service_desc} failed ({error_detail(resp)})")
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
