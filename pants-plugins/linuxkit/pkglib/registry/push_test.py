"""Pushing OCI archives to a real registry that each test starts on 127.0.0.1, checked with
skopeo. Skipped where either tool is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from linuxkit.pkglib import push_runner
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci import OCI_MANIFEST, Descriptor, sha256_digest
from linuxkit.pkglib.oci_archive import write_oci_archive
from linuxkit.pkglib.registry.push import push_image
from linuxkit.pkglib.registry.testing import (
    FAST_RETRY,
    Archive,
    LocalRegistry,
    Recorder,
    make_archive,
    needs_registry,
    push_archive,
    skopeo_raw,
)

PLUGIN_ROOT = Path(__file__).resolve().parents[3]

@needs_registry
def test_push_multiarch(
    registry: LocalRegistry, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder(monkeypatch)
    ref = f"{registry.host}/linuxkit/pkg:abc"
    lines, results = push_archive(archive, ref, chunk_size=64 << 10)  # several PATCHes per layer
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
    push_archive(archive, ref)
    rec = Recorder(monkeypatch)
    lines, results = push_archive(archive, ref)
    assert [r.action for r in results] == ["skipped"] * 4
    assert lines[-1] == f"skipped {ref} {archive.index_digest} (already in the registry)"
    assert rec.writes == []
    # a release tag of the same content: only the tags are written
    rec.calls.clear()
    lines, _ = push_archive(archive, f"{registry.host}/linuxkit/pkg:v1.0.0")
    assert lines[-1] == f"pushed {registry.host}/linuxkit/pkg:v1.0.0 {archive.index_digest}"
    assert [c[0] for c in rec.writes] == ["PUT"] * 4
    assert skopeo_raw(f"{registry.host}/linuxkit/pkg:v1.0.0") == archive.index

@needs_registry
def test_conflicting_tag(
    registry: LocalRegistry, archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = f"{registry.host}/linuxkit/pkg:abc"
    push_archive(archive, ref)
    other = make_archive(tmp_path / "two.oci.tar", seed="two")
    rec = Recorder(monkeypatch)
    with pytest.raises(LinuxkitError) as e:
        push_archive(other, ref)
    message = str(e.value)
    assert "\n" not in message
    assert f"{ref}-amd64" in message
    assert sha256_digest(archive.manifests["amd64"]) in message
    assert sha256_digest(other.manifests["amd64"]) in message
    assert rec.writes == []  # checked before anything was written
    assert skopeo_raw(ref) == archive.index
    lines, _ = push_archive(other, ref, force=True)
    assert lines[-1] == f"pushed {ref} {other.index_digest}"
    assert skopeo_raw(ref) == other.index
    assert skopeo_raw(f"{ref}-arm64") == other.manifests["arm64"]

@needs_registry
def test_no_arch_tags_and_monolithic(
    registry: LocalRegistry, archive: Archive, monkeypatch: pytest.MonkeyPatch
) -> None:
    rec = Recorder(monkeypatch)
    ref = f"{registry.host}/solo:t"
    lines, _ = push_archive(archive, ref, arch_tags=False, chunk_size=0)
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
    lines, _ = push_archive(archive, ref, dry_run=True)
    assert lines == [
        f"would push {ref}-amd64 {sha256_digest(archive.manifests['amd64'])}",
        f"would push {ref}-arm64 {sha256_digest(archive.manifests['arm64'])}",
        f"would push {ref}-riscv64 {sha256_digest(archive.manifests['riscv64'])}",
        f"would push {ref} {archive.index_digest}",
    ]
    assert rec.writes == []
    assert not registry.has_repository("linuxkit/pkg")
    push_archive(archive, ref, arch_tags=False)
    lines, _ = push_archive(archive, ref, dry_run=True)
    assert lines[-1] == f"skipped {ref} {archive.index_digest} (already in the registry)"
    assert lines[0].startswith(f"would push {ref}-amd64 ")

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
        push_archive(archive, ref, on_event=on_event)
    assert str(e.value).startswith(f"{registry.host}: ")
    assert "\n" not in str(e.value)
    # whatever tags exist point at complete content (the registry checked it on PUT)
    assert "abc" not in registry.tags("linuxkit/pkg")
    registry.start()
    lines, results = push_archive(archive, ref)
    digests = {r.ref: r.digest for r in results}
    assert digests[ref] == archive.index_digest
    assert digests[f"{ref}-arm64"] == sha256_digest(archive.manifests["arm64"])
    if kill_after == "tag":
        assert lines[0].startswith(f"skipped {ref}-amd64 ")
    assert skopeo_raw(ref) == archive.index
    for arch, manifest in archive.manifests.items():
        assert skopeo_raw(f"{ref}-{arch}") == manifest

@needs_registry
def test_push_runner_cli(registry: LocalRegistry, archive: Archive, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_ROOT)}
    creds = tmp_path / "creds"
    creds.write_text(f"{registry.host}=u:unused-pw\n")
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
        "--creds-file",
        str(creds),
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
