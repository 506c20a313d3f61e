"""Reproducible builds: the same commit, built in this machine's usual workspace and in a fresh one
that shares nothing with it (Pants store, named caches and so BuildKit's state, linuxkit cache,
repository path), gives the same index and per-platform manifest digests, and the same archive
bytes. (The usual workspace may take its build from Pants' cache, made by an earlier run: that is
only further apart in time.)

`files` (COPY only) covers a multi-platform index cheaply; `run` (amd64 only) has a RUN step,
whose files BuildKit creates at build time. Image configs and layer entries carry the package's
last commit time, not the build's; with `--no-linuxkit-reproducible` the config holds the build
time again (linuxkit's behaviour)."""

from __future__ import annotations

import datetime
import io
import json
import re
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from busybox_base import busybox_binary
from buildkitd_state import short_dirs  # noqa: F401 (a fixture)
from gitrepo import GIT_ENV, commit_all, git, init_repo
from linuxkit_reference import linuxkit_binary
from pants_run import pants_toml, run_pants

# The package commits' time (gitrepo's fixed dates), as SOURCE_DATE_EPOCH.
COMMIT_TIME = datetime.datetime.fromisoformat(GIT_ENV["GIT_COMMITTER_DATE"].replace("Z", "+00:00"))
EPOCH = int(COMMIT_TIME.timestamp())
CREATED = COMMIT_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
FILES = {
    "pkg/files/build.yml": "image: files\narches: [amd64, arm64, s390x]\n",
    "pkg/files/Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\nCOPY etc/ /etc/\n",
    "pkg/files/hello.txt": "hello\n",
    "pkg/files/etc/motd": "reproducible\n",
    "pkg/files/BUILD": "linuxkit_package()\n",
    "pkg/run/build.yml": "image: run\narches: [amd64]\n",
    "pkg/run/Dockerfile": (
        "FROM scratch\nCOPY busybox /bin/busybox\n"
        'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox mkdir -p /etc /tmp && echo built > /etc/built"]\n'
    ),
    "pkg/run/BUILD": "linuxkit_package()\n",
    "pants.toml": pants_toml("[linuxkit]\ncheck_registry = false\n"),
}
ARCHIVES = {"files": "pkg.files/files.oci.tar", "run": "pkg.run/run.oci.tar"}
# Building BuildKit from its Go module is the slow part of a fresh workspace: both get the Go
# caches of this machine's usual named caches (BuildKit's own state stays separate).
GO_CACHES = ("linuxkit_go_mod", "linuxkit_go_build")


def make_repo(root: Path) -> Path:
    """The same commits wherever it is made (fixed dates and contents)."""
    init_repo(root, {k: v for k, v in FILES.items() if not k.startswith("pkg/run/")})
    for rel, text in FILES.items():
        if rel.startswith("pkg/run/"):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_text(text)
    shutil.copy(busybox_binary("amd64"), root / "pkg/run/busybox")
    (root / "pkg/run/busybox").chmod(0o755)
    commit_all(root, "run")  # a later commit than `files`, with the same fixed date
    return root


def read_archive(archive: Path) -> dict:
    """The index digest, per platform its manifest digest, config and layer entry mtimes, and
    the digests of the SBOM attestation manifests."""
    with tarfile.open(archive) as tar:
        def blob(digest: str) -> bytes:
            return tar.extractfile(f"blobs/sha256/{digest.split(':')[1]}").read()  # type: ignore[union-attr]

        (root,) = json.loads(tar.extractfile("index.json").read())["manifests"]  # type: ignore[union-attr]
        platforms, attestations = {}, []
        for desc in json.loads(blob(root["digest"]))["manifests"]:
            if desc["platform"]["os"] == "unknown":  # a platform's SBOM attestation
                attestations.append(desc["digest"])
                continue
            manifest = json.loads(blob(desc["digest"]))
            mtimes = set()
            for layer in manifest["layers"]:
                with tarfile.open(fileobj=io.BytesIO(blob(layer["digest"]))) as entries:
                    mtimes |= {m.mtime for m in entries.getmembers()}
            platforms[desc["platform"]["architecture"]] = {
                "manifest": desc["digest"], "config": json.loads(blob(manifest["config"]["digest"])),
                "mtimes": mtimes,
            }  # fmt: skip
    return {"index": root["digest"], "platforms": platforms, "attestations": attestations}


def build(tmp_path: Path, short_dirs, ws: str, fresh: bool) -> tuple[Path, list[str]]:
    """A workspace with its own repository and linuxkit cache and, when `fresh`, its own Pants
    store and named caches. Returns the repository and the options that select those."""
    root = make_repo(tmp_path / ws / "repo")
    options = []
    if fresh:
        named = short_dirs(ws)
        usual = Path.home() / ".cache/pants/named_caches"
        for cache in GO_CACHES:
            if (usual / cache).is_dir():
                (named / cache).symlink_to(usual / cache)
        options += [f"--local-store-dir={tmp_path / ws / 'store'}", f"--named-caches-dir={named}"]
    run_pants(root, *options, f"--linuxkit-cache={tmp_path / ws / 'linuxkit-cache'}", "package", "pkg::").assert_success()
    return root, options


def test_two_workspaces_build_the_same_digests_and_the_option_keeps_build_time(tmp_path: Path, short_dirs) -> None:
    test_start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    first_root, _ = build(tmp_path, short_dirs, "first", fresh=False)
    time.sleep(2)  # build times would now differ even at second resolution
    second_root, second_options = build(tmp_path, short_dirs, "second", fresh=True)
    first_cache, second_cache = tmp_path / "first/linuxkit-cache", tmp_path / "second/linuxkit-cache"
    assert git(first_root, "rev-parse", "HEAD") == git(second_root, "rev-parse", "HEAD")

    for name, archive in ARCHIVES.items():
        first, second = read_archive(first_root / "dist" / archive), read_archive(second_root / "dist" / archive)
        print(name, first["index"], {arch: p["manifest"] for arch, p in first["platforms"].items()})
        assert second["index"] == first["index"]
        assert {a: p["manifest"] for a, p in second["platforms"].items()} == {
            a: p["manifest"] for a, p in first["platforms"].items()
        }
        assert (second_root / "dist" / archive).read_bytes() == (first_root / "dist" / archive).read_bytes()
        # The SBOMs too: one per platform, the same in both (dated by the commit, no random namespace).
        assert len(first["attestations"]) == len(first["platforms"]) and second["attestations"] == first["attestations"]
        # The timestamps come from the commit: the config's and every layer entry's.
        for platform in first["platforms"].values():
            config = platform["config"]
            assert config["created"] == CREATED
            assert {h["created"] for h in config["history"]} == {CREATED}
            assert platform["mtimes"] and max(platform["mtimes"]) <= EPOCH
        # Each linuxkit cache holds the same index under the package's name.
        for cache in (first_cache, second_cache):
            entries = json.loads((cache / "index.json").read_text())["manifests"]
            (entry,) = [e for e in entries if re.fullmatch(
                rf"docker\.io/linuxkit/{name}:[0-9a-f]{{40}}", e["annotations"]["org.opencontainers.image.ref.name"])]
            assert entry["digest"] == first["index"]
    assert sorted(read_archive(first_root / "dist" / ARCHIVES["files"])["platforms"]) == ["amd64", "arm64", "s390x"]

    # `--no-linuxkit-reproducible` (another linuxkit cache, or the built platform is taken from
    # there): the config holds a build time again (BuildKit's cache may give the RUN step's from
    # the build above), as linuxkit's builds do.
    run_pants(
        second_root, *second_options, f"--linuxkit-cache={tmp_path / 'second/build-time-cache'}",
        "--no-linuxkit-reproducible", "package", "pkg/run:",
    ).assert_success()  # fmt: skip
    config = read_archive(second_root / "dist" / ARCHIVES["run"])["platforms"]["amd64"]["config"]
    created = datetime.datetime.strptime(config["created"][:19], "%Y-%m-%dT%H:%M:%S")  # RFC 3339, in UTC
    assert created.replace(tzinfo=datetime.timezone.utc) >= test_start > COMMIT_TIME

    binary = linuxkit_binary()
    if binary is None:
        print("the linuxkit CLI is not installed (set LINUXKIT_BIN): `linuxkit cache ls` not run")
        return
    listed = subprocess.run([binary, "cache", "ls", "--cache", str(second_cache)],
                            capture_output=True, text=True, check=True)  # fmt: skip
    for name, archive in ARCHIVES.items():
        digest = read_archive(first_root / "dist" / archive)["index"]
        assert re.search(rf"docker\.io/linuxkit/{name}:[0-9a-f]{{40}} +{digest}", listed.stdout + listed.stderr)
