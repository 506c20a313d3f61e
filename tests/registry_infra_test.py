"""Proves the test-registry helpers work before other tests rely on them."""

from __future__ import annotations

import gzip
import io
import json
import platform
import subprocess
import tarfile
import tempfile
from pathlib import Path

import pytest

from busybox_base import APPLETS, ARCHES, MT_INDEX, busybox_binary, push_busybox_base, write_busybox_layout
from registry import Registry, missing_tools

pytestmark = pytest.mark.skipif(
    bool(missing_tools("skopeo")), reason=f"missing tools: {missing_tools('skopeo')}"
)


def skopeo_inspect_raw(ref: str, *args: str) -> bytes:
    """What a Go registry client (containers/image) sees at `ref`."""
    return subprocess.run(
        ["skopeo", "inspect", "--raw", *args, f"docker://{ref}"],
        check=True, capture_output=True, timeout=60,
    ).stdout  # fmt: skip


def test_plain_registry_roundtrip() -> None:
    with Registry() as reg:
        assert reg.url == f"http://{reg.host}" and reg.host.startswith("127.0.0.1:")
        assert reg.request("/v2/").status == 200
        assert reg.tags("library/busybox") == []
        ref = push_busybox_base(reg, tag="1.35")
        assert ref == f"{reg.host}/library/busybox:1.35"
        assert reg.tags("library/busybox") == ["1.35"]
        assert reg.catalog() == ["library/busybox"]
        body, media_type, digest = reg.manifest(ref)
        assert media_type == MT_INDEX
        with tempfile.TemporaryDirectory() as tmp:  # skopeo pushed our bytes unchanged
            assert digest == write_busybox_layout(Path(tmp))
        assert reg.manifest(f"library/busybox@{digest}")[0] == body
    assert not reg.running


def test_busybox_index_has_three_platforms() -> None:
    with Registry() as reg:
        ref = push_busybox_base(reg)
        index = json.loads(skopeo_inspect_raw(ref, "--tls-verify=false"))
        platforms = sorted((m["platform"]["os"], m["platform"]["architecture"]) for m in index["manifests"])
        assert platforms == [("linux", "amd64"), ("linux", "arm64"), ("linux", "s390x")]
        for desc in index["manifests"]:
            check_image(reg, desc["digest"], desc["platform"]["architecture"])


def check_image(reg: Registry, digest: str, arch: str) -> None:
    manifest = json.loads(reg.manifest(f"library/busybox@{digest}")[0])
    config = json.loads(reg.blob("library/busybox", manifest["config"]["digest"]))
    assert (config["os"], config["architecture"]) == ("linux", arch)
    assert config["config"]["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
    (layer,) = manifest["layers"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(reg.blob("library/busybox", layer["digest"])))) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert members["bin/busybox"].isfile() and members["bin/busybox"].mode == 0o755
    for applet in APPLETS:
        assert members[f"bin/{applet}"].issym() and members[f"bin/{applet}"].linkname == "busybox"


def test_busybox_binary_runs() -> None:
    arch = {"x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x"}.get(platform.machine())
    if arch is None:
        pytest.skip(f"no native busybox for {platform.machine()}")
    out = subprocess.run([str(busybox_binary(arch)), "echo", "hi"], check=True, capture_output=True, text=True)
    assert out.stdout == "hi\n"


def test_busybox_layout_is_deterministic() -> None:
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        assert write_busybox_layout(Path(a)) == write_busybox_layout(Path(b))
        assert len(list((Path(a) / "blobs" / "sha256").iterdir())) == 1 + 3 * len(ARCHES)


def test_tls_registry() -> None:
    with Registry(tls=True) as reg:
        assert reg.url.startswith("https://") and reg.ca_cert and reg.ca_cert.is_file()
        assert reg.request("/v2/").status == 200  # verified against ca_cert, incl. the IP SAN
        ref = push_busybox_base(reg)
        # A Go client with TLS verification on accepts the cert via --cert-dir.
        raw = skopeo_inspect_raw(ref, f"--cert-dir={reg.cert_dir}")
        assert json.loads(raw)["mediaType"] == MT_INDEX
        openssl_text = subprocess.run(
            ["openssl", "x509", "-noout", "-text", "-in", str(reg.ca_cert)], check=True, capture_output=True, text=True
        ).stdout
        assert "IP Address:127.0.0.1" in openssl_text


def test_htpasswd_registry() -> None:
    with Registry(htpasswd=("alice", "s3cret")) as reg:
        anonymous = reg.request("/v2/", auth=None)
        assert anonymous.status == 401
        challenge = {k.lower(): v for k, v in anonymous.headers.items()}["www-authenticate"]
        assert challenge.startswith("Basic ")
        assert reg.request("/v2/", auth=("alice", "wrong")).status == 401
        assert reg.request("/v2/", auth=("alice", "s3cret")).status == 200
        assert reg.request("/v2/").status == 200  # default: configured creds
        ref = push_busybox_base(reg)
        assert reg.tags("library/busybox") == ["1.35"]
        with pytest.raises(subprocess.CalledProcessError):
            skopeo_inspect_raw(ref, "--tls-verify=false", "--creds=alice:wrong")
        skopeo_inspect_raw(ref, "--tls-verify=false", "--creds=alice:s3cret")


def test_tls_and_htpasswd_together() -> None:
    with Registry(tls=True, htpasswd=("bob", "pw")) as reg:
        assert reg.request("/v2/", auth=None).status == 401
        push_busybox_base(reg, repo="base/busybox", tag="x")
        assert reg.tags("base/busybox") == ["x"]


def test_kill_and_restart_keep_port_and_data() -> None:
    with Registry() as reg:
        push_busybox_base(reg)
        _, _, digest = reg.manifest("library/busybox:1.35")
        host = reg.host
        reg.kill()
        assert not reg.running
        with pytest.raises(OSError):
            reg.request("/v2/", timeout=1)
        reg.start()
        assert reg.host == host and reg.tags("library/busybox") == ["1.35"]
        assert reg.manifest("library/busybox:1.35")[2] == digest
        reg.stop()
        reg.start()
        assert reg.has_manifest(f"library/busybox@{digest}")


def test_storage_dir_outlives_registry(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    with Registry(storage_dir=storage) as reg:
        push_busybox_base(reg, tag="keep")
    assert storage.is_dir()
    with Registry(storage_dir=storage) as reg:
        assert reg.tags("library/busybox") == ["keep"]


def test_split_ref() -> None:
    reg = Registry(port=5999)
    try:
        assert reg.split_ref("127.0.0.1:5999/a/b:1") == ("a/b", "1")
        assert reg.split_ref("a/b") == ("a/b", "latest")
        assert reg.split_ref("127.0.0.1:5999/a/b") == ("a/b", "latest")
        assert reg.split_ref("a/b@sha256:00") == ("a/b", "sha256:00")
    finally:
        reg.close()
