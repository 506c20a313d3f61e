"""A scriptable HTTP server on 127.0.0.1 for registry client tests: a registry that redirects,
lies or answers garbage, and a token service. Each route answers `(status, headers, body)`."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Mapping

import pytest


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


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeServer]]:
    """`fake_server(tls=(cert, key))` starts one more server; all stop after the test."""
    servers: list[FakeServer] = []

    def start(**kwargs) -> FakeServer:
        servers.append(FakeServer(**kwargs).start())
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def make_cert(tmp_path: Path) -> Callable[[str], tuple[Path, Path]]:
    """`make_cert(name)` -> (cert, key): a self-signed certificate for 127.0.0.1 (its own CA)."""
    if not shutil.which("openssl"):
        pytest.skip("needs openssl")

    def make(name: str) -> tuple[Path, Path]:
        cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        return cert, key

    return make
