"""Pants' remote cache on a real REAPI server (BuildGrid on 127.0.0.1, `buildgrid.py`).

A first workspace builds the samples and writes the cache. A second one, a repository with the
same commits at another path, with empty local caches (Pants store, named caches and so the
BuildKit daemon state, linuxkit cache), then gets every package from the remote cache: its
buildkitd records no build. Pants 2.17 still spawns each local process on a remote hit and
cancels it ~50 ms later, so builds are counted in BuildKit's own build history, not spawns."""

from __future__ import annotations

import hashlib
import re
import sys
import time
from pathlib import Path

import pytest

from buildgrid import BuildGrid, bgd_binary
from buildkitd_state import recorded_builds, short_dirs  # noqa: F401 (a fixture)
from gitrepo import git
from pants_run import pants_toml, python_at, run_pants
from samples import init_samples_repo

pytestmark = pytest.mark.skipif(
    bgd_binary() is None, reason="needs BuildGrid's bgd: run build-support/tools/install.sh"
)

PACKAGES = ["base", "init", "build-args", "config-label"]  # base and init have RUN steps
PLATFORM_BUILDS = 3 + 3 + 1 + 1
ARCHIVES = ["pkg.base/base.oci.tar", "pkg.init/init.oci.tar", "pkg.build-args/build-args.oci.tar",
            "pkg.config-label/config-label.oci.tar"]  # fmt: skip
# Building BuildKit from its Go module is the first workspace's slow part: it gets the Go
# caches of this machine's usual named caches (read-only use of a cache is safe to share).
GO_CACHES = ("linuxkit_go_mod", "linuxkit_go_build")


def remote_cache_toml(grid: BuildGrid) -> str:
    """The README's "Remote cache" settings. Both workspaces commit the same pants.toml: a
    workspace's own paths go on the command line, or the commits (in labels) would differ."""
    return pants_toml(
        "[linuxkit]\ncheck_registry = false\n",
        global_options="remote_cache_read = true\n"
        "remote_cache_write = true\n"
        f'remote_store_address = "{grid.address}"\n'
        f'remote_instance_name = "{grid.instance}"\n',
    )


def counters(stderr: str) -> dict[str, int]:
    """The `--stats-log` counters Pants logs at the end of a run."""
    return {m[1]: int(m[2]) for m in re.finditer(r"^\s+(\w+): (\d+)$", stderr, re.MULTILINE)}


def sha256s(dist: Path) -> dict[str, str]:
    return {a: hashlib.sha256((dist / a).read_bytes()).hexdigest() for a in ARCHIVES}


def test_second_workspace_gets_every_package_from_the_remote_cache(tmp_path: Path, short_dirs) -> None:
    usual_named_caches = Path.home() / ".cache/pants/named_caches"
    with BuildGrid(tmp_path / "buildgrid") as grid:
        runs = {}
        for ws in ("first", "second"):
            named = short_dirs(ws)
            if ws == "first":
                for cache in GO_CACHES:
                    if (usual_named_caches / cache).is_dir():
                        (named / cache).symlink_to(usual_named_caches / cache)
            root = init_samples_repo(tmp_path / ws / "repo", PACKAGES, remote_cache_toml(grid))
            start = time.monotonic()
            # The second runs Pants' interpreter from another path, as another $HOME would.
            python = python_at(tmp_path / "python") if ws == "second" else sys.executable
            result = run_pants(
                root, f"--local-store-dir={tmp_path / ws / 'store'}", f"--named-caches-dir={named}",
                f"--linuxkit-cache={tmp_path / ws / 'linuxkit-cache'}", "--stats-log", "package", "pkg::",
                python=python,
            ).assert_success()  # fmt: skip
            runs[ws] = (root, named, result, time.monotonic() - start)

    first_root, first_named, first, first_time = runs["first"]
    second_root, second_named, second, second_time = runs["second"]
    assert git(first_root, "rev-parse", "HEAD") == git(second_root, "rev-parse", "HEAD")
    print(f"first workspace: {first_time:.1f}s, second workspace: {second_time:.1f}s")
    shown = ("remote_cache_requests", "remote_cache_requests_cached", "remote_cache_write_successes")
    for ws, result in (("first", first), ("second", second)):
        print(ws, {k: v for k, v in counters(result.stderr).items() if k in shown})

    # The first workspace's buildkitd recorded its builds: the count below is a real one. Each
    # platform build first loads the SBOM generator image (a build of its own, retried if two race).
    assert len(recorded_builds(first_named)) >= 2 * PLATFORM_BUILDS
    assert counters(first.stderr)["remote_cache_write_successes"] > 0
    # The second ran none: every buildctl process came from the remote cache.
    assert recorded_builds(second_named) == []
    stats = counters(second.stderr)
    assert stats["remote_cache_requests_cached"] >= PLATFORM_BUILDS
    # Every cacheable process was a hit: no key holds a path of the first workspace or machine.
    assert stats["remote_cache_requests_uncached"] == 0
    assert stats.get("remote_cache_read_errors", 0) == 0
    assert sha256s(second_root / "dist") == sha256s(first_root / "dist")
