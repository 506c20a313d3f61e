"""Is a platform in its registry? Read from a scriptable server that can lie or answer garbage:
malformed JSON and content that does not match its digest are one-line errors."""

from __future__ import annotations

import json

import pytest

from linuxkit.pkglib.errors import RegistryError
from linuxkit.pkglib.oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    Platform,
    build_index,
    go_json,
    parse_index,
    sha256_digest,
)
from linuxkit.pkglib.registry.credentials import CredentialStore
from linuxkit.pkglib.oci_archive import OciArchive
from linuxkit.pkglib.registry.remote import remote_attestations_for, remote_image_for
from linuxkit.pkglib.registry.testing import CONFIG_TYPE, client_for

def _image(arch: str = "amd64") -> tuple[bytes, bytes]:
    config = json.dumps({"architecture": arch, "os": "linux"}).encode()
    manifest = go_json(
        Manifest(config=Descriptor(CONFIG_TYPE, len(config), sha256_digest(config)), layers=())
    ).encode()
    return manifest, config

def _serve_tag(server, body: bytes, media_type: str = OCI_INDEX, digest: str | None = None) -> None:
    headers = {"Content-Type": media_type, "Docker-Content-Digest": digest or sha256_digest(body)}
    server.route("GET", "/v2/team/pkg/manifests/t", (200, headers, body))

def _lookup(server, arch: str = "amd64") -> str | None:
    return remote_image_for(f"{server.host}/team/pkg:t", arch, credentials=CredentialStore(docker_config=False))

def test_remote_lookup_reads_index_and_image(fake_server) -> None:
    server = fake_server()
    manifest, config = _image()
    index, _ = build_index(
        [Descriptor(OCI_MANIFEST, len(manifest), sha256_digest(manifest), platform=Platform("amd64", "linux"))]
    )
    _serve_tag(server, index)
    assert _lookup(server) == sha256_digest(manifest)
    assert _lookup(server, "arm64") is None
    _serve_tag(server, manifest, OCI_MANIFEST)
    server.route("GET", f"/v2/team/pkg/blobs/{sha256_digest(config)}", (200, {}, config))
    assert _lookup(server) == sha256_digest(manifest)
    assert _lookup(fake_server()) is None  # no such tag

@pytest.mark.parametrize(
    "body, expected",
    [
        (b"<html>oops</html>", "index is not valid JSON"),
        (b'{"schemaVersion":2,"manifests":[{"mediaType":"x","size":1,"digest":"sha256:../../etc"}]}',
         "invalid descriptor digest 'sha256:../../etc'"),
        (b'{"schemaVersion":2,"manifests":[{"mediaType":"x","size":1,"digest":"md5:abc"}]}',
         "invalid descriptor digest 'md5:abc'"),
        (b'{"schemaVersion":2,"manifests":"all"}', "index"),
    ],
)  # fmt: skip
def test_malformed_index_is_one_line_naming_the_endpoint(fake_server, body, expected) -> None:
    server = fake_server()
    _serve_tag(server, body)
    with pytest.raises(RegistryError) as e:
        _lookup(server)
    message = str(e.value)
    assert message.startswith(f"{server.host}: {server.host}/team/pkg:t: ") and expected in message
    assert "\n" not in message

def test_content_that_does_not_match_its_digest(fake_server) -> None:
    server = fake_server()
    manifest, config = _image()
    _serve_tag(server, manifest, OCI_MANIFEST, digest="sha256:" + "0" * 64)
    with pytest.raises(RegistryError) as e:
        _lookup(server)
    assert str(e.value) == (
        f"{server.host}: fetching t: content does not match its digest sha256:{'0' * 64}"
    )
    _serve_tag(server, manifest, OCI_MANIFEST)
    server.route("GET", f"/v2/team/pkg/blobs/{sha256_digest(config)}", (200, {}, b"{}"))
    with pytest.raises(RegistryError) as e:
        _lookup(server)
    assert str(e.value) == (
        f"{server.host}: fetching blob {sha256_digest(config)}: content does not match"
    )
    _serve_tag(server, manifest, OCI_MANIFEST, digest="sha256:../../x")
    with pytest.raises(RegistryError, match="invalid Docker-Content-Digest 'sha256:../../x'"):
        _lookup(server)
    wrong = sha256_digest(b"other")
    server.route("GET", f"/v2/team/pkg/manifests/{wrong}", (200, {}, manifest))
    with pytest.raises(RegistryError, match=f"content does not match its digest {wrong}"):
        with client_for(server.host, credentials=CredentialStore(docker_config=False)) as client:
            client.get_manifest(wrong)

# A pulled platform's SBOM attestations (`remote_attestations_for`).
def _attested_index(server) -> tuple[bytes, bytes, bytes, Descriptor]:
    """An index of an amd64 image and its attestation (statement, embedded `{}` config), served."""
    manifest, _ = _image()
    statement = b'{"predicateType":"https://spdx.dev/Document"}'
    attestation = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": sha256_digest(b"{}"), "size": 2, "data": "e30="},
        "layers": [{"mediaType": "application/vnd.in-toto+json", "digest": sha256_digest(statement), "size": len(statement)}],
    }).encode()  # fmt: skip
    image = Descriptor(OCI_MANIFEST, len(manifest), sha256_digest(manifest), platform=Platform("amd64", "linux"))
    att = Descriptor(OCI_MANIFEST, len(attestation), sha256_digest(attestation), platform=Platform("unknown", "unknown"),
                     annotations={"vnd.docker.reference.digest": image.digest,
                                  "vnd.docker.reference.type": "attestation-manifest"})  # fmt: skip
    index, _ = build_index([image, att])
    _serve_tag(server, index)
    server.route("GET", f"/v2/team/pkg/manifests/{att.digest}", (200, {"Content-Type": OCI_MANIFEST}, attestation))
    server.route("GET", f"/v2/team/pkg/blobs/{sha256_digest(statement)}", (200, {}, statement))
    return manifest, attestation, statement, att


def _attestations(server, image: str) -> bytes | None:
    return remote_attestations_for(f"{server.host}/team/pkg:t", image, credentials=CredentialStore(docker_config=False))


def test_a_pulled_platform_gets_its_attestations_as_the_index_holds_them(fake_server, tmp_path) -> None:
    server = fake_server()
    manifest, attestation, statement, att = _attested_index(server)
    archive = _attestations(server, sha256_digest(manifest))
    assert archive is not None
    (tmp_path / "a.tar").write_bytes(archive)
    with OciArchive.open(tmp_path / "a.tar") as tar:
        (root,) = tar.root_descriptors
        assert parse_index(tar.read_blob(root.digest)).manifests == (att,)
        assert tar.read_blob(att.digest) == attestation and tar.read_blob(sha256_digest(statement)) == statement
        assert tar.read_blob(sha256_digest(b"{}")) == b"{}"  # from the descriptor's data
    assert _attestations(server, sha256_digest(b"another image")) is None
    assert _attestations(fake_server(), sha256_digest(manifest)) is None  # no such tag


def test_a_tampered_attestation_is_one_line_naming_the_endpoint(fake_server) -> None:
    server = fake_server()
    manifest, _, statement, _ = _attested_index(server)
    server.route("GET", f"/v2/team/pkg/blobs/{sha256_digest(statement)}", (200, {}, b"{}"))
    with pytest.raises(RegistryError) as e:
        _attestations(server, sha256_digest(manifest))
    assert str(e.value) == f"{server.host}: fetching blob {sha256_digest(statement)}: content does not match"
