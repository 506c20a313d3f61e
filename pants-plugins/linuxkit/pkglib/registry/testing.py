"""Test helpers for registry code: a real registry (Debian's `docker-registry`, distribution
2.8) on 127.0.0.1, a token service, a scriptable HTTP(S) server that redirects, lies or answers
garbage, and OCI archives to push. Fixtures using them are in `conftest.py`."""

from __future__ import annotations

import base64
import http.server
import json
import random
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import pytest

from linuxkit.pkglib.oci import (
    ANNOTATION_REF_NAME,
    ANNOTATION_REFERENCE_DIGEST,
    ANNOTATION_REFERENCE_TYPE,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    Platform,
    build_index,
    go_json,
    sha256_digest,
)
from linuxkit.pkglib.oci_archive import write_oci_archive
from linuxkit.pkglib.registry.client import RegistryClient
from linuxkit.pkglib.registry.credentials import Credential, CredentialStore
from linuxkit.pkglib.registry.push import push_image
from linuxkit.pkglib.registry.references import parse_ref
from linuxkit.pkglib.registry.transport import RetryPolicy

FAST_RETRY = RetryPolicy(attempts=4, initial_delay=0.01, max_delay=0.04, max_retry_after=0.05)

CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"

LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"

BASIC = "Basic " + base64.b64encode(b"alice:s3cret").decode()

needs_registry = pytest.mark.skipif(
    not (shutil.which("docker-registry") and shutil.which("skopeo")),
    reason="needs docker-registry and skopeo",
)

# --------------------------------------------------------------------------------------------
# A real registry and token service

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

class LocalRegistry:
    """`docker-registry serve` on 127.0.0.1:<free port> with storage in a temp dir; can be
    stopped and started again on the same port and storage."""

    def __init__(
        self,
        workdir: Path,
        *,
        htpasswd: Path | None = None,
        tls: tuple[Path, Path] | None = None,
        token: tuple[str, Path] | None = None,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.storage = workdir / "storage"
        self.port = _free_port()
        self.tls = tls
        self.proc: subprocess.Popen | None = None
        lines = [
            "version: 0.1",
            "log:",
            "  level: error",
            "  accesslog:",
            "    disabled: true",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {self.storage}",
            "  delete:",
            "    enabled: true",
            "http:",
            f"  addr: 127.0.0.1:{self.port}",
        ]
        if tls:
            lines += ["  tls:", f"    certificate: {tls[0]}", f"    key: {tls[1]}"]
        if htpasswd:
            lines += ["auth:", "  htpasswd:", "    realm: test", f"    path: {htpasswd}"]
        if token:
            lines += [
                "auth:",
                "  token:",
                f"    realm: {token[0]}",
                "    service: test-registry",
                "    issuer: test-issuer",
                f"    rootcertbundle: {token[1]}",
            ]
        self.config = workdir / "registry.yml"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = workdir / "registry.log"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                ["docker-registry", "serve", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        scheme = "https" if self.tls else "http"
        context = ssl._create_unverified_context() if self.tls else None
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: {self.log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{scheme}://{self.host}/v2/", timeout=1, context=context)
                return
            except urllib.error.HTTPError:
                return  # 401: up, wants auth
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def has_repository(self, repository: str) -> bool:
        return (self.storage / "docker/registry/v2/repositories" / repository).exists()

    def tags(self, repository: str) -> set[str]:
        tags = self.storage / "docker/registry/v2/repositories" / repository / "_manifests/tags"
        return {p.name for p in tags.iterdir()} if tags.is_dir() else set()

def skopeo_raw(ref: str, *extra: str) -> bytes:
    proc = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", *extra, f"docker://{ref}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.rstrip(b"\n")

def write_htpasswd(path: Path, user: str, password: str) -> None:
    out = subprocess.run(["htpasswd", "-nbB", user, password], check=True, stdout=subprocess.PIPE)
    path.write_bytes(out.stdout)

def self_signed_cert(directory: Path, name: str = "registry") -> tuple[Path, Path]:
    """(cert, key): a self-signed certificate for 127.0.0.1 (its own CA)."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return cert, key

def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

class TokenServer:
    """A registry token service (the `auth: token` of distribution): checks Basic credentials
    and issues RS256 JWTs signed (through openssl) with the key the registry trusts."""

    def __init__(self, cert: Path, key: Path, user: str, password: str) -> None:
        import http.server
        import threading

        der = ssl.PEM_cert_to_DER_cert(cert.read_text())
        expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                outer.requests.append(query.get("scope", ""))
                if self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                now = int(time.time())
                access = []
                for scope in query.get("scope", "").split():
                    kind, name, actions = scope.split(":")
                    access.append({"type": kind, "name": name, "actions": actions.split(",")})
                header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(der).decode()]}
                claims = {
                    "iss": "test-issuer",
                    "sub": user,
                    "aud": query.get("service", ""),
                    "exp": now + 300,
                    "nbf": now - 10,
                    "iat": now,
                    "jti": str(random.random()),
                    "access": access,
                }
                signing_input = (
                    f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(claims).encode())}"
                )
                signature = subprocess.run(
                    ["openssl", "dgst", "-sha256", "-sign", str(key)],
                    input=signing_input.encode(),
                    stdout=subprocess.PIPE,
                    check=True,
                ).stdout
                body = json.dumps(
                    {"token": f"{signing_input}.{_b64url(signature)}", "expires_in": 300}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

# --------------------------------------------------------------------------------------------
# A scriptable server

@dataclass
class Seen:
    method: str
    path: str
    headers: Mapping[str, str]

@dataclass
class FakeServer:
    """`routes[(method, path)]` answers a request (the query string is part of `path` only if
    the key has one); anything unrouted is a 404. `seen` records every request."""

    routes: dict = field(default_factory=dict)
    seen: list = field(default_factory=list)
    tls: tuple[Path, Path] | None = None
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def host(self) -> str:
        assert self.server is not None
        return f"127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}"

    def route(self, method: str, path: str, answer: Callable[[Seen], tuple] | tuple) -> None:
        self.routes[(method, path)] = answer

    def authorizations(self) -> list[str]:
        return [s.headers["authorization"] for s in self.seen if "authorization" in s.headers]

    def start(self) -> FakeServer:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                outer.seen.append(seen)
                answer = outer.routes.get((self.command, self.path))
                if answer is None:
                    answer = outer.routes.get((self.command, self.path.split("?")[0]))
                if callable(answer):
                    answer = answer(seen)
                status, headers, body = answer or (404, {}, b"")
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self.tls[0]), str(self.tls[1]))
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

def client_for(host: str, repo: str = "team/pkg", **kwargs) -> RegistryClient:
    """A client for `<host>/<repo>` that tries once; alice's password unless told otherwise."""
    kwargs.setdefault("credentials", alice_store(host))
    return RegistryClient(parse_ref(f"{host}/{repo}:t"), retry=RetryPolicy(attempts=1), **kwargs)


def alice_store(host: str) -> CredentialStore:
    return CredentialStore({host: Credential(username="alice", password="s3cret")}, docker_config=False)

# --------------------------------------------------------------------------------------------
# Test archives

class Archive:
    def __init__(
        self, path: Path, index: bytes, manifests: dict[str, bytes], blobs: dict[str, bytes]
    ):
        self.path = path
        self.index = index
        self.index_digest = sha256_digest(index)
        self.manifests = manifests  # arch -> image manifest bytes
        self.blobs = blobs

def make_archive(
    path: Path,
    arches: tuple[str, ...] = ("amd64", "arm64", "riscv64"),
    *,
    seed: str = "one",
    layer_size: int = 150_000,
    attestations: bool = True,
) -> Archive:
    blobs: dict[str, bytes] = {}

    def blob(data: bytes) -> str:
        digest = sha256_digest(data)
        blobs[digest] = data
        return digest

    shared = random.Random(f"shared-{seed}").randbytes(20_000)  # one layer all arches share
    children: list[Descriptor] = []
    manifests: dict[str, bytes] = {}
    for arch in arches:
        layer = random.Random(f"{seed}-{arch}").randbytes(layer_size)
        config = json.dumps(
            {
                "architecture": arch,
                "os": "linux",
                "rootfs": {
                    "type": "layers",
                    "diff_ids": [sha256_digest(shared), sha256_digest(layer)],
                },
            },
            sort_keys=True,
        ).encode()
        manifest = go_json(
            Manifest(
                config=Descriptor(CONFIG_TYPE, len(config), blob(config)),
                layers=(
                    Descriptor(LAYER_TYPE, len(shared), blob(shared)),
                    Descriptor(LAYER_TYPE, len(layer), blob(layer)),
                ),
            )
        ).encode()
        digest = blob(manifest)
        manifests[arch] = manifest
        children.append(
            Descriptor(OCI_MANIFEST, len(manifest), digest, platform=Platform(arch, "linux"))
        )
    if attestations:
        for image in list(children):
            statement = json.dumps(
                {"_type": "https://in-toto.io/Statement/v0.1", "subject": image.digest}
            ).encode()
            config = b'{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}'
            att = go_json(
                Manifest(
                    config=Descriptor(CONFIG_TYPE, len(config), blob(config)),
                    layers=(
                        Descriptor("application/vnd.in-toto+json", len(statement), blob(statement)),
                    ),
                )
            ).encode()
            children.append(
                Descriptor(
                    OCI_MANIFEST,
                    len(att),
                    blob(att),
                    platform=Platform("unknown", "unknown"),
                    annotations={
                        ANNOTATION_REFERENCE_DIGEST: image.digest,
                        ANNOTATION_REFERENCE_TYPE: "attestation-manifest",
                    },
                )
            )
    index, index_desc = build_index(children)
    blobs[index_desc.digest] = index
    write_oci_archive(
        path, blobs, [index_desc.with_annotation(ANNOTATION_REF_NAME, "docker.io/linuxkit/test:t")]
    )
    return Archive(path, index, manifests, blobs)

class Recorder:
    """Counts the HTTP methods a push sends (wraps `RegistryClient._perform`)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, str]] = []
        original = RegistryClient._perform

        def perform(client, method, url, headers, body):
            self.calls.append((method, url))
            return original(client, method, url, headers, body)

        monkeypatch.setattr(RegistryClient, "_perform", perform)

    @property
    def writes(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] not in ("GET", "HEAD")]

def push_archive(archive: Archive, ref: str, **kwargs) -> tuple[list[str], list]:
    lines: list[str] = []
    kwargs.setdefault("retry", FAST_RETRY)
    results = push_image(archive.path, ref, log=lines.append, **kwargs)
    return lines, results
