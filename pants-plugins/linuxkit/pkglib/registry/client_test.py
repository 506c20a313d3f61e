"""The manifest and blob API of one repository: digests checked, references validated, uploads
resumed when a connection dies mid-chunk."""

from __future__ import annotations

import socket
import time
import urllib.parse

import pytest

from linuxkit.pkglib.errors import RegistryError
from linuxkit.pkglib.registry.client import RegistryClient
from linuxkit.pkglib.registry.credentials import CredentialStore
from linuxkit.pkglib.registry.testing import (
    Archive,
    LocalRegistry,
    client_for,
    needs_registry,
    push_archive,
    skopeo_raw,
)

def test_references_cannot_leave_the_repository(fake_server) -> None:
    server = fake_server()
    with client_for(server.host, credentials=CredentialStore(docker_config=False)) as client:
        with pytest.raises(RegistryError, match=r"invalid blob digest '\.\./\.\./x'"):
            client.blob_exists("../../x")
        with pytest.raises(RegistryError, match="invalid tag or digest"):
            client.manifest_digest("../other/manifests/x")
    assert server.seen == []

@needs_registry
@pytest.mark.parametrize("first_chunk", [True, False])
def test_connection_dies_mid_chunk(
    registry: LocalRegistry, archive: Archive, monkeypatch: pytest.MonkeyPatch, first_chunk: bool
) -> None:
    """The registry really receives half a chunk, then the connection dies: the upload resumes
    from the registry's offset, or starts over when distribution cancels the session."""
    original = RegistryClient._perform
    failed = []

    def dying(client, method, url, headers, body):
        if method == "PATCH" and not failed:
            if headers["Content-Range"].startswith("0-") == first_chunk:
                failed.append(headers["Content-Range"])
                data = body.read()
                parts = urllib.parse.urlsplit(url)
                head = [f"PATCH {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}"]
                head += [f"{k}: {v}" for k, v in headers.items()]
                with socket.create_connection((parts.hostname, parts.port)) as sock:
                    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + data[: len(data) // 2])
                    time.sleep(0.1)
                time.sleep(0.1)
                raise ConnectionResetError(104, "Connection reset by peer")
        return original(client, method, url, headers, body)

    monkeypatch.setattr(RegistryClient, "_perform", dying)
    ref = f"{registry.host}/partial/pkg:abc"
    lines, _ = push_archive(archive, ref, chunk_size=40_000)
    assert lines[-1] == f"pushed {ref} {archive.index_digest}"
    assert failed
    monkeypatch.setattr(RegistryClient, "_perform", original)
    assert skopeo_raw(ref) == archive.index
    for arch, manifest in archive.manifests.items():
        assert skopeo_raw(f"{ref}-{arch}") == manifest
