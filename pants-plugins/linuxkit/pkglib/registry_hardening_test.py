"""A registry (or token service) that redirects, speaks plain HTTP, lies or answers garbage:
credentials stay where they belong and every failure is one line naming the endpoint."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from linuxkit.pkglib.oci import (
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    Platform,
    build_index,
    go_json,
    sha256_digest,
)
from linuxkit.pkglib.registry import (
    Credential,
    CredentialStore,
    RegistryClient,
    RegistryError,
    RetryPolicy,
    parse_ref,
    remote_image_for,
)

ONCE = RetryPolicy(attempts=1)
BASIC = "Basic " + base64.b64encode(b"alice:s3cret").decode()
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"


def _store(host: str) -> CredentialStore:
    return CredentialStore({host: Credential(username="alice", password="s3cret")}, docker_config=False)


def _client(host: str, repo: str = "team/pkg", **kwargs) -> RegistryClient:
    kwargs.setdefault("credentials", _store(host))
    return RegistryClient(parse_ref(f"{host}/{repo}:t"), retry=ONCE, **kwargs)


def _basic_registry(server) -> None:
    """/v2/ wants Basic credentials; anything answers 401 without them."""

    def v2(seen):
        if seen.headers.get("authorization") == BASIC:
            return 200, {}, b"{}"
        return 401, {"WWW-Authenticate": 'Basic realm="test"'}, b""

    server.route("GET", "/v2/", v2)


def _bearer_registry(server, realm: str, token: str) -> None:
    """/v2/ wants the Bearer `token` from the token service at `realm`."""

    def v2(seen):
        if seen.headers.get("authorization") == f"Bearer {token}":
            return 200, {}, b"{}"
        return 401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="r"'}, b""

    server.route("GET", "/v2/", v2)


def test_redirect_to_another_host_carries_no_credentials(fake_server) -> None:
    registry, storage = fake_server(), fake_server()
    _basic_registry(registry)
    body = b'{"layer":1}'
    digest = sha256_digest(body)
    registry.route(
        "GET", f"/v2/team/pkg/blobs/{digest}", (307, {"Location": f"{storage.url}/b?sig=1"}, b"")
    )
    storage.route("GET", "/b", (200, {}, body))
    with _client(registry.host, insecure=True) as client:
        client.check_access()
        assert client.get_blob(digest) == body
    assert BASIC in registry.authorizations()
    assert storage.seen and storage.authorizations() == []


def test_token_service_redirect_carries_no_credentials(fake_server, make_cert) -> None:
    cert, key = make_cert("registry")
    tokens, elsewhere = fake_server(tls=(cert, key)), fake_server(tls=(cert, key))
    registry = fake_server(tls=(cert, key))
    _bearer_registry(registry, f"{tokens.url}/token", "good")
    tokens.route("GET", "/token", (302, {"Location": f"{elsewhere.url}/token"}, b""))
    elsewhere.route("GET", "/token", (200, {}, b'{"token":"good"}'))
    with _client(registry.host, ca_file=cert) as client:
        client.check_access()
    assert tokens.authorizations() == [BASIC]
    assert elsewhere.seen and elsewhere.authorizations() == []
    assert registry.authorizations() == ["Bearer good"]


def test_no_credentials_over_plain_http_unless_insecure(fake_server) -> None:
    registry = fake_server()
    _basic_registry(registry)
    with pytest.raises(RegistryError) as e, _client(registry.host) as client:
        client.check_access()  # 127.0.0.1 without a CA file: plain HTTP, not listed
    assert str(e.value) == (
        f"{registry.host}: refusing to send credentials over plain HTTP to {registry.host}; "
        "list the registry in [linuxkit].insecure_registries to allow it"
    )
    assert registry.authorizations() == []
    with _client(registry.host, insecure=True) as client:
        client.check_access()
    assert registry.authorizations() == [BASIC]


def test_no_credentials_to_a_plain_http_token_service(fake_server, make_cert) -> None:
    cert, key = make_cert("registry")
    tokens, registry = fake_server(), fake_server(tls=(cert, key))
    registry.route(
        "GET", "/v2/", (401, {"WWW-Authenticate": f'Bearer realm="{tokens.url}/token"'}, b"")
    )
    tokens.route("GET", "/token", (200, {}, b'{"token":"t"}'))
    with pytest.raises(RegistryError) as e, _client(registry.host, ca_file=cert) as client:
        client.check_access()
    assert str(e.value).startswith(
        f"{registry.host}: refusing to send credentials over plain HTTP to token service "
        f"{tokens.host}; "
    )
    assert tokens.seen == []


def test_ca_file_adds_to_the_system_trust(
    fake_server, make_cert, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token service has a "public" certificate (system trust, here SSL_CERT_FILE) and the
    registry a private one (the CA file): both are trusted at once."""
    public_cert, public_key = make_cert("public")
    private_cert, private_key = make_cert("private")
    monkeypatch.setenv("SSL_CERT_FILE", str(public_cert))
    tokens = fake_server(tls=(public_cert, public_key))
    registry = fake_server(tls=(private_cert, private_key))
    _bearer_registry(registry, f"{tokens.url}/token", "t")
    tokens.route("GET", "/token", (200, {}, b'{"token":"t"}'))
    with _client(registry.host, ca_file=private_cert) as client:
        client.check_access()
    assert registry.authorizations() == ["Bearer t"]


# --------------------------------------------------------------------------------------------
# Content that does not hold up


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
        with _client(server.host, credentials=CredentialStore(docker_config=False)) as client:
            client.get_manifest(wrong)


def test_references_cannot_leave_the_repository(fake_server) -> None:
    server = fake_server()
    with _client(server.host, credentials=CredentialStore(docker_config=False)) as client:
        with pytest.raises(RegistryError, match=r"invalid blob digest '\.\./\.\./x'"):
            client.blob_exists("../../x")
        with pytest.raises(RegistryError, match="invalid tag or digest"):
            client.manifest_digest("../other/manifests/x")
    assert server.seen == []
