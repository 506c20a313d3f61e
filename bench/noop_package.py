"""Time a warm no-op `pants package pkg::` over many generated packages (the linuxkit cache path).

    python3 bench/noop_package.py [N] [--plugins DIR] [--keep DIR]

Generates a git repository of N packages (default 300), each `FROM scratch` + `COPY` of a file,
one platform (amd64), with a fresh `[linuxkit].cache`. Runs `pants package pkg::` once to build
everything (with pantsd), then times: the first no-op (every platform is now in the linuxkit
cache), three more no-ops (median), and a no-op after a second writer touched the cache's
`index.json` (a new, unrelated entry, as a concurrent `linuxkit` run would add). `--plugins`
loads the backend from another checkout's `pants-plugins` (to time an older commit the same way).
`make_scratch_repo()` is the generator, for other benchmarks to reuse.

The reference, timed in the same run on the same repository: `pants list pkg::` with the same
pantsd (Pants' own floor for touching every target), so `ours/list` is what the no-op adds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, kill_pantsd, pants_toml  # noqa: E402  (re-execs without PyYAML)
from gitrepo import init_repo  # noqa: E402  (_common put tests/ on sys.path)


def scratch_package(i: int) -> dict[str, str]:
    d = f"pkg/p{i:04d}"
    return {
        f"{d}/build.yml": f"image: p{i:04d}\narches: [amd64]\n",
        f"{d}/Dockerfile": "FROM scratch\nCOPY id /etc/id\n",
        f"{d}/id": f"{i}\n",
        f"{d}/BUILD": "linuxkit_package()\n",
    }


def make_scratch_repo(root: Path, n: int, cache: Path, plugins: Path | None = None) -> None:
    """A git repository of `n` packages that need no registry and no RUN step."""
    toml = pants_toml({"cache": str(cache)})
    if plugins is not None:
        toml = toml.replace(f'"{REPO}/pants-plugins"', f'"{plugins}"')
    files = {".gitignore": "/.pants.d/\n/.pids/\n/dist/\n", "pants.toml": toml}
    for i in range(n):
        files.update(scratch_package(i))
    init_repo(root, files)


def pants(root: Path, *args: str) -> tuple[float, int]:
    """Seconds, and BuildKit builds started, of one `./pants --pantsd <args>` in `root`."""
    cmd = [str(REPO / "pants"), "--no-dynamic-ui", "--pantsd", *args]
    env = {**os.environ, "NO_SCIE_WARNING": "1"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=3600)
    secs = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return secs, proc.stderr.count("Starting: Building ")


def touch_index(cache: Path) -> None:
    """Add one root entry to index.json, the way another writer would (new inode and mtime)."""
    index = json.loads((cache / "index.json").read_text())
    entry = dict(index["manifests"][0])
    entry["annotations"] = {"org.opencontainers.image.ref.name": f"docker.io/other/x:{time.time_ns()}"}
    index["manifests"].append(entry)
    tmp = cache / "index.json.bench"
    tmp.write_text(json.dumps(index, indent=3))
    tmp.rename(cache / "index.json")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="5 packages (tests/bench_smoke_test.py)")
    parser.add_argument("--plugins", type=Path)
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    opts = parser.parse_args()
    if opts.smoke:
        opts.n = 5
    with tempfile.TemporaryDirectory(prefix="bench-noop-") as tmp:
        base = opts.keep or Path(tmp)
        root, cache = base / "repo", base / "linuxkit-cache"
        make_scratch_repo(root, opts.n, cache, opts.plugins)
        rows = []
        try:
            rows.append(("build everything", *pants(root, "package", "pkg::")))
            rows.append(("first no-op", *pants(root, "package", "pkg::")))
            again = [pants(root, "package", "pkg::") for _ in range(3)]
            rows.append(("no-op again (median of 3)", statistics.median(s for s, _ in again),
                         sum(b for _, b in again)))  # fmt: skip
            touch_index(cache)
            rows.append(("no-op after another writer", *pants(root, "package", "pkg::")))
            reference = statistics.median(pants(root, "list", "pkg::")[0] for _ in range(3))
        finally:
            kill_pantsd(root)
    print(f"{opts.n} packages (FROM scratch + COPY, amd64), pantsd, {os.cpu_count()} CPUs, "
          f"backend {opts.plugins or REPO / 'pants-plugins'}")  # fmt: skip
    print(f"{'run':<30} {'seconds':>8}    {'BuildKit builds':>15}  ours/list")
    for name, secs, builds in rows:
        print(f"{name:<30} {secs:8.2f} s  {builds:15d}  {secs / reference:8.2f}x")
    print(f"{'reference: pants list pkg::':<30} {reference:8.2f} s  (median of 3, same pantsd)")


if __name__ == "__main__":
    main()
