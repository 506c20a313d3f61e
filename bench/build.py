"""Benchmark `pants package pkg::` against the equivalent raw `buildctl build` commands.

One run copies the sample packages that need no registry (init: 3 platforms; chained: 2, FROM
init through @lkt:pkg; build-args; config-label; extra-sources: 2, with pkg/shared) into a git
repository in a temporary directory with a fresh `[linuxkit].cache`. Then, first with
`--no-pantsd` and then with pantsd, it runs 3 cycles of these scenarios and reports medians:

  cold        `pants package pkg::` right after a random nonce was appended to a file that each
              package's Dockerfile COPYs, and committed. Neither Pants' caches, nor the linuxkit
              cache, nor BuildKit's layer cache can help (9 BuildKit solves);
  no-op       the same command again: no BuildKit solve, each platform is taken from the
              linuxkit cache (a process per platform, new to Pants' process cache);
  no-op again once more: every process comes from Pants' process cache;
  one change  after appending to pkg/init/etc/hostname and committing (init and chained: 5 solves).

Each cycle also times raw buildctl against the same buildkitd socket (the backend's own, in
~/.cache/pants/named_caches/linuxkit_buildkitd), on plain directories holding the same package
contents with their own nonce: per platform the `buildctl build` that image.py runs (dockerfile.v0,
--local context/dockerfile, platform, build-arg and label opts, force-network-mode, OCI tar
output), as many at a time as Pants runs processes (one per CPU), chained after init. It is
cold (new nonce), both no-ops (the same 9 commands again: BuildKit's cache, tars still
exported) and one change (only the 5 affected commands, the least a hand-written script could run).
buildctl produces per-platform tars only; Pants also computes tags, assembles each multi-arch
OCI archive into dist/ and writes the linuxkit cache. Pants start-up is timed on its own
(`pants --version`). Exits non-zero if a Pants run does not start the expected BuildKit builds.

    python3 bench/build.py
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from show_tag import REPO, kill_pantsd, pants_toml, timed  # noqa: E402  (re-execs without PyYAML)

import yaml  # noqa: E402
from gitrepo import commit_all, init_repo  # noqa: E402  (show_tag put tests/ on sys.path)
from linuxkit_reference import linuxkit_binary  # noqa: E402

PACKAGES = ["init", "chained", "build-args", "config-label", "extra-sources"]
# A file each Dockerfile COPYs: a nonce there changes a layer, not only the tag.
NONCE_FILE = {"init": "etc/nonce", "chained": "hello", "build-args": "build.yml",
              "config-label": "build.yml", "extra-sources": "Dockerfile"}  # fmt: skip
EDITED = "init/etc/hostname"
STATE = Path.home() / ".cache/pants/named_caches/linuxkit_buildkitd"
BUILDCTL = [str(STATE / "bin/buildctl"), "--addr", f"unix://{STATE}/buildkitd.sock"]
# The scenarios, with how many BuildKit builds Pants must start in each.
EXPECTED = {"cold": 9, "no-op": 0, "no-op again": 0, "one change": 5}
REPS = 3


def add_nonce(pkgs: Path) -> None:
    for pkg, rel in NONCE_FILE.items():
        with open(pkgs / pkg / rel, "a") as f:
            f.write(f"\n# nonce {uuid.uuid4().hex}\n")


def edit(pkgs: Path) -> None:
    with open(pkgs / EDITED, "a") as f:
        f.write(f"edit-{uuid.uuid4().hex[:8]}\n")


def make_repo(root: Path, cache: Path) -> None:
    for pkg in [*PACKAGES, "shared"]:
        shutil.copytree(REPO / "pkg" / pkg, root / "pkg" / pkg)
    toml = f'{pants_toml()}\n[linuxkit]\ncache = "{cache}"\n'
    init_repo(root, {".gitignore": "/.pants.d/\n/.pids/\n/dist/\n", "pants.toml": toml})


def pants(root: Path, pantsd: bool, *args: str) -> int:
    """Runs ./pants in `root`; returns how many BuildKit builds it started."""
    cmd = [str(REPO / "pants"), "--no-dynamic-ui", "--pantsd" if pantsd else "--no-pantsd", *args]
    env = {**os.environ, "NO_SCIE_WARNING": "1"}
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stderr.count("Starting: Building ")


def make_raw(raw: Path) -> dict[str, dict]:
    """Plain build contexts: each package directory, extra-sources placed as Pants places them."""
    ymls = {}
    for pkg in PACKAGES:
        shutil.copytree(REPO / "pkg" / pkg, raw / pkg, ignore=shutil.ignore_patterns("BUILD"))
        ymls[pkg] = yaml.safe_load((raw / pkg / "build.yml").read_text())
        for extra in ymls[pkg].get("extra-sources", []):
            src, dst = extra.split(":")
            shutil.copytree(REPO / "pkg" / pkg / src, raw / pkg / dst.lstrip("/"))
    return ymls


def buildctl_argv(pkg: str, yml: dict, arch: str, raw: Path, out: Path) -> list[str]:
    """image.py's buildctl invocation, with the presets and labels it passes (fixed values)."""
    image = f"{yml.get('org', 'linuxkit')}/{yml['image']}"
    args = dict(a.split("=", 1) for a in yml.get("buildArgs", []))
    if args.get("BASE", "").startswith("@lkt:pkg:"):
        args["BASE"] = "linuxkit/init:raw"
    for key, value in {"SOURCE": yml.get("gitrepo", ""), "REVISION": "0" * 40, "PKG_HASH": "0" * 40,
                       "GOPKGVERSION": "v0.0.0-raw", "PKG_IMAGE": image}.items():  # fmt: skip
        if value and key not in args:
            args[key] = value
    labels = {"org.opencontainers.image.revision": "0" * 40, "org.mobyproject.linuxkit.version":
              "unknown", "org.mobyproject.linuxkit.revision": "unknown"}  # fmt: skip
    if yml.get("gitrepo"):
        labels["org.opencontainers.image.source"] = yml["gitrepo"]
    if "config" in yml:
        labels["org.mobyproject.config"] = json.dumps(yml["config"], separators=(",", ":"))
    ctx = str(raw / pkg)
    argv = [*BUILDCTL, "build", "--progress=plain", "--frontend=dockerfile.v0", "--local",
            f"context={ctx}", "--local", f"dockerfile={ctx}", "--opt", "filename=Dockerfile",
            "--opt", f"platform=linux/{arch}"]  # fmt: skip
    argv += [x for k, v in sorted(args.items()) for x in ("--opt", f"build-arg:{k}={v}")]
    argv += [x for k, v in sorted(labels.items()) for x in ("--opt", f"label:{k}={v}")]
    argv += ["--opt", f"force-network-mode={'sandbox' if yml.get('network', True) else 'none'}"]
    if pkg == "chained":  # init's image for this arch, as an OCI layout named context
        layout = out / f"init-{arch}"
        shutil.rmtree(layout, ignore_errors=True)
        with tarfile.open(out / f"init-{arch}.tar") as tar:
            tar.extractall(layout)
        manifest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
        argv += ["--oci-layout", f"base0={layout}",
                 "--opt", f"context:linuxkit/init:raw=oci-layout://base0@{manifest}"]  # fmt: skip
    name = f"docker.io/{image}:raw-{arch}"
    return argv + ["--output", f"type=oci,dest={out}/{pkg}-{arch}.tar,name={name}"]


def run_buildctl(ymls: dict[str, dict], raw: Path, out: Path, only: list[str] = PACKAGES) -> int:
    """Every platform of `only`, os.cpu_count() at a time; chained once init is done."""
    jobs = [(p, a) for p in only for a in ymls[p].get("arches", ["amd64", "arm64"])]

    def build(job: tuple[str, str]) -> None:
        pkg, arch = job
        argv = buildctl_argv(pkg, ymls[pkg], arch, raw, out)
        subprocess.run(argv, check=True, capture_output=True)

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(build, [j for j in jobs if j[0] != "chained"]))
        list(pool.map(build, [j for j in jobs if j[0] == "chained"]))
    return len(jobs)


def bench(tmp: Path) -> tuple[list[tuple], dict[str, float]]:
    root, raw, out = tmp / "repo", tmp / "raw", tmp / "out"
    make_repo(root, tmp / "linuxkit-cache")
    ymls = make_raw(raw)
    out.mkdir()
    pants(root, False, "--version")  # warm-up: the first run after a change to pants.toml
    startup = {"--no-pantsd": timed(pants, root, False, "--version")[0]}
    rows = []
    for mode, pantsd in (("--no-pantsd", False), ("pantsd", True)):
        if pantsd:
            startup["starting pantsd"] = timed(pants, root, True, "--version")[0]
            startup["pantsd warm"] = timed(pants, root, True, "--version")[0]
        ours: dict[str, list] = {s: [] for s in EXPECTED}
        theirs: dict[str, list] = {s: [] for s in EXPECTED}
        for rep in range(REPS):
            add_nonce(root / "pkg")
            commit_all(root, f"nonce {mode} {rep}")
            add_nonce(raw)
            for scenario, expected in EXPECTED.items():
                if scenario == "one change":
                    edit(root / "pkg")
                    commit_all(root, f"edit {mode} {rep}")
                    edit(raw)
                secs, n = timed(pants, root, pantsd, "package", "pkg::")
                if n != expected:
                    sys.exit(f"{scenario} ({mode}): Pants started {n} builds, expected {expected}")
                ours[scenario].append(secs)
                subprocess.run([*BUILDCTL, "debug", "workers"], check=True, capture_output=True)
                only = ["init", "chained"] if scenario == "one change" else PACKAGES
                theirs[scenario].append(timed(run_buildctl, ymls, raw, out, only))
        for scenario, n in EXPECTED.items():
            m = theirs[scenario][0][1]
            b = statistics.median(secs for secs, _ in theirs[scenario])
            rows.append((scenario, mode, n, statistics.median(ours[scenario]), m, b))
    return rows, startup


def linuxkit_cli(root: Path, cache: Path) -> str:
    """`linuxkit pkg build --force`, then a no-op build, of the same packages, when installed."""
    binary = linuxkit_binary()
    if not binary:
        return "linuxkit pkg build: unavailable (the linuxkit CLI cannot be installed here)"
    note = "its builders are docker contexts, not this buildkitd socket"
    dirs = [str(root / "pkg" / pkg) for pkg in PACKAGES]
    times = []
    for extra in (["--force"], []):
        cmd = [binary, "pkg", "build", "--cache", str(cache), *extra, *dirs]
        secs, proc = timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
        if proc.returncode != 0:
            return f"linuxkit pkg build failed ({note}): {proc.stderr[-300:]}"
        times.append(secs)
    return f"linuxkit pkg build {binary} ({note}): --force {times[0]:.2f} s, again {times[1]:.2f} s"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        try:
            rows, startup = bench(Path(tmp))
        finally:
            kill_pantsd(Path(tmp, "repo"))
        cli = linuxkit_cli(Path(tmp, "repo"), Path(tmp, "linuxkit-cli-cache"))
    version = subprocess.run([BUILDCTL[0], "--version"], capture_output=True, text=True).stdout
    print(f"{len(PACKAGES)} packages, 9 platform builds; {os.cpu_count()} CPUs; {version.strip()}; "
          f"buildctl runs {os.cpu_count()} at a time (as Pants does)")  # fmt: skip
    print("pants --version: " + ", ".join(f"{k} {v:.2f} s" for k, v in startup.items()))
    print(f"median of {REPS}  {'pants':<11} {'ours':>12} {'buildctl':>12}  ours/buildctl")
    for scenario, mode, n, o, m, b in rows:
        print(f"{scenario:<12} {mode:<11} {o:6.2f} s ({n}) {b:6.2f} s ({m})  {o / b:8.2f}x")
    print(f"(n) = BuildKit builds run; {cli}")


if __name__ == "__main__":
    main()
