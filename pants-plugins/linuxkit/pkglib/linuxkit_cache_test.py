from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest

from linuxkit.pkglib import linuxkit_cache as lc
from linuxkit.pkglib import oci, oci_archive
from linuxkit.pkglib.errors import LinuxkitError
from linuxkit.pkglib.oci import Descriptor, Platform
from linuxkit.pkglib.oci_fixtures import (
    NAME, Attestation, Image, buildctl_tar, digest, other_process_can_lock, put_blobs,
)


@pytest.fixture
def cache(tmp_path: Path) -> lc.LinuxkitCache:
    return lc.open_cache(tmp_path / "cache")


def root_entries(cache: lc.LinuxkitCache) -> list[dict]:
    return json.loads(cache.index_path.read_bytes())["manifests"]


def child_index(cache: lc.LinuxkitCache, ref: str) -> list[Descriptor]:
    entry = lc.find_descriptor(cache, ref)
    assert entry is not None
    return list(oci.parse_index(cache.read_blob(entry.digest)).manifests)


# --------------------------------------------------------------------------------------------
# Layout


def test_open_cache_writes_linuxkits_exact_initial_files(tmp_path: Path) -> None:
    cache = lc.open_cache(tmp_path / "new" / "cache")
    assert cache.layout_path.read_bytes() == b'{\n    "imageLayoutVersion": "1.0.0"\n}'
    assert cache.index_path.read_bytes() == (
        b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}'
    )
    assert cache.lock_path.is_file()
    assert (cache.root / "blobs" / "sha256").is_dir()
    # Re-opening leaves an existing index alone.
    cache.index_path.write_bytes(b'{"schemaVersion":2,"manifests":[]}')
    lc.open_cache(cache.root)
    assert cache.index_path.read_bytes() == b'{"schemaVersion":2,"manifests":[]}'
    assert [p.name for p in cache.root.iterdir() if p.name.endswith(".tmp")] == []


def test_index_rewrites_use_three_space_marshal_indent(cache: lc.LinuxkitCache) -> None:
    desc = Descriptor(oci.OCI_MANIFEST, 2, digest(b"{}"), annotations={"a": "<b>"})
    lc.write_descriptor(cache, "docker.io/x/y:z", desc)
    assert cache.index_path.read_text() == (
        "{\n"
        '   "schemaVersion": 2,\n'
        '   "mediaType": "application/vnd.oci.image.index.v1+json",\n'
        '   "manifests": [\n'
        "      {\n"
        '         "mediaType": "application/vnd.oci.image.manifest.v1+json",\n'
        '         "size": 2,\n'
        f'         "digest": "{digest(b"{}")}",\n'
        '         "annotations": {\n'
        '            "a": "\\u003cb\\u003e",\n'
        '            "org.opencontainers.image.ref.name": "docker.io/x/y:z"\n'
        "         }\n"
        "      }\n"
        "   ]\n"
        "}"
    )


# --------------------------------------------------------------------------------------------
# ImageLoad


def test_load_bare_manifest_build_output(cache: lc.LinuxkitCache) -> None:
    image = Image("arm64")
    roots = lc.load_build_output(cache, buildctl_tar(image))
    (root,) = roots
    assert root.digest == digest(image.manifest)
    # The ref name is overwritten with the full containerd name; the other annotations stay.
    assert root.annotations_dict() == {
        oci.ANNOTATION_IMAGE_NAME: f"{NAME}-arm64",
        "org.opencontainers.image.created": "2026-11-23T10:52:15Z",
        oci.ANNOTATION_REF_NAME: f"{NAME}-arm64",
    }
    assert [e["annotations"][oci.ANNOTATION_REF_NAME] for e in root_entries(cache)] == [
        f"{NAME}-arm64"
    ]
    assert root_entries(cache)[0]["platform"] == {"architecture": "arm64", "os": "linux"}
    for dig, data in image.blobs.items():
        assert cache.read_blob(dig) == data
    # Without attestations the single root *is* the platform's manifest.
    assert lc.arch_descriptors(cache, roots) == (image.desc,)
    assert lc.image_in_cache(cache, f"{NAME}-arm64", "arm64")


def test_load_attested_build_output_from_a_stream(cache: lc.LinuxkitCache, tmp_path: Path) -> None:
    image = Image("amd64")
    path = tmp_path / "out.tar"
    path.write_bytes(buildctl_tar(image, attest=True))
    with open(path, "rb") as f:
        roots = lc.load_build_output(cache, f)
    (root,) = roots
    assert root.is_index and root.ref_name == f"{NAME}-amd64"
    children = lc.arch_descriptors(cache, roots)
    assert children == (image.desc, Attestation(image).desc)


def test_load_replaces_same_name_and_keeps_others(cache: lc.LinuxkitCache) -> None:
    lc.load_build_output(cache, buildctl_tar(Image("arm64", "old")))
    lc.load_build_output(cache, buildctl_tar(Image("amd64")))
    new = Image("arm64", "new")
    lc.load_build_output(cache, buildctl_tar(new))
    entries = root_entries(cache)
    assert [e["annotations"][oci.ANNOTATION_REF_NAME] for e in entries] == [
        f"{NAME}-amd64",
        f"{NAME}-arm64",
    ]
    assert entries[1]["digest"] == digest(new.manifest)


def test_load_without_name_records_nothing(cache: lc.LinuxkitCache) -> None:
    image = Image("arm64")
    roots = lc.load_build_output(cache, buildctl_tar(image, image_name=False))
    assert len(roots) == 1 and roots[0].ref_name is None
    assert root_entries(cache) == []
    assert cache.has_blob(digest(image.manifest))


def test_load_skips_existing_blobs_and_rejects_corrupt_ones(cache: lc.LinuxkitCache) -> None:
    image = Image("arm64")
    existing = cache.blob_path(digest(image.layer))
    existing.write_bytes(image.layer)
    before = existing.stat().st_ino
    lc.load_build_output(cache, buildctl_tar(image))
    assert existing.stat().st_ino == before  # not rewritten

    other = Image("amd64")
    corrupt = buildctl_tar(other).replace(other.layer, other.layer.upper())
    with pytest.raises(oci.OciError, match="has content with digest"):
        lc.load_build_output(cache, corrupt)
    assert not cache.has_blob(digest(other.layer))
    assert [p.name for p in existing.parent.iterdir() if p.name.startswith(".")] == []


def test_arch_descriptors_wants_exactly_one_root(cache: lc.LinuxkitCache) -> None:
    with pytest.raises(LinuxkitError, match="^no index descriptor returned from load$"):
        lc.arch_descriptors(cache, ())
    d = Image("arm64").desc
    with pytest.raises(LinuxkitError, match="^more than one index descriptor returned from load$"):
        lc.arch_descriptors(cache, (d, d))


# --------------------------------------------------------------------------------------------
# IndexWrite


def test_write_new_index(cache: lc.LinuxkitCache) -> None:
    arm, amd = Image("arm64"), Image("amd64")
    put_blobs(cache, arm, amd)
    entry = lc.write_index(cache, NAME, [arm.desc, amd.desc])
    blob = cache.read_blob(entry.digest)
    assert blob == oci.build_index([arm.desc, amd.desc])[0]
    assert oci.go_json(entry) == (
        '{"mediaType":"application/vnd.oci.image.index.v1+json","size":%d,"digest":"%s",'
        '"annotations":{"org.opencontainers.image.ref.name":"%s"}}'
        % (len(blob), digest(blob), NAME)
    )
    assert root_entries(cache) == [json.loads(oci.go_json(entry))]


def test_write_index_merges_like_linuxkit(cache: lc.LinuxkitCache) -> None:
    amd_old, arm = Image("amd64", "old"), Image("arm64")
    amd_old_att, arm_att = Attestation(amd_old), Attestation(arm)
    windows = Descriptor(
        oci.OCI_MANIFEST,
        1,
        digest(b"w"),
        platform=Platform("amd64", "windows", os_version="10.0.1"),
    )
    no_platform = Descriptor(oci.OCI_MANIFEST, 1, digest(b"n"))
    first = lc.write_index(
        cache, NAME, [amd_old.desc, amd_old_att.desc, arm.desc, arm_att.desc, windows, no_platform]
    )
    lc.write_descriptor(
        cache, "docker.io/linuxkit/foo:v1.0", first
    )  # a release tag sharing the blob

    amd_new, riscv = Image("amd64", "new"), Image("riscv64")
    amd_new_att = Attestation(amd_new)
    windows2 = Descriptor(
        oci.OCI_MANIFEST,
        1,
        digest(b"w2"),
        platform=Platform("amd64", "windows", os_version="10.0.2"),
    )
    second = lc.write_index(
        cache, NAME, [amd_new.desc, amd_new_att.desc, riscv.desc, windows2, arm.desc]
    )

    assert child_index(cache, NAME) == [
        amd_new.desc,  # replaced in place (same os/arch/os.version)
        # the old amd64 attestation is dropped: the manifest it refers to is gone
        arm.desc,  # identical digest re-sent: replaced by itself, not duplicated
        arm_att.desc,  # still refers to a present manifest
        windows,  # other os.version: kept
        no_platform,  # no platform: kept
        riscv.desc,  # new platforms appended, in build order
        windows2,
        amd_new_att.desc,  # then attestations
    ]
    # The replaced index blob is deleted even though the release tag still points at it.
    assert not cache.has_blob(first.digest) and cache.has_blob(second.digest)
    assert lc.find_descriptor(cache, "docker.io/linuxkit/foo:v1.0") == first.with_annotation(
        oci.ANNOTATION_REF_NAME, "docker.io/linuxkit/foo:v1.0"
    )
    names = [e["annotations"][oci.ANNOTATION_REF_NAME] for e in root_entries(cache)]
    assert names == ["docker.io/linuxkit/foo:v1.0", NAME]  # rewritten entry goes last


def test_merge_index_manifests_drops_duplicate_digests() -> None:
    a, b = Image("amd64").desc, Image("arm64").desc
    assert lc.merge_index_manifests([a, b, a], [b]) == (a, b)


def test_write_index_same_content_keeps_blob(cache: lc.LinuxkitCache) -> None:
    arm = Image("arm64")
    first = lc.write_index(cache, NAME, [arm.desc])
    assert lc.write_index(cache, NAME, [arm.desc]) == first
    assert cache.has_blob(first.digest)


def test_write_index_errors(cache: lc.LinuxkitCache) -> None:
    arm = Image("arm64")
    with pytest.raises(LinuxkitError, match="cannot create index without any manifests"):
        lc.write_index(cache, NAME, [])
    lc.write_descriptor(cache, NAME, arm.desc)
    with pytest.raises(
        LinuxkitError, match=f"^image named {NAME} already exists in cache and is not an index$"
    ):
        lc.write_index(cache, NAME, [arm.desc])


def test_write_index_with_missing_old_blob_starts_afresh(cache: lc.LinuxkitCache) -> None:
    arm, amd = Image("arm64"), Image("amd64")
    first = lc.write_index(cache, NAME, [arm.desc])
    cache.blob_path(first.digest).unlink()
    lc.write_index(cache, NAME, [amd.desc])
    assert child_index(cache, NAME) == [amd.desc]


# --------------------------------------------------------------------------------------------
# Atomicity and locking


def test_failed_index_write_leaves_the_old_index(
    cache: lc.LinuxkitCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    arm = Image("arm64")
    lc.write_index(cache, NAME, [arm.desc])
    before = cache.index_path.read_bytes()

    real_replace = os.replace

    def failing_replace(src, dst):  # type: ignore[no-untyped-def]
        if str(dst).endswith("index.json"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        lc.write_index(cache, NAME, [Image("amd64").desc])
    monkeypatch.setattr(os, "replace", real_replace)

    def failing_fsync(fd: int) -> None:  # the temp file is half written when this fails
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="I/O error"):
        lc.write_descriptor(cache, "docker.io/x/y:z", arm.desc)
    monkeypatch.undo()

    assert cache.index_path.read_bytes() == before
    assert child_index(cache, NAME) == [arm.desc]  # old index and its blob are intact
    leftovers = [p for p in cache.root.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


def test_lock_is_an_exclusive_fcntl_lock_and_reentrant(cache: lc.LinuxkitCache) -> None:
    assert cache.lock_path.is_file()
    with lc.locked(cache):
        with lc.locked(cache):
            assert not other_process_can_lock(cache.lock_path)
        # leaving the inner block must not drop the outer (process-wide) lock
        assert not other_process_can_lock(cache.lock_path)
    assert other_process_can_lock(cache.lock_path)


def test_lock_is_held_while_writing(
    cache: lc.LinuxkitCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[bool] = []
    real = lc._write_root_index

    def spy(c, index):  # type: ignore[no-untyped-def]
        seen.append(other_process_can_lock(c.lock_path))
        real(c, index)

    monkeypatch.setattr(lc, "_write_root_index", spy)
    lc.load_build_output(cache, buildctl_tar(Image("arm64")))
    lc.write_index(cache, NAME, [Image("arm64").desc])
    assert seen == [False, False]


# --------------------------------------------------------------------------------------------
# Lookups


def test_find_descriptor(cache: lc.LinuxkitCache) -> None:
    arm = Image("arm64")
    entry = lc.write_index(cache, NAME, [arm.desc])
    assert lc.find_descriptor(cache, NAME) == entry
    assert lc.find_descriptor(cache, "linuxkit/foo:abc") is None  # exact full names only
    assert lc.find_descriptor(cache, f"docker.io/linuxkit/foo@{entry.digest}") == entry
    assert lc.find_descriptor(cache, f"{NAME}@{entry.digest}") == entry
    assert (
        lc.find_descriptor(cache, f"docker.io/linuxkit/other:tag@{entry.digest}") == entry
    )  # digest wins
    assert lc.find_descriptor(cache, f"{NAME}@{digest(b'nope')}") is None
    assert lc.find_descriptor(cache, f"{NAME}@notadigest") == entry
    assert lc.find_descriptor(cache, "docker.io/linuxkit/foo:missing") is None


def test_image_in_cache(cache: lc.LinuxkitCache) -> None:
    arm, amd = Image("arm64"), Image("amd64")
    put_blobs(cache, arm, amd, Attestation(arm))
    arm_v8 = Descriptor(
        arm.desc.media_type,
        arm.desc.size,
        arm.desc.digest,
        platform=Platform("arm64", "linux", variant="v8"),
    )
    lc.write_index(cache, NAME, [Attestation(arm).desc, arm_v8, amd.desc])
    assert lc.image_in_cache(cache, NAME, "arm64")  # variant ignored, attestation skipped
    assert lc.image_in_cache(cache, NAME, "amd64")
    assert not lc.image_in_cache(cache, NAME, "riscv64")
    assert not lc.image_in_cache(cache, NAME, "unknown")
    assert not lc.image_in_cache(cache, "docker.io/linuxkit/foo:other", "arm64")

    # A plain image matches any architecture.
    lc.write_descriptor(cache, f"{NAME}-arm64", arm.desc)
    assert lc.image_in_cache(cache, f"{NAME}-arm64", "amd64")

    cache.blob_path(digest(amd.layer)).unlink()
    assert not lc.image_in_cache(cache, NAME, "amd64")
    cache.blob_path(digest(arm.config)).unlink()
    assert not lc.image_in_cache(cache, NAME, "arm64")
    cache.blob_path(digest(arm.manifest)).unlink()
    assert not lc.image_in_cache(cache, f"{NAME}-arm64", "arm64")


# --------------------------------------------------------------------------------------------
# Export


def test_export_image_writes_every_platform_deterministically(
    cache: lc.LinuxkitCache, tmp_path: Path
) -> None:
    arm, amd = Image("arm64"), Image("amd64")
    att = Attestation(arm)
    put_blobs(cache, arm, amd, att)
    cache.blob_path(digest(b"{}")).unlink()  # embedded in the attestation's config descriptor
    lc.write_index(cache, NAME, [arm.desc, amd.desc, att.desc])

    first, second = tmp_path / "1.tar", tmp_path / "2.tar"
    root = lc.export_image(cache, NAME, first)
    lc.export_image(cache, NAME, second)
    assert first.read_bytes() == second.read_bytes()
    assert root.annotations_dict() == {
        oci.ANNOTATION_REF_NAME: NAME,
        oci.ANNOTATION_IMAGE_NAME: NAME,
    }
    with oci_archive.OciArchive.open(first) as archive:
        assert archive.root_descriptors == (root,)
        expected = {**arm.blobs, **amd.blobs, **att.blobs}
        assert set(archive.blob_sizes) == set(expected) | {root.digest}
        assert archive.read_blob(digest(b"{}")) == b"{}"

    single = tmp_path / "amd.tar"
    amd_root = lc.export_image(cache, NAME, single, arch="amd64", name=f"{NAME}-amd64")
    assert amd_root.digest == digest(amd.manifest) and amd_root.platform == Platform(
        "amd64", "linux"
    )
    with oci_archive.OciArchive.open(single) as archive:
        assert set(archive.blob_sizes) == set(amd.blobs)
        assert archive.root_descriptors[0].ref_name == f"{NAME}-amd64"

    # A platform with an attestation comes out as buildkit wrote it: an index of both, which
    # arch_descriptors (the archive's assembly) turns back into the two index children.
    single = tmp_path / "arm.tar"
    arm_root = lc.export_image(cache, NAME, single, arch="arm64", name=f"{NAME}-arm64")
    assert arm_root.is_index and arm_root.ref_name == f"{NAME}-arm64"
    with oci_archive.OciArchive.open(single) as archive:
        assert set(archive.blob_sizes) == set(arm.blobs) | set(att.blobs) | {arm_root.digest}
        assert oci.parse_index(archive.read_blob(arm_root.digest)).manifests == (arm.desc, att.desc)
    staging = lc.open_cache(tmp_path / "staging")
    assert lc.arch_descriptors(staging, lc.load_build_output(staging, single)) == (arm.desc, att.desc)

    with pytest.raises(LinuxkitError, match="not found in the linuxkit cache"):
        lc.export_image(cache, NAME, tmp_path / "x.tar", arch="s390x")
    cache.blob_path(digest(amd.layer)).unlink()
    with pytest.raises(oci.OciError, match="missing from the linuxkit cache"):
        lc.export_image(cache, NAME, tmp_path / "x.tar")
    assert not (tmp_path / "x.tar").exists()
