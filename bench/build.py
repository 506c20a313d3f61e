"""Benchmark `pants package pkg::` against the equivalent raw `buildctl build` commands.

One run copies the sample packages that need no registry (base: 3 platforms, busybox and a RUN
step; init: 3, FROM base through @lkt:pkg, with a RUN step; chained: 2, FROM init; build-args;
config-label; extra-sources: 2, with pkg/shared) into a git repository in a temporary directory
with a fresh `[linuxkit].cache`. Then, first with
`--no-pantsd` and then with pantsd, it runs 3 cycles of these scenarios and reports medians:

  cold        `pants package pkg::` right after a random nonce was appended to a file that each
              package's Dockerfile COPYs (base: its Dockerfile), and committed. Neither Pants'
              caches, nor the linuxkit cache, nor (but for base) BuildKit's layer cache can help
              (12 BuildKit solves);
  no-op       the same command again: no BuildKit solve, each platform is taken from the
              linuxkit cache (a process per platform, new to Pants' process cache);
  no-op again once more: every process comes from Pants' process cache;
  one change  after appending to pkg/init/etc/hostname and committing (init and chained: 5 solves).

Each cycle also times raw buildctl against the same buildkitd socket (the backend's own, in
~/.cache/pants/named_caches/linuxkit_buildkitd), on plain directories holding the same package
contents with their own nonce: per platform the `buildctl build` that image.py runs (dockerfile.v0,
--local context/dockerfile, platform, build-arg and label opts, force-network-mode, OCI tar
output with rewrite-timestamp), as many at a time as Pants runs processes (one per CPU), each package after the one
it is built FROM. It is cold (new nonce), both no-ops (the same 12 commands again: BuildKit's cache, tars still
exported) and one change (only the 5 affected commands, the least a hand-written script could run).
buildctl produces per-platform tars only; Pants also computes tags, assembles each multi-arch
OCI archive into dist/ and writes the linuxkit cache. Pants start-up is timed on its own
(`pants --version`). Exits non-zero if a Pants run does not start the expected BuildKit builds.

    python3 bench/build.py [--smoke]    # --smoke: base and init; one cycle, with pantsd only
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, kill_pantsd, pants_toml, parse_args, run_pants, timed  # noqa: E402

import yaml  # noqa: E402  (_common re-ran this script with a Python that has it)
from busybox_base import busybox_binary  # noqa: E402  (_common put tests/ on sys.path)
from gitrepo import commit_all  # noqa: E402
from linuxkit_reference import linuxkit_binary  # noqa: E402
from samples import init_samples_repo  # noqa: E402

# A file each Dockerfile COPYs: a nonce there changes a layer, not only the tag. base COPYs only
# busybox, so its nonce is a Dockerfile comment: a new tag, but BuildKit may reuse its layers.
NONCE_FILE = {"base": "Dockerfile", "init": "etc/nonce", "chained": "hello", "build-args": "build.yml",
              "config-label": "build.yml", "extra-sources": "Dockerfile"}  # fmt: skip
LKT_PKG = "@lkt:pkg:"
EDITED = "init/etc/hostname"  # rebuilds init and chained (FROM init)
DEFAULT_ARCHES = ["amd64", "arm64", "s390x"]  # linuxkit's, for a build.yml without `arches`
# The backend's buildkitd: util_rules/scripts/lk-buildctl.sh keeps it in the named cache, one
# directory per BuildKit version ([buildkit].version's default, read from its subsystem).
VERSION = re.search(r'version = StrOption\(default="([^"]+)"',
                    (REPO / "pants-plugins/linuxkit/subsystems/buildkit.py").read_text()).group(1)  # fmt: skip
STATE = Path.home() / ".cache/pants/named_caches/linuxkit_buildkitd" / VERSION
BUILDCTL = [str(STATE / "bin/buildctl"), "--addr", f"unix://{STATE}/buildkitd.sock"]
SCENARIOS = ("cold", "no-op", "no-op again", "one change")


MODES = (("--no-pantsd", False), ("pantsd", True))


@dataclass(frozen=True)
class Size:
    packages: tuple[str, ...]
    reps: int
    modes: tuple[tuple[str, bool], ...] = MODES


FULL = Size(("base", "init", "chained", "build-args", "config-label", "extra-sources"), reps=3)
# The scenarios run the same code with and without pantsd: the smoke runs them once, with pantsd.
SMOKE = Size(("base", "init"), reps=1, modes=MODES[1:])


def platforms(yml: dict) -> list[str]:
    return yml.get("arches", DEFAULT_ARCHES)


def base_package(yml: dict) -> str | None:
    """The sample package a build.yml's BASE build arg names through @lkt:pkg:, if any."""
    base = dict(a.split("=", 1) for a in yml.get("buildArgs", [])).get("BASE", "")
    return Path(base[len(LKT_PKG):]).name if base.startswith(LKT_PKG) else None


def expected_builds(ymls: dict[str, dict]) -> dict[str, int]:
    """How many BuildKit builds Pants must start in each scenario."""
    count = lambda pkgs: sum(len(platforms(ymls[p])) for p in pkgs)  # noqa: E731
    return dict(zip(SCENARIOS, (count(ymls), 0, 0, count(edited_packages(ymls)))))


def edited_packages(ymls: dict[str, dict]) -> list[str]:
    """What the edit to EDITED rebuilds: init and, when the run has it, chained (FROM init)."""
    return [p for p in ("init", "chained") if p in ymls]


def add_nonce(pkgs: Path, packages: tuple[str, ...]) -> None:
    for pkg in packages:
        rel = NONCE_FILE[pkg]
        with open(pkgs / pkg / rel, "a") as f:
            f.write(f"\n# nonce {uuid.uuid4().hex}\n")


def edit(pkgs: Path) -> None:
    with open(pkgs / EDITED, "a") as f:
        f.write(f"edit-{uuid.uuid4().hex[:8]}\n")


def make_repo(root: Path, cache: Path, packages: tuple[str, ...]) -> None:
    init_samples_repo(root, [*packages, "shared"], pants_toml({"cache": str(cache)}), REPO)
    (root / ".gitignore").write_text("/.pants.d/\n/.pids/\n/dist/\n")  # commit_all adds the rest
    commit_all(root, "gitignore")


def pants(root: Path, pantsd: bool, *args: str) -> str:
    """Runs ./pants in `root`; returns its log (stderr)."""
    return run_pants(root, pantsd, *args).stderr


def make_raw(raw: Path, packages: tuple[str, ...]) -> dict[str, dict]:
    """Plain build contexts: each package directory, extra-sources placed as Pants places them."""
    ymls = {}
    for pkg in packages:
        shutil.copytree(REPO / "pkg" / pkg, raw / pkg, ignore=shutil.ignore_patterns("BUILD"))
        ymls[pkg] = yaml.safe_load((raw / pkg / "build.yml").read_text())
        for extra in ymls[pkg].get("extra-sources", []):
            src, dst = extra.split(":")
            shutil.copytree(REPO / "pkg" / pkg / src, raw / pkg / dst.lstrip("/"))
    for arch in platforms(ymls["base"]):  # what pkg/base's shell_command puts in its context
        (raw / "base/rootfs" / arch).mkdir(parents=True)
        shutil.copy(busybox_binary(arch), raw / "base/rootfs" / arch / "busybox")
    return ymls


def buildctl_argv(pkg: str, yml: dict, arch: str, raw: Path, out: Path) -> list[str]:
    """image.py's buildctl invocation, with the presets and labels it passes (fixed values)."""
    image = f"{yml.get('org', 'linuxkit')}/{yml['image']}"
    args = dict(a.split("=", 1) for a in yml.get("buildArgs", []))
    base = base_package(yml)
    if base:
        args["BASE"] = f"linuxkit/{base}:raw"
    for key, value in {"SOURCE": yml.get("gitrepo", ""), "REVISION": "0" * 40, "PKG_HASH": "0" * 40,
                       "GOPKGVERSION": "v0.0.0-raw", "PKG_IMAGE": image,
                       "SOURCE_DATE_EPOCH": "1767225600"}.items():  # fmt: skip
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
    argv += ["--opt", f"force-network-mode={'sandbox' if yml.get('network', False) else 'none'}"]
    if base:  # the base's image for this arch, as an OCI layout named context
        layout = out / f"{base}-{arch}-for-{pkg}"
        shutil.rmtree(layout, ignore_errors=True)
        with tarfile.open(out / f"{base}-{arch}.tar") as tar:
            tar.extractall(layout)
        manifest = json.loads((layout / "index.json").read_text())["manifests"][0]["digest"]
        argv += ["--oci-layout", f"base0={layout}",
                 "--opt", f"context:{args['BASE']}=oci-layout://base0@{manifest}"]  # fmt: skip
    name = f"docker.io/{image}:raw-{arch}"
    return argv + ["--output", f"type=oci,dest={out}/{pkg}-{arch}.tar,name={name},rewrite-timestamp=true"]


def run_buildctl(ymls: dict[str, dict], raw: Path, out: Path, only: list[str]) -> int:
    """Every platform of `only`, os.cpu_count() at a time; a package once its base is built."""

    def depth(pkg: str) -> int:
        base = base_package(ymls[pkg])
        return 1 + depth(base) if base in only else 0

    jobs = [(p, a) for p in only for a in platforms(ymls[p])]

    def build(job: tuple[str, str]) -> None:
        pkg, arch = job
        argv = buildctl_argv(pkg, ymls[pkg], arch, raw, out)
        subprocess.run(argv, check=True, capture_output=True)

    with ThreadPoolExecutor(os.cpu_count()) as pool:
        for level in sorted({depth(p) for p in only}):
            list(pool.map(build, [j for j in jobs if depth(j[0]) == level]))
    return len(jobs)


def bench(tmp: Path, size: Size) -> tuple[list[tuple], dict[str, float], int]:
    root, raw, out = tmp / "repo", tmp / "raw", tmp / "out"
    make_repo(root, tmp / "linuxkit-cache", size.packages)
    ymls = make_raw(raw, size.packages)
    expected = expected_builds(ymls)
    out.mkdir()
    pants(root, False, "--version")  # warm-up: the first run after a change to pants.toml
    startup = {"--no-pantsd": timed(pants, root, False, "--version")[0]}
    rows = []
    for mode, pantsd in size.modes:
        if pantsd:
            startup["starting pantsd"] = timed(pants, root, True, "--version")[0]
            startup["pantsd warm"] = timed(pants, root, True, "--version")[0]
        ours: dict[str, list] = {s: [] for s in SCENARIOS}
        theirs: dict[str, list] = {s: [] for s in SCENARIOS}
        for rep in range(size.reps):
            add_nonce(root / "pkg", size.packages)
            commit_all(root, f"nonce {mode} {rep}")
            add_nonce(raw, size.packages)
            for scenario, want in expected.items():
                if scenario == "one change":
                    edit(root / "pkg")
                    commit_all(root, f"edit {mode} {rep}")
                    edit(raw)
                secs, log = timed(pants, root, pantsd, "package", "pkg::")
                n = log.count("Starting: Building ")
                if n != want:
                    sys.exit(f"{scenario} ({mode}): Pants started {n} builds, expected {want}:\n{log[-3000:]}")
                ours[scenario].append(secs)
                subprocess.run([*BUILDCTL, "debug", "workers"], check=True, capture_output=True)
                only = edited_packages(ymls) if scenario == "one change" else list(ymls)
                theirs[scenario].append(timed(run_buildctl, ymls, raw, out, only))
        for scenario, n in expected.items():
            m = theirs[scenario][0][1]
            b = statistics.median(secs for secs, _ in theirs[scenario])
            rows.append((scenario, mode, n, statistics.median(ours[scenario]), m, b))
    return rows, startup, expected["cold"]


def linuxkit_cli(root: Path, cache: Path, packages: tuple[str, ...]) -> str:
    """`linuxkit pkg build --force`, then a no-op build, of the same packages, when installed."""
    binary = linuxkit_binary()
    if not binary:
        return "linuxkit pkg build: unavailable (the linuxkit CLI cannot be installed here)"
    note = "its builders are docker contexts, not this buildkitd socket"
    dirs = [str(root / "pkg" / pkg) for pkg in packages]
    times = []
    for extra in (["--force"], []):
        cmd = [binary, "pkg", "build", "--cache", str(cache), *extra, *dirs]
        secs, proc = timed(lambda: subprocess.run(cmd, capture_output=True, text=True))
        if proc.returncode != 0:
            return f"linuxkit pkg build failed ({note}): {proc.stderr[-300:]}"
        times.append(secs)
    return f"linuxkit pkg build {binary} ({note}): --force {times[0]:.2f} s, again {times[1]:.2f} s"


def main() -> None:
    size = SMOKE if parse_args(__doc__) else FULL
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        try:
            rows, startup, builds = bench(Path(tmp), size)
        finally:
            kill_pantsd(Path(tmp, "repo"))
        cli = linuxkit_cli(Path(tmp, "repo"), Path(tmp, "linuxkit-cli-cache"), size.packages)
    version = subprocess.run([BUILDCTL[0], "--version"], capture_output=True, text=True).stdout
    print(f"{len(size.packages)} packages, {builds} platform builds; {os.cpu_count()} CPUs; {version.strip()}; "
          f"buildctl runs {os.cpu_count()} at a time (as Pants does)")  # fmt: skip
    print("pants --version: " + ", ".join(f"{k} {v:.2f} s" for k, v in startup.items()))
    print(f"median of {size.reps}  {'pants':<11} {'ours':>12} {'buildctl':>12}  ours/buildctl")
    for scenario, mode, n, o, m, b in rows:
        print(f"{scenario:<12} {mode:<11} {o:6.2f} s ({n}) {b:6.2f} s ({m})  {o / b:8.2f}x")
    print(f"(n) = BuildKit builds run; {cli}")


if __name__ == "__main__":
    main()
