"""A real OCI registry (Debian's docker-registry, distribution v2.8) for tests.

Tests push to and pull from it like they would from a production registry, so
they exercise the real HTTP API (auth challenges, TLS, manifest negotiation)
instead of a mock. Usage:

    with Registry() as reg:                      # plain HTTP on 127.0.0.1:<free port>
        ...push to f"{reg.host}/repo:tag"...
        assert reg.tags("repo") == ["tag"]
    with Registry(tls=True, htpasswd=("u", "p")) as reg:
        reg.ca_cert                              # self-signed cert (SAN IP:127.0.0.1)
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

REGISTRY_BINARIES = ("docker-registry", "registry")

# Everything a client may ask for, most specific first, so the registry never
# has to down-convert (distribution only converts schema2 -> schema1 anyway).
MANIFEST_ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def registry_binary() -> str | None:
    """Path of the registry server ($DOCKER_REGISTRY_BIN overrides), None if absent."""
    override = os.environ.get("DOCKER_REGISTRY_BIN")
    if override:
        return override
    for name in REGISTRY_BINARIES:
        found = shutil.which(name)
        if found:
            return found
    return None


def missing_tools(*extra: str) -> list[str]:
    """Tools the registry helpers need that are not installed (for `skipif`)."""
    missing = [] if registry_binary() else ["docker-registry"]
    return missing + [tool for tool in ("openssl", "htpasswd", *extra) if not shutil.which(tool)]


def free_port() -> int:
    """A port nobody listens on right now (racy in theory, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_self_signed_cert(directory: Path, ip: str = "127.0.0.1") -> tuple[Path, Path]:
    """(cert, key) valid for `ip`; the cert is its own CA, so clients trust it directly."""
    cert, key = directory / "registry.crt", directory / "registry.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-nodes", "-days", "2",
         "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-subj", f"/CN={ip}", "-addext", f"subjectAltName=IP:{ip}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def make_htpasswd(path: Path, user: str, password: str) -> Path:
    """An htpasswd file with a bcrypt hash: the only kind distribution accepts."""
    line = subprocess.run(
        ["htpasswd", "-nbB", user, password], check=True, capture_output=True, text=True
    ).stdout.strip()
    path.write_text(line + "\n")
    return path


@dataclass(frozen=True)
class Response:
    """An HTTP response, error statuses included (urllib raises for those)."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Registry:
    """A docker-registry process on 127.0.0.1; a context manager that starts/stops it.

    `storage_dir` and `port` default to a fresh temp dir / free port and stay fixed
    for the object's life, so `kill()` + `start()` brings back the same registry
    with the same content (a crash/restart in the middle of a test).
    """

    tls: bool = False
    htpasswd: tuple[str, str] | None = None
    storage_dir: Path | None = None
    port: int = 0
    startup_timeout: float = 15.0
    _workdir: Path = field(init=False, repr=False)
    _own_storage: bool = field(init=False, repr=False, default=False)
    _proc: subprocess.Popen | None = field(init=False, repr=False, default=None)
    ca_cert: Path | None = field(init=False, default=None)
    _tls_key: Path | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="test-registry-"))
        if self.storage_dir is None:
            self.storage_dir = self._workdir / "storage"
            self._own_storage = True
        self.storage_dir = Path(self.storage_dir)
        self.storage_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        if self.tls:
            self.ca_cert, self._tls_key = make_self_signed_cert(self._workdir)
            (self._workdir / "certs").mkdir()
            shutil.copy(self.ca_cert, self._workdir / "certs" / "ca.crt")
        if self.htpasswd:
            make_htpasswd(self._workdir / "htpasswd", *self.htpasswd)
        self._config = self._write_config()

    # -- addresses ---------------------------------------------------------------

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, the registry part of an image reference."""
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    @property
    def cert_dir(self) -> Path | None:
        """A dir holding only `ca.crt` (for skopeo `--cert-dir`, docker `certs.d/<host>`)."""
        return self._workdir / "certs" if self.tls else None

    @property
    def log_file(self) -> Path:
        return self._workdir / "registry.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle ---------------------------------------------------------------

    def __enter__(self) -> "Registry":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> "Registry":
        """Start (or restart) the server and wait until `/v2/` answers."""
        if self.running:
            return self
        with open(self.log_file, "ab") as log:
            self._proc = subprocess.Popen(
                [self._binary(), "serve", str(self._config)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self._wait_ready()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop: SIGTERM, then SIGKILL if it lingers."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self) -> None:
        """Crash-stop: SIGKILL, no chance to clean up (storage stays as it is)."""
        self._signal(signal.SIGKILL, 10.0)

    def close(self) -> None:
        """Stop and delete everything this object created (not a caller's storage_dir)."""
        self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def _binary(self) -> str:
        binary = registry_binary()
        if not binary:
            raise FileNotFoundError("docker-registry not found (apt-get install docker-registry)")
        return binary

    def _signal(self, sig: int, timeout: float) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"registry exited ({self._proc.returncode}):\n{self.logs()}")
            try:
                self.request("/v2/", auth=None, timeout=1)  # 200 or 401: it is serving
                return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"registry not ready on {self.url} after {self.startup_timeout}s:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def _write_config(self) -> Path:
        """Config as JSON (valid YAML); a fixed http secret keeps uploads valid across restarts."""
        http: dict = {"addr": self.host, "secret": "test-registry-secret"}
        if self.tls:
            http["tls"] = {"certificate": str(self.ca_cert), "key": str(self._tls_key)}
        config: dict = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self.storage_dir)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": http,
        }
        if self.htpasswd:
            config["auth"] = {"htpasswd": {"realm": "test-registry", "path": str(self._workdir / "htpasswd")}}
        path = self._workdir / "config.yml"
        path.write_text(json.dumps(config, indent=2))
        return path

    # -- HTTP API ----------------------------------------------------------------

    _DEFAULT_AUTH = object()

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None | object = _DEFAULT_AUTH,
        timeout: float = 10.0,
    ) -> Response:
        """One HTTP request; `auth` defaults to the configured htpasswd user (None: anonymous).

        Basic auth is sent up front: distribution's htpasswd auth answers 401 with a
        `Basic` challenge, so there is no token dance to do.
        """
        auth = self.htpasswd if auth is self._DEFAULT_AUTH else auth
        req = urllib.request.Request(self.url + path, method=method, headers=dict(headers or {}))
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        context = ssl.create_default_context(cafile=str(self.ca_cert)) if self.tls else None
        try:
            with urllib.request.urlopen(req, timeout=timeout, context=context) as resp:
                return Response(resp.status, dict(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as err:
            return Response(err.code, dict(err.headers.items()), err.read())

    def _get_ok(self, path: str, headers: Mapping[str, str] | None = None) -> Response:
        resp = self.request(path, headers=headers)
        if resp.status != 200:
            raise RuntimeError(f"GET {self.url}{path}: HTTP {resp.status}: {resp.body[:500]!r}")
        return resp

    def catalog(self) -> list[str]:
        return self._get_ok("/v2/_catalog").json().get("repositories") or []

    def tags(self, repo: str) -> list[str]:
        """Sorted tags of `repo`; [] if the repository does not exist."""
        resp = self.request(f"/v2/{self._repo(repo)}/tags/list")
        if resp.status == 404:
            return []
        if resp.status != 200:
            raise RuntimeError(f"tags {repo}: HTTP {resp.status}: {resp.body[:500]!r}")
        return sorted(resp.json().get("tags") or [])

    def manifest(self, ref: str) -> tuple[bytes, str, str]:
        """(raw bytes, media type, digest) of `repo:tag`, `repo@digest` (or with our host)."""
        repo, reference = self.split_ref(ref)
        resp = self._get_ok(f"/v2/{repo}/manifests/{reference}", {"Accept": MANIFEST_ACCEPT})
        headers = {k.lower(): v for k, v in resp.headers.items()}
        digest = headers.get("docker-content-digest") or "sha256:" + hashlib.sha256(resp.body).hexdigest()
        return resp.body, headers.get("content-type", ""), digest

    def has_manifest(self, ref: str) -> bool:
        repo, reference = self.split_ref(ref)
        resp = self.request(f"/v2/{repo}/manifests/{reference}", method="HEAD", headers={"Accept": MANIFEST_ACCEPT})
        return resp.status == 200

    def blob(self, repo: str, digest: str) -> bytes:
        return self._get_ok(f"/v2/{self._repo(repo)}/blobs/{digest}").body

    def split_ref(self, ref: str) -> tuple[str, str]:
        """`[host/]repo(:tag|@digest)` -> (repo, tag-or-digest); the tag defaults to latest."""
        if "@" in ref:
            repo, reference = ref.split("@", 1)
        else:
            last = ref.rpartition("/")[2]
            repo, _, reference = ref.rpartition(":") if ":" in last else (ref, "", "latest")
        return self._repo(repo), reference

    def _repo(self, repo: str) -> str:
        prefix = self.host + "/"
        return repo[len(prefix):] if repo.startswith(prefix) else repo
