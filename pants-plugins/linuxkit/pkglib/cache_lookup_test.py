from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from linuxkit.pkglib import cache_lookup as cl
from linuxkit.pkglib import linuxkit_cache as lc
from linuxkit.pkglib import oci_runner
from linuxkit.pkglib.oci import OciError
from linuxkit.pkglib.oci_fixtures import (
    NAME, Image, buildctl_tar, digest, other_process_can_lock, put_blobs,
)


@pytest.fixture
def cache(tmp_path: Path) -> lc.LinuxkitCache:
    return lc.open_cache(tmp_path / "cache")


def tars(tmp_path: Path, *images: Image) -> list[str]:
    paths = []
    for image in images:
        path = tmp_path / f"{image.arch}-{len(list(tmp_path.iterdir()))}.tar"
        path.write_bytes(buildctl_tar(image))
        paths.append(str(path))
    return paths


def lookup(cache: lc.LinuxkitCache, arch: str, inputs: str) -> str | None:
    return cl.current_platform(cache, lc.find_root(cache, NAME), arch, inputs)


def test_platforms_built_from_other_inputs_are_not_current(cache: lc.LinuxkitCache, tmp_path: Path) -> None:
    amd_x, arm_x = Image("amd64", "x"), Image("arm64", "x")
    cl.store_build(cache, NAME, "X", tars(tmp_path, amd_x, arm_x))
    assert lookup(cache, "amd64", "X") == digest(amd_x.manifest)
    assert lookup(cache, "arm64", "X") == digest(arm_x.manifest)

    # Only arm64 is rebuilt from new inputs: the index still holds amd64 from X (linuxkit's merge),
    # but amd64 is not current for Y, and nothing is current for X any more.
    arm_y = Image("arm64", "y")
    cl.store_build(cache, NAME, "Y", tars(tmp_path, arm_y))
    assert lookup(cache, "amd64", "Y") is None
    assert lookup(cache, "arm64", "Y") == digest(arm_y.manifest)
    assert lookup(cache, "amd64", "X") is None

    # Building amd64 from Y too makes both current, and keeps arm64 (same inputs) current.
    amd_y = Image("amd64", "y")
    cl.store_build(cache, NAME, "Y", tars(tmp_path, amd_y))
    assert lookup(cache, "amd64", "Y") == digest(amd_y.manifest)
    assert lookup(cache, "arm64", "Y") == digest(arm_y.manifest)


def test_without_inputs_the_tag_alone_decides(cache: lc.LinuxkitCache, tmp_path: Path) -> None:
    amd = Image("amd64")
    root, images = cl.store_build(cache, NAME, "", tars(tmp_path, amd))
    assert cl.INPUTS_ANNOTATION not in root.annotations_dict()
    assert list(images.values()) == [digest(amd.manifest)]
    assert lookup(cache, "amd64", "") == digest(amd.manifest)
    assert lookup(cache, "arm64", "") is None


def test_entries_without_a_record_of_built_manifests_are_not_current(cache: lc.LinuxkitCache) -> None:
    # What linuxkit writes (no annotations), and what earlier versions of the backend wrote (the
    # inputs alone, which said nothing about the platforms merged in from other builds).
    amd = Image("amd64")
    put_blobs(cache, amd)
    root = lc.write_index(cache, NAME, [amd.desc])
    assert lookup(cache, "amd64", "X") is None
    lc.write_descriptor(cache, NAME, root.with_annotation(cl.INPUTS_ANNOTATION, "X"))
    assert lookup(cache, "amd64", "X") is None


def test_index_and_descriptor_are_written_under_one_lock(
    cache: lc.LinuxkitCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Between writing the index blob and naming it, no other writer may take the lock (linuxkit's
    # IndexWrite of the same name would delete the blob we are about to point at).
    seen: list[bool] = []
    real = lc.write_index

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        result = real(*args, **kwargs)
        seen.append(other_process_can_lock(cache.lock_path))
        return result

    monkeypatch.setattr(lc, "write_index", spy)
    cl.store_build(cache, NAME, "X", tars(tmp_path, Image("amd64")))
    assert seen == [False]


def test_corrupt_blobs_are_a_miss_and_a_rebuild_repairs_them(cache: lc.LinuxkitCache, tmp_path: Path) -> None:
    amd, arm = Image("amd64"), Image("arm64")
    root, _ = cl.store_build(cache, NAME, "X", tars(tmp_path, amd, arm))
    manifest = cache.blob_path(digest(amd.manifest))
    manifest.write_bytes(amd.manifest.replace(b"layers", b"LAYERS"))  # same size, other content
    assert lookup(cache, "amd64", "X") is None
    assert lookup(cache, "arm64", "X") == digest(arm.manifest)
    index_blob = cache.blob_path(root.digest)
    index_blob.write_bytes(b"{" + index_blob.read_bytes()[1:-1] + b"!")
    assert lookup(cache, "arm64", "X") is None

    cl.store_build(cache, NAME, "X", tars(tmp_path, amd))  # the rebuild of amd64
    assert manifest.read_bytes() == amd.manifest
    assert lookup(cache, "amd64", "X") == digest(amd.manifest)
    assert not index_blob.exists()  # the corrupt index was replaced, not merged
    # The corrupt index could not be merged, so arm64 is gone from the entry (and is rebuilt).
    assert lookup(cache, "arm64", "X") is None


def test_snapshot_rereads_index_json_only_when_it_changes(cache: lc.LinuxkitCache, tmp_path: Path) -> None:
    path = str(cache.root)
    assert cl.index_snapshot(str(tmp_path / "absent")) == cl.EMPTY_SNAPSHOT
    amd = Image("amd64")
    cl.store_build(cache, NAME, "", tars(tmp_path, amd))
    # Make index.json look settled, so the stat alone vouches for it.
    os.utime(cache.index_path, (1, 1))
    first = cl.index_snapshot(path)
    assert first.roots[NAME].ref_name == NAME
    assert cl.index_snapshot(path) is first

    # A rewrite with the same bytes (a new inode) keeps the same snapshot object.
    data = cache.index_path.read_bytes()
    cache.index_path.unlink()
    cache.index_path.write_bytes(data)
    assert cl.index_snapshot(path) is first

    # An in-place rewrite (as linuxkit does) with other content is seen.
    index = json.loads(data)
    index["manifests"] = []
    cache.index_path.write_text(json.dumps(index))
    second = cl.index_snapshot(path)
    assert second != first and NAME not in second.roots

    cache.index_path.write_text("{not json")
    with pytest.raises(OciError, match="index.json"):
        cl.index_snapshot(path)


def test_export_refuses_a_platform_replaced_since_the_lookup(
    cache: lc.LinuxkitCache, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old, new = Image("amd64", "old"), Image("amd64", "new")
    cl.store_build(cache, NAME, "", tars(tmp_path, old))
    looked_up = lookup(cache, "amd64", "")
    cl.store_build(cache, NAME, "", tars(tmp_path, new))  # another writer, after the lookup
    out = tmp_path / "out.tar"
    assert oci_runner.main(["cache-export", str(cache.root), NAME, "amd64", str(looked_up), str(out)]) == 1
    assert capsys.readouterr().err == f"{NAME} for linux/amd64 in the linuxkit cache is no longer {looked_up}\n"
    assert not out.exists()
    assert oci_runner.main(["cache-export", str(cache.root), NAME, "amd64", digest(new.manifest), str(out)]) == 0
    assert out.exists()
