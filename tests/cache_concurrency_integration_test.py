"""Two checkouts and a linuxkit-like writer share one linuxkit cache at once; afterwards every
entry and blob of the cache is intact, and no platform built from other inputs is taken.

Packages need no RUN step (`FROM scratch` + `COPY`), so this runs wherever BuildKit does."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import linuxkit_cache_writer
from gitrepo import commit_all, git, init_repo, write
from pants_run import PantsResult, kill_pantsd, pants_toml, run_pants, start_pantsd

# In each round both checkouts write base, leaf and own at once; an odd round leaves a leaf
# platform built FROM the previous base. Two rounds of each kind.
ROUNDS = 4
FILES = {
    "pkg/base/build.yml": "image: cc-base\narches: [amd64, arm64]\n",
    "pkg/base/Dockerfile": "FROM scratch\nCOPY id /etc/id\n",
    "pkg/base/id": "0\n",
    "pkg/base/BUILD": "linuxkit_package()\n",
    # Built FROM base: its tag stays the same while base changes, so only the recorded inputs
    # tell which of its cached platforms are current.
    "pkg/leaf/build.yml": "image: cc-leaf\narches: [amd64, arm64]\nbuildArgs:\n  - BASE=@lkt:pkg:../base\n",
    "pkg/leaf/Dockerfile": "ARG BASE\nFROM ${BASE}\nCOPY hello /etc/hello\n",
    "pkg/leaf/hello": "hello\n",
    "pkg/leaf/BUILD": "linuxkit_package()\n",
    "pkg/own/build.yml": "image: cc-own\narches: [amd64]\n",
    "pkg/own/Dockerfile": "FROM scratch\nCOPY id /etc/id\n",
    "pkg/own/id": "0\n",
    "pkg/own/BUILD": "linuxkit_package()\n",
    ".gitignore": "/.pants.d/\n/.pids/\n/dist/\n",
}


def skopeo_config(archive: Path, arch: str) -> dict:
    out = subprocess.run(["skopeo", "inspect", "--config", f"--override-arch={arch}", f"oci-archive:{archive}"],
                         check=True, capture_output=True, text=True).stdout  # fmt: skip
    return json.loads(out)


def test_two_checkouts_and_a_linuxkit_writer_share_one_cache(tmp_path: Path) -> None:
    cache = tmp_path / "linuxkit-cache"
    nonce = uuid.uuid4().hex  # new tags: nothing comes from Pants' caches of earlier test runs
    # Checkout a names the cache in pants.toml, checkout b through LINUXKIT_CACHE.
    a = init_repo(tmp_path / "a", {**FILES, "pkg/leaf/hello": f"{nonce}\n",
                                   "pants.toml": pants_toml(f'[linuxkit]\ncache = "{cache}"\n')})  # fmt: skip
    subprocess.run(["git", "clone", "-q", str(a), str(tmp_path / "b")], check=True)
    b = tmp_path / "b"
    envs = {a: {}, b: {"LINUXKIT_CACHE": str(cache)}}
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, linuxkit_cache_writer.__file__, str(cache), str(stop)],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip

    def package(root: Path, r: int) -> PantsResult:
        # Each round base changes the same way in both checkouts (same tags, so both write the
        # same names), own differently; on odd rounds a builds amd64 only, so the leaf index
        # holds arm64 built from the previous base until b (or a later round) rebuilds it.
        write(root, {"pkg/base/id": f"{nonce} {r}\n", "pkg/own/id": f"{root.name} {nonce} {r}\n"})
        commit_all(root, f"round {r} in {root.name}")
        skip = ["--linuxkit-skip-platforms=linux/arm64"] if root == a and r % 2 else []
        return run_pants(root, "--pantsd", *skip, "package", "pkg::", env=envs[root])

    try:
        for root in (a, b):
            start_pantsd(root, envs[root])
        with ThreadPoolExecutor(2) as pool:
            for r in range(1, ROUNDS + 1):
                for result in pool.map(package, [a, b], [r, r]):
                    result.assert_success()
    finally:
        stop.touch()
        counts = writer.communicate(timeout=60)[0]
        kill_pantsd(a)
        kill_pantsd(b)
    done, _failed = map(int, counts.split())
    assert done > 0, "the linuxkit-like writer never got to write"

    assert linuxkit_cache_writer.verify(cache) == []

    # A no-op in each checkout takes leaf from the cache only where it was built FROM the current
    # base: its layers are base's layers plus its own, for every platform.
    for root in (a, b):
        run_pants(root, "--no-pantsd", "package", "pkg::", env=envs[root]).assert_success()
        for arch in ("amd64", "arm64"):
            base = skopeo_config(root / "dist/pkg.base/base.oci.tar", arch)["rootfs"]["diff_ids"]
            leaf = skopeo_config(root / "dist/pkg.leaf/leaf.oci.tar", arch)["rootfs"]["diff_ids"]
            assert leaf[:-1] == base, (root.name, arch)
    assert linuxkit_cache_writer.verify(cache) == []


def test_a_corrupt_cache_blob_is_rebuilt_not_fatal(tmp_path: Path) -> None:
    first, cache = tmp_path / "first-cache", tmp_path / "linuxkit-cache"
    root = init_repo(tmp_path / "repo", {**FILES, "pkg/own/id": f"{uuid.uuid4().hex}\n",
                                         "pants.toml": pants_toml(f'[linuxkit]\ncache = "{first}"\n')})  # fmt: skip
    run_pants(root, "package", "pkg/own:").assert_success()
    # A copy is a cache Pants has not exported from yet (the export's key names the cache).
    shutil.copytree(first, cache)
    tag = git(root, "rev-parse", "HEAD:pkg/own").strip()
    index = json.loads((cache / "index.json").read_text())
    (entry,) = [m for m in index["manifests"]
                if m["annotations"]["org.opencontainers.image.ref.name"] == f"docker.io/linuxkit/cc-own:{tag}"]  # fmt: skip
    child = json.loads((cache / "blobs/sha256" / entry["digest"][7:]).read_text())["manifests"][0]
    manifest = json.loads((cache / "blobs/sha256" / child["digest"][7:]).read_text())
    layer = cache / "blobs/sha256" / manifest["layers"][0]["digest"][7:]
    data = layer.read_bytes()
    layer.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])  # same size, other content

    again = run_pants(root, f"--linuxkit-cache={cache}", "package", "pkg/own:").assert_success()
    assert "the linuxkit cache entry is unusable" in again.stderr
    assert "does not match its digest" in again.stderr
    assert "linux/amd64" in again.stderr and "(built)" in again.stderr
    assert layer.read_bytes() == data  # the rebuild wrote the blob again
    assert linuxkit_cache_writer.verify(cache) == []
