"""Pushing OCI archives to a real registry (Debian's `docker-registry`, distribution 2.8) that
each test starts on 127.0.0.1, checked with skopeo. Skipped where either tool is missing."""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from linuxkit.pkglib import push_runner
from linuxkit.pkglib import registry as reg
from linuxkit.pkglib.errors import LinuxkitError
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
    write_oci_archive,
)
from linuxkit.pkglib.registry import (
    Credential,
    CredentialStore,
    RegistryClient,
    RegistryError,
    Response,
    RetryPolicy,
    parse_challenge,
    parse_ref,
    parse_registry_creds,
    push_image,
    registry_key,
)

FAST_RETRY = RetryPolicy(attempts=4, initial_delay=0.01, max_delay=0.04, max_retry_after=0.05)
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"
PLUGIN_ROOT = Path(__file__).resolve().parents[2]

needs_registry = pytest.mark.skipif(
    not (shutil.which("docker-registry") and shutil.which("skopeo")),
    reason="needs docker-registry and skopeo",
)


# --------------------------------------------------------------------------------------------
# A real registry


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


def skopeo_raw(ref: str, *extra: str) -> bytes:
    proc = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", *extra, f"docker://{ref}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.rstrip(b"\n")


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


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return make_archive(tmp_path / "one.oci.tar")


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


def _push(archive: Archive, ref: str, **kwargs) -> tuple[list[str], list]:
    lines: list[str] = []
    kwargs.setdefault("retry", FAST_RETRY)
    results = push_image(archive.path, ref, log=lines.append, **kwargs)
    return lines, results


# --------------------------------------------------------------------------------------------
# Pure functions


def test_parse_ref() -> None:
    assert parse_ref("redis") == ("registry-1.docker.io", "library/redis", "latest")
    assert parse_ref("linuxkit/init:abc") == ("registry-1.docker.io", "linuxkit/init", "abc")
    assert str(parse_ref("linuxkit/init:abc")) == "docker.io/linuxkit/init:abc"
    assert parse_ref("docker.io/linuxkit/init:abc").registry == "registry-1.docker.io"
    assert parse_ref("index.docker.io/redis:7") == ("registry-1.docker.io", "library/redis", "7")
    assert parse_ref("localhost:5000/foo:v1") == ("localhost:5000", "foo", "v1")
    assert parse_ref("localhost/foo") == ("localhost", "foo", "latest")
    assert parse_ref("127.0.0.1:5000/a/b/c:t") == ("127.0.0.1:5000", "a/b/c", "t")
    assert parse_ref("ghcr.io/org/pkg:v1.0.0") == ("ghcr.io", "org/pkg", "v1.0.0")
    assert parse_ref("foo/bar/baz:x") == ("registry-1.docker.io", "foo/bar/baz", "x")
    assert str(parse_ref("127.0.0.1:5000/foo:t")) == "127.0.0.1:5000/foo:t"
    for bad in ("Foo/bar:x", "foo:bad tag", "foo@sha256:" + "0" * 64, "", "a/b:v1\nv2", "foo:-x"):
        with pytest.raises(RegistryError):
            parse_ref(bad)
    with pytest.raises(RegistryError, match="must be lowercase"):
        parse_ref("linuxkit/Init:x")


def test_parse_registry_creds() -> None:
    creds = parse_registry_creds(
        ["ghcr.io=user:pa:ss", " https://index.docker.io/v1/ = tok ", "localhost:5000=u:p"]
    )
    assert creds["ghcr.io"].username == "user" and creds["ghcr.io"].password == "pa:ss"
    assert creds["docker.io"].registry_token == "tok"
    assert creds["localhost:5000"].password == "p"
    assert "pa:ss" not in repr(creds)
    cases = {
        "nothing": "invalid registry auth specification 'nothing'",
        "reg=": "invalid registry auth specification 'reg='",
        " =secret": "invalid registry auth specification ' =<redacted>', registry must not be blank",
        "reg=:secret": "invalid registry auth specification 'reg=:<redacted>', username and password must not be blank",
        "reg=user:": "invalid registry auth specification 'reg=user:', username and password must not be blank",
        "reg= ": "invalid registry auth specification 'reg= ', token must not be blank",
    }
    for spec, message in cases.items():
        with pytest.raises(RegistryError) as e:
            parse_registry_creds([spec])
        assert str(e.value) == message
    assert reg.split_registry_creds(["a=b:c,d=e", "f=g\nh=i"]) == ["a=b:c", "d=e", "f=g", "h=i"]


def test_registry_key_and_challenge() -> None:
    for name in (
        "docker.io",
        "https://index.docker.io/v1/",
        "registry-1.docker.io",
        "http://docker.io",
    ):
        assert registry_key(name) == "docker.io"
    assert registry_key("https://GHCR.io/") == "ghcr.io"
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


def test_docker_config_lookup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    helper_dir = tmp_path / "bin"
    helper_dir.mkdir()
    helper = helper_dir / "docker-credential-fake"
    helper.write_text(
        "#!/bin/sh\nread server\n"
        'if [ "$server" = "ghcr.io" ]; then echo \'{"ServerURL":"ghcr.io","Username":"hu","Secret":"hs"}\'; exit 0; fi\n'
        'if [ "$server" = "https://index.docker.io/v1/" ]; then echo \'{"Username":"<token>","Secret":"idt"}\'; exit 0; fi\n'
        "echo 'credentials not found in native keychain'; exit 1\n"
    )
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{helper_dir}{os.pathsep}{os.environ['PATH']}")
    config = tmp_path / "dc"
    config.mkdir()
    (config / "config.json").write_text(
        json.dumps(
            {
                "auths": {
                    "http://localhost:5000": {"auth": base64.b64encode(b"au:ap").decode()},
                    "quay.io": {},
                },
                "credHelpers": {"ghcr.io": "fake", "index.docker.io": "fake", "quay.io": "fake"},
            }
        )
    )
    store = CredentialStore(config_dir=config)
    ghcr = store.lookup("ghcr.io")
    assert (ghcr.username, ghcr.password) == ("hu", "hs")
    assert store.lookup("registry-1.docker.io").identity_token == "idt"
    local = store.lookup("localhost:5000")
    assert (local.username, local.password) == ("au", "ap")
    assert store.lookup("quay.io") is None  # helper: not found
    assert store.lookup("example.com") is None
    explicit = CredentialStore({"ghcr.io": Credential(registry_token="x")}, config_dir=config)
    assert explicit.lookup("ghcr.io").registry_token == "x"
    (config / "config.json").write_text(json.dumps({"credsStore": "missing-helper"}))
    with pytest.raises(RegistryError, match="docker-credential-missing-helper .* is not installed"):
        store.lookup("ghcr.io")


# --------------------------------------------------------------------------------------------
# Against the registry


@needs_registry
def test_push_multiarch(
    registry: LocalRegistry, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder(monkeypatch)
    ref = f"{registry.host}/linuxkit/pkg:abc"
    lines, results = _push(archive, ref, chunk_size=64 << 10)  # several PATCHes per layer
    assert lines == [
        f"pushed {ref}-amd64 {sha256_digest(archive.manifests['amd64'])}",
        f"pushed {ref}-arm64 {sha256_digest(archive.manifests['arm64'])}",
        f"pushed {ref}-riscv64 {sha256_digest(archive.manifests['riscv64'])}",
        f"pushed {ref} {archive.index_digest}",
    ]
    assert [r.line for r in results] == lines
    assert skopeo_raw(ref) == archive.index
    for arch, manifest in archive.manifests.items():
        raw = skopeo_raw(f"{ref}-{arch}")
        assert raw == manifest
        assert json.loads(raw)["mediaType"] == OCI_MANIFEST
    assert registry.tags("linuxkit/pkg") == {"abc", "abc-amd64", "abc-arm64", "abc-riscv64"}
    # the shared layer went up once; the big layers in 64 KiB chunks
    posts = [c for c in rec.calls if c[0] == "POST"]
    layer_blobs = len(archive.blobs) - 1 - 6  # minus the index and six manifests
    assert len(posts) == layer_blobs
    assert sum(1 for c in rec.calls if c[0] == "PATCH") > layer_blobs


@needs_registry
def test_second_push_skips_everything(
    registry: LocalRegistry, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = f"{registry.host}/linuxkit/pkg:abc"
    _push(archive, ref)
    rec = Recorder(monkeypatch)
    lines, results = _push(archive, ref)
    assert [r.action for r in results] == ["skipped"] * 4
    assert lines[-1] == f"skipped {ref} {archive.index_digest} (already in the registry)"
    assert rec.writes == []
    # a release tag of the same content: only the tags are written
    rec.calls.clear()
    lines, _ = _push(archive, f"{registry.host}/linuxkit/pkg:v1.0.0")
    assert lines[-1] == f"pushed {registry.host}/linuxkit/pkg:v1.0.0 {archive.index_digest}"
    assert [c[0] for c in rec.writes] == ["PUT"] * 4
    assert skopeo_raw(f"{registry.host}/linuxkit/pkg:v1.0.0") == archive.index


@needs_registry
def test_conflicting_tag(
    registry: LocalRegistry, archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = f"{registry.host}/linuxkit/pkg:abc"
    _push(archive, ref)
    other = make_archive(tmp_path / "two.oci.tar", seed="two")
    rec = Recorder(monkeypatch)
    with pytest.raises(LinuxkitError) as e:
        _push(other, ref)
    message = str(e.value)
    assert "\n" not in message
    assert f"{ref}-amd64" in message
    assert sha256_digest(archive.manifests["amd64"]) in message
    assert sha256_digest(other.manifests["amd64"]) in message
    assert rec.writes == []  # checked before anything was written
    assert skopeo_raw(ref) == archive.index
    lines, _ = _push(other, ref, force=True)
    assert lines[-1] == f"pushed {ref} {other.index_digest}"
    assert skopeo_raw(ref) == other.index
    assert skopeo_raw(f"{ref}-arm64") == other.manifests["arm64"]


@needs_registry
def test_no_arch_tags_and_monolithic(
    registry: LocalRegistry, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder(monkeypatch)
    ref = f"{registry.host}/solo:t"
    lines, _ = _push(archive, ref, arch_tags=False, chunk_size=0)
    assert lines == [f"pushed {ref} {archive.index_digest}"]
    assert registry.tags("solo") == {"t"}
    assert not any(c[0] == "PATCH" for c in rec.calls)
    assert skopeo_raw(ref) == archive.index


@needs_registry
def test_single_image_root(registry: LocalRegistry, archive: Archive, tmp_path: Path) -> None:
    manifest = archive.manifests["arm64"]
    desc = Descriptor(OCI_MANIFEST, len(manifest), sha256_digest(manifest))
    blobs = {d: b for d, b in archive.blobs.items() if d != archive.index_digest}
    path = tmp_path / "single.oci.tar"
    write_oci_archive(path, blobs, [desc])
    ref = f"{registry.host}/single:t"
    results = push_image(path, ref, log=None, retry=FAST_RETRY)
    assert [r.line for r in results] == [f"pushed {ref} {desc.digest}"]
    assert skopeo_raw(ref) == manifest


@needs_registry
def test_dry_run_touches_nothing(
    registry: LocalRegistry, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder(monkeypatch)
    ref = f"{registry.host}/linuxkit/pkg:abc"
    lines, _ = _push(archive, ref, dry_run=True)
    assert lines == [
        f"would push {ref}-amd64 {sha256_digest(archive.manifests['amd64'])}",
        f"would push {ref}-arm64 {sha256_digest(archive.manifests['arm64'])}",
        f"would push {ref}-riscv64 {sha256_digest(archive.manifests['riscv64'])}",
        f"would push {ref} {archive.index_digest}",
    ]
    assert rec.writes == []
    assert not registry.has_repository("linuxkit/pkg")
    _push(archive, ref, arch_tags=False)
    lines, _ = _push(archive, ref, dry_run=True)
    assert lines[-1] == f"skipped {ref} {archive.index_digest} (already in the registry)"
    assert lines[0].startswith(f"would push {ref}-amd64 ")


def _htpasswd(path: Path, user: str, password: str) -> None:
    out = subprocess.run(["htpasswd", "-nbB", user, password], check=True, stdout=subprocess.PIPE)
    path.write_bytes(out.stdout)


@needs_registry
@pytest.mark.skipif(not shutil.which("htpasswd"), reason="needs htpasswd (apache2-utils)")
def test_htpasswd_auth(tmp_path: Path, archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "registry-auth"
    work.mkdir()  # the htpasswd file goes beside the config
    _htpasswd(work / "htpasswd", "alice", "s3cret-pw")
    r = LocalRegistry(work, htpasswd=work / "htpasswd")
    r.start()
    try:
        ref = f"{r.host}/secure/pkg:abc"
        # wrong password: one line, names the endpoint, no secret, nothing written
        rec = Recorder(monkeypatch)
        with pytest.raises(LinuxkitError) as e:
            _push(archive, ref, insecure=True, creds=[f"{r.host}=alice:wrong-pw"])
        message = str(e.value)
        assert message.startswith(f"{r.host}: authentication failed (401")
        assert "\n" not in message and "wrong-pw" not in message
        assert rec.writes == []
        assert not r.has_repository("secure/pkg")
        # no credentials at all
        with pytest.raises(
            LinuxkitError, match=f"authentication failed .*no credentials for {r.host}"
        ):
            _push(archive, ref)
        # the right password, explicitly
        lines, _ = _push(archive, ref, insecure=True, creds=[f"{r.host}=alice:s3cret-pw"])
        assert lines[-1] == f"pushed {ref} {archive.index_digest}"
        assert skopeo_raw(ref, "--creds", "alice:s3cret-pw") == archive.index
        # ... and from the docker config
        config = tmp_path / "docker-config"
        config.mkdir()
        auth = base64.b64encode(b"alice:s3cret-pw").decode()
        (config / "config.json").write_text(json.dumps({"auths": {r.host: {"auth": auth}}}))
        monkeypatch.setenv("DOCKER_CONFIG", str(config))
        lines, _ = _push(archive, f"{r.host}/secure/pkg:v2", insecure=True)
        assert lines[-1] == f"pushed {r.host}/secure/pkg:v2 {archive.index_digest}"
    finally:
        r.stop()


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


@needs_registry
@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
def test_bearer_token_flow(
    tmp_path: Path, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "registry-token"
    work.mkdir()
    cert, key = _self_signed(work)
    tokens = TokenServer(cert, key, "bob", "t0ken-pw")
    r = LocalRegistry(work, token=(tokens.realm, cert))
    r.start()
    try:
        ref = f"{r.host}/team/pkg:abc"
        rec = Recorder(monkeypatch)
        with pytest.raises(LinuxkitError) as e:
            _push(archive, ref, insecure=True, creds=[f"{r.host}=bob:bad-pw"])
        assert str(e.value) == (
            f"{r.host}: authentication failed (401 from token service {tokens.realm.split('/')[2]})"
        )
        assert rec.writes == [] and not r.has_repository("team/pkg")
        with pytest.raises(LinuxkitError, match="authentication failed"):
            _push(archive, ref, insecure=True)  # anonymous
        lines, _ = _push(archive, ref, insecure=True, creds=[f"{r.host}=bob:t0ken-pw"])
        assert lines[-1] == f"pushed {ref} {archive.index_digest}"
        assert tokens.requests[-1] == "repository:team/pkg:pull,push"
        assert skopeo_raw(ref, "--creds", "bob:t0ken-pw") == archive.index
        lines, _ = _push(archive, ref, insecure=True, creds=[f"{r.host}=bob:t0ken-pw"], dry_run=True)
        assert tokens.requests[-1] == "repository:team/pkg:pull"
        assert lines[-1].startswith("skipped ")
    finally:
        r.stop()
        tokens.close()


@needs_registry
@pytest.mark.parametrize("kill_after", ["blob", "manifest", "tag"])
def test_interrupted_push_resumes(
    registry: LocalRegistry, archive: Archive, kill_after: str
) -> None:
    ref = f"{registry.host}/linuxkit/pkg:abc"
    seen: list[str] = []

    def on_event(kind: str, what: str) -> None:
        seen.append(kind)
        if kind == kill_after and seen.count(kind) == 2:
            registry.stop()

    with pytest.raises(LinuxkitError) as e:
        _push(archive, ref, on_event=on_event)
    assert str(e.value).startswith(f"{registry.host}: ")
    assert "\n" not in str(e.value)
    # whatever tags exist point at complete content (the registry checked it on PUT)
    assert "abc" not in registry.tags("linuxkit/pkg")
    registry.start()
    lines, results = _push(archive, ref)
    digests = {r.ref: r.digest for r in results}
    assert digests[ref] == archive.index_digest
    assert digests[f"{ref}-arm64"] == sha256_digest(archive.manifests["arm64"])
    if kill_after == "tag":
        assert lines[0].startswith(f"skipped {ref}-amd64 ")
    assert skopeo_raw(ref) == archive.index
    for arch, manifest in archive.manifests.items():
        assert skopeo_raw(f"{ref}-{arch}") == manifest


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
    monkeypatch.setattr(reg.time, "sleep", lambda s: sleeps.append(s))
    ref = f"{registry.host}/flaky/pkg:abc"
    lines, _ = push_image(archive.path, ref, log=None, retry=RetryPolicy(), chunk_size=50_000), None
    assert [r.action for r in lines] == ["pushed"] * 4
    assert count["failed"] > 5 and sleeps and max(sleeps) <= 3.2
    monkeypatch.setattr(RegistryClient, "_perform", original)
    assert skopeo_raw(ref) == archive.index


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
    lines, _ = _push(archive, ref, chunk_size=40_000)
    assert lines[-1] == f"pushed {ref} {archive.index_digest}"
    assert failed
    monkeypatch.setattr(RegistryClient, "_perform", original)
    assert skopeo_raw(ref) == archive.index
    for arch, manifest in archive.manifests.items():
        assert skopeo_raw(f"{ref}-{arch}") == manifest


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
    monkeypatch.setattr(reg.time, "sleep", lambda s: sleeps.append(s))
    with pytest.raises(LinuxkitError) as e:
        push_image(archive.path, f"{registry.host}/x:y", log=None)
    assert (
        str(e.value)
        == f"{registry.host}: API version check failed after 6 attempts (503 Service Unavailable)"
    )
    assert sleeps == [0.2, 0.4, 0.8, 1.6, 3.2] and len(calls) == 6


def _self_signed(work: Path) -> tuple[Path, Path]:
    cert, key = work / "cert.pem", work / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return cert, key


@needs_registry
@pytest.mark.skipif(not shutil.which("openssl"), reason="needs openssl")
def test_tls_with_ca_file(tmp_path: Path, archive: Archive) -> None:
    work = tmp_path / "registry-tls"
    work.mkdir()
    cert, key = _self_signed(work)
    r = LocalRegistry(work, tls=(cert, key))
    r.start()
    try:
        ref = f"{r.host}/tls/pkg:abc"
        lines, _ = _push(archive, ref, ca_file=cert)
        assert lines[-1] == f"pushed {ref} {archive.index_digest}"
        assert skopeo_raw(ref) == archive.index
        other = make_archive(tmp_path / "x.oci.tar", seed="x")
        # 127.0.0.1 without a CA file speaks plain HTTP (go-containerregistry's rule): the TLS
        # server refuses that, in one line
        with pytest.raises(LinuxkitError) as e:
            push_image(other.path, ref, log=None, retry=FAST_RETRY)
        assert str(e.value).startswith(f"{r.host}: ") and "\n" not in str(e.value)
        # a CA that did not sign the registry's certificate fails at once (not retried)
        wrong_cert, _ = _self_signed(tmp_path)
        with pytest.raises(LinuxkitError) as e:
            push_image(other.path, ref, log=None, ca_file=wrong_cert)
        assert str(e.value).startswith(f"{r.host}: TLS certificate verification failed")
    finally:
        r.stop()


@needs_registry
def test_push_runner_cli(registry: LocalRegistry, archive: Archive, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_ROOT), "MY_CREDS": f"{registry.host}=u:unused-pw"}
    ref = f"{registry.host}/cli/pkg:abc"
    cmd = [
        sys.executable,
        "-m",
        push_runner.__name__,
        "--archive",
        str(archive.path),
        "--ref",
        ref,
        "--release-ref",
        f"{registry.host}/cli/pkg:v1",
        "--insecure",
        "--creds-env",
        "MY_CREDS",
    ]
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode().splitlines()
    assert out[3] == f"pushed {ref} {archive.index_digest}"
    assert out[7] == f"pushed {registry.host}/cli/pkg:v1 {archive.index_digest}"
    assert len(out) == 8
    other = make_archive(tmp_path / "two.oci.tar", seed="two", attestations=False)
    cmd[cmd.index("--archive") + 1] = str(other.path)
    proc = subprocess.run(
        cmd + ["--no-arch-tags"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    assert proc.returncode == 1
    assert proc.stdout == b""
    err = proc.stderr.decode()
    assert (
        err.count("\n") == 1
        and f"{ref} already exists in the registry as {archive.index_digest}" in err
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            push_runner.__name__,
            "--archive",
            str(tmp_path / "nope.tar"),
            "--ref",
            ref,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=60,
    )
    assert proc.returncode == 1 and proc.stderr.decode().count("\n") == 1
