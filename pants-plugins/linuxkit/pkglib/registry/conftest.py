"""Fixtures for registry tests; the helpers behind them are in `testing.py`."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Iterator

import pytest

from linuxkit.pkglib.registry.testing import (
    Archive,
    FakeServer,
    LocalRegistry,
    make_archive,
    self_signed_cert,
)

@pytest.fixture
def registry(tmp_path: Path) -> Iterator[LocalRegistry]:
    if not (shutil.which("docker-registry") and shutil.which("skopeo")):
        pytest.skip("needs docker-registry and skopeo")
    r = LocalRegistry(tmp_path / "registry-plain")
    r.start()
    try:
        yield r
    finally:
        r.stop()

@pytest.fixture(autouse=True)
def _no_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "docker-config-empty"
    empty.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(empty))

@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return make_archive(tmp_path / "one.oci.tar")

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
    """`make_cert(name)` -> (cert, key), self-signed for 127.0.0.1."""
    if not shutil.which("openssl"):
        pytest.skip("needs openssl")
    return lambda name: self_signed_cert(tmp_path, name)
