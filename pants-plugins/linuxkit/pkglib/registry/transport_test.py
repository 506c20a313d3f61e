"""HTTP, retries and authentication, against a real registry and against a scriptable server
that redirects or speaks plain HTTP: credentials stay where they belong, failures are one line
naming the endpoint."""

from __future__ import annotations

import base64
import json
import shutil
import time
from pathlib import Path

import pytest

from linuxkit.pkglib.errors import LinuxkitError, RegistryError
from linuxkit.pkglib.oci import sha256_digest
from linuxkit.pkglib.registry.client import RegistryClient
from linuxkit.pkglib.registry.push import push_image
from linuxkit.pkglib.registry.testing import (
    BASIC,
    FAST_RETRY,
    Archive,
    LocalRegistry,
    Recorder,
    TokenServer,
    client_for,
    make_archive,
    needs_registry,
    push_archive,
    self_signed_cert,
    skopeo_raw,
    write_htpasswd,
)
from linuxkit.pkglib.registry.transport import Response, RetryPolicy, parse_challenge

def test_parse_challenge() -> None:
    assert parse_challenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull"'
    ) == (
        "bearer",
        {
            "realm": "https://auth.docker.io/token",
            "service": "registry.docker.io",
            "scope": "repository:a/b:pull",
        },
    )
    assert parse_challenge('Basic realm="test"') == ("basic", {"realm": "test"})

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
    with client_for(registry.host, insecure=True) as client:
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
    with client_for(registry.host, ca_file=cert) as client:
        client.check_access()
    assert tokens.authorizations() == [BASIC]
    assert elsewhere.seen and elsewhere.authorizations() == []
    assert registry.authorizations() == ["Bearer good"]

def test_no_credentials_over_plain_http_unless_insecure(fake_server) -> None:
    registry = fake_server()
    _basic_registry(registry)
    with pytest.raises(RegistryError) as e, client_for(registry.host) as client:
        client.check_access()  # 127.0.0.1 without a CA file: plain HTTP, not listed
    assert str(e.value) == (
        f"{registry.host}: refusing to send credentials over plain HTTP to {registry.host}; "
        "list the registry in [linuxkit].insecure_registries to allow it"
    )
    assert registry.authorizations() == []
    with client_for(registry.host, insecure=True) as client:
        client.check_access()
    assert registry.authorizations() == [BASIC]

def test_no_credentials_to_a_plain_http_token_service(fake_server, make_cert) -> None:
    cert, key = make_cert("registry")
    tokens, registry = fake_server(), fake_server(tls=(cert, key))
    registry.route(
        "GET", "/v2/", (401, {"WWW-Authenticate": f'Bearer realm="{tokens.url}/token"'}, b"")
    )
    tokens.route("GET", "/token", (200, {}, b'{"token":"t"}'))
    with pytest.raises(RegistryError) as e, client_for(registry.host, ca_file=cert) as client:
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
    with client_for(registry.host, ca_file=private_cert) as client:
        client.check_access()
    assert registry.authorizations() == ["Bearer t"]

# --------------------------------------------------------------------------------------------
# Against a real registry

@needs_registry
@pytest.mark.skipif(not shutil.which("htpasswd"), reason="needs htpasswd (apache2-utils)")
def test_htpasswd_auth(tmp_path: Path, archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "registry-auth"
    work.mkdir()  # the htpasswd file goes beside the config
    write_htpasswd(work / "htpasswd", "alice", "s3cret-pw")
    r = LocalRegistry(work, htpasswd=work / "htpasswd")
    r.start()
    try:
        ref = f"{r.host}/secure/pkg:abc"
        # wrong password: one line, names the endpoint, no secret, nothing written
        rec = Recorder(monkeypatch)
        with pytest.raises(LinuxkitError) as e:
            push_archive(archive, ref, insecure=True, creds=[f"{r.host}=alice:wrong-pw"])
        message = str(e.value)
        assert message.startswith(f"{r.host}: authentication failed (401")
        assert "\n" not in message and "wrong-pw" not in message
        assert rec.writes == []
        assert not r.has_repository("secure/pkg")
        # no credentials at all
        with pytest.raises(
            LinuxkitError, match=f"authentication failed .*no credentials for {r.host}"
        ):
            push_archive(archive, ref)
        # the right password, explicitly
        lines, _ = push_archive(archive, ref, insecure=True, creds=[f"{r.host}=alice:s3cret-pw"])
        assert lines[-1] == f"pushed {ref} {archive.index_digest}"
        assert skopeo_raw(ref, "--creds", "alice:s3cret-pw") == archive.index
        # ... and from the docker config
        config = tmp_path / "docker-config"
        config.mkdir()
        auth = base64.b64encode(b"alice:s3cret-pw").decode()
        (config / "config.json").write_text(json.dumps({"auths": {r.host: {"auth": auth}}}))
        monkeypatch.setenv("DOCKER_CONFIG", str(config))
        lines, _ = push_archive(archive, f"{r.host}/secure/pkg:v2", insecure=True)
        assert lines[-1] == f"pushed {r.host}/secure/pkg:v2 {archive.index_digest}"
    finally:
        r.stop()

@needs_registry
@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
def test_bearer_token_flow(
    tmp_path: Path, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "registry-token"
    work.mkdir()
    cert, key = self_signed_cert(work)
    tokens = TokenServer(cert, key, "bob", "t0ken-pw")
    r = LocalRegistry(work, token=(tokens.realm, cert))
    r.start()
    try:
        ref = f"{r.host}/team/pkg:abc"
        rec = Recorder(monkeypatch)
        with pytest.raises(LinuxkitError) as e:
            push_archive(archive, ref, insecure=True, creds=[f"{r.host}=bob:bad-pw"])
        assert str(e.value) == (
            f"{r.host}: authentication failed (401 from token service {tokens.realm.split('/')[2]})"
        )
        assert rec.writes == [] and not r.has_repository("team/pkg")
        with pytest.raises(LinuxkitError, match="authentication failed"):
            push_archive(archive, ref, insecure=True)  # anonymous
        lines, _ = push_archive(archive, ref, insecure=True, creds=[f"{r.host}=bob:t0ken-pw"])
        assert lines[-1] == f"pushed {ref} {archive.index_digest}"
        assert tokens.requests[-1] == "repository:team/pkg:pull,push"
        assert skopeo_raw(ref, "--creds", "bob:t0ken-pw") == archive.index
        lines, _ = push_archive(archive, ref, insecure=True, creds=[f"{r.host}=bob:t0ken-pw"], dry_run=True)
        assert tokens.requests[-1] == "repository:team/pkg:pull"
        assert lines[-1].startswith("skipped ")
    finally:
        r.stop()
        tokens.close()

@needs_registry
def test_retries_transient_failures(
    registry: LocalRegistry, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = RegistryClient._perform
    count = {"n": 0, "failed": 0}

    def flaky(client, method, url, headers, body):
        count["n"] += 1
        if count["n"] % 3 == 1:  # every third request fails, in turns
            count["failed"] += 1
            kind = count["failed"] % 3
            if kind == 0:
                raise ConnectionResetError(104, "Connection reset by peer")
            if kind == 1:
                return Response(
                    500, "Internal Server Error", {}, b'{"errors":[{"code":"UNKNOWN"}]}'
                )
            return Response(429, "Too Many Requests", {"retry-after": "0"}, b"")
        return original(client, method, url, headers, body)

    monkeypatch.setattr(RegistryClient, "_perform", flaky)
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", lambda s: sleeps.append(s))
    ref = f"{registry.host}/flaky/pkg:abc"
    lines, _ = push_image(archive.path, ref, log=None, retry=RetryPolicy(), chunk_size=50_000), None
    assert [r.action for r in lines] == ["pushed"] * 4
    assert count["failed"] > 5 and sleeps and max(sleeps) <= 3.2
    monkeypatch.setattr(RegistryClient, "_perform", original)
    assert skopeo_raw(ref) == archive.index

@needs_registry
def test_retries_are_bounded(
    registry: LocalRegistry, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def broken(client, method, url, headers, body):
        calls.append(method)
        return Response(503, "Service Unavailable", {}, b"")

    monkeypatch.setattr(RegistryClient, "_perform", broken)
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", lambda s: sleeps.append(s))
    with pytest.raises(LinuxkitError) as e:
        push_image(archive.path, f"{registry.host}/x:y", log=None)
    assert (
        str(e.value)
        == f"{registry.host}: API version check failed after 6 attempts (503 Service Unavailable)"
    )
    assert sleeps == [0.2, 0.4, 0.8, 1.6, 3.2] and len(calls) == 6

@needs_registry
@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
def test_tls_with_ca_file(tmp_path: Path, archive: Archive) -> None:
    work = tmp_path / "registry-tls"
    work.mkdir()
    cert, key = self_signed_cert(work)
    r = LocalRegistry(work, tls=(cert, key))
    r.start()
    try:
        ref = f"{r.host}/tls/pkg:abc"
        lines, _ = push_archive(archive, ref, ca_file=cert)
        assert lines[-1] == f"pushed {ref} {archive.index_digest}"
        assert skopeo_raw(ref) == archive.index
        other = make_archive(tmp_path / "x.oci.tar", seed="x")
        # 127.0.0.1 without a CA file speaks plain HTTP (go-containerregistry's rule): the TLS
        # server refuses that, in one line
        with pytest.raises(LinuxkitError) as e:
            push_image(other.path, ref, log=None, retry=FAST_RETRY)
        assert str(e.value).startswith(f"{r.host}: ") and "\n" not in str(e.value)
        # a CA that did not sign the registry's certificate fails at once (not retried)
        wrong_cert, _ = self_signed_cert(tmp_path, "wrong")
        with pytest.raises(LinuxkitError) as e:
            push_image(other.path, ref, log=None, ca_file=wrong_cert)
        assert str(e.value).startswith(f"{r.host}: TLS certificate verification failed")
    finally:
        r.stop()
