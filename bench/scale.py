"""Benchmark a monorepo of pinned packages at 100 and 1,000 packages against the real CLI and
LinuxKit's `scripts/update-component-sha.sh`, timed in the same run.

For each size one run generates a git repository in a temporary directory: packages in four
levels, each above the first pinning one package of the level below (`FROM linuxkit/pNNNN:<tag>`,
a pin graph three deep), one `linuxkit_image` yml per ten packages pinning five of them, every pin
stale at first. Then it times:

  fix         `pants fix ::` on the stale tree (one pass, cold), against the sed script the way
              `make update-package-tags` runs it: per package its show-tag, then
              `update-component-sha.sh --image <tag>`, then a commit, in rounds until nothing
              changes. Both trees must end byte-identical;
  lint        `pants lint ::` warm (pantsd) on the fixed tree, against one round of the script;
  show-tag    `pants linuxkit-show-tag ::` cold (--no-pantsd) and warm (pantsd, median of 3),
              against `linuxkit pkg show-tag` (or, without the CLI, the git transcription);
  no-op       `pants package pkg::` after everything was built: cold (--no-pantsd) and warm
              (pantsd, median of 3), against the CLI's all-cached `linuxkit pkg build`;
  one leaf    `pants package pkg::` (pantsd) after editing and committing one leaf package (no
              reference: the CLI builds in a privileged Docker container, which cannot run here).

The CLI's no-op runs on a copy of the linuxkit cache our build wrote (it reads it as its own).

The CLI comes from $LINUXKIT_BIN (tests/linuxkit_reference.py: linuxkit_binary()); the script from
$LINUXKIT_SRC/scripts/update-component-sha.sh or the linuxkit git directory $LINUXKIT_GIT_DIR.
A reference that is missing is named in the output and its column left empty.

    python3 bench/scale.py              # 100 and 1,000 packages (the first build takes long)
    python3 bench/scale.py --sizes 100
    python3 bench/scale.py --smoke      # 8 packages, warm runs once: checks it all works, for CI
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import REPO, kill_pantsd, pants_toml, timed  # re-runs with PyYAML if needed
from show_tag import reference
from gitrepo import commit_all, git, init_repo, write  # noqa: E402  (_common put tests/ on sys.path)
from linuxkit_reference import linuxkit_binary  # noqa: E402

H0 = "0" * 40
GIT_DIR = Path(os.environ.get("LINUXKIT_GIT_DIR", "/work/.mirror/linuxkit+linuxkit/repo"))


def levels(n: int) -> list[list[int]]:
    first, second = max(1, n // 10), max(1, n * 3 // 10)
    bounds = [0, first, first + second, first + 2 * second, n]
    return [list(range(bounds[k], bounds[k + 1])) for k in range(4)]


def make_repo(root: Path, n: int, cache: Path) -> tuple[list[str], str]:
    """The repository; returns the package directories and the leaf package's edited file."""
    files = {".gitignore": "/.pants.d/\n/.pids/\n/dist/\n",
             "pants.toml": pants_toml({"cache": str(cache)})}  # fmt: skip
    lv = levels(n)
    for k, level in enumerate(lv):
        for j, i in enumerate(level):
            base = f"linuxkit/p{lv[k - 1][j % len(lv[k - 1])]:04d}:{H0}" if k else "scratch"
            files.update({
                f"pkg/p{i:04d}/build.yml": f"image: p{i:04d}\narches: [amd64]\n",
                f"pkg/p{i:04d}/Dockerfile": f"FROM {base}\nCOPY etc /etc/p{i:04d}\n",
                f"pkg/p{i:04d}/etc/id": f"{i}\n",
                f"pkg/p{i:04d}/BUILD": "linuxkit_package()\n",
            })  # fmt: skip
    pinned = [i for level in lv[:3] for i in level]
    targets = []
    for e in range(max(1, n // 10)):
        refs = [pinned[(e * 7 + r * 3) % len(pinned)] for r in range(5)]
        services = "".join(f"  - name: p{i:04d}\n    image: linuxkit/p{i:04d}:{H0}\n" for i in refs[1:])
        files[f"examples/e{e:03d}.yml"] = (f"kernel:\n  image: linuxkit/kernel:6.6.71\ninit:\n"
                                           f"  - linuxkit/p{refs[0]:04d}:{H0}\nservices:\n{services}")  # fmt: skip
        targets.append(f"linuxkit_image(name='e{e:03d}', source='e{e:03d}.yml')\n")
    files["examples/BUILD"] = "".join(targets)
    init_repo(root, files)
    return [str(root / f"pkg/p{i:04d}") for i in range(n)], f"pkg/p{lv[3][-1]:04d}/etc/id"


def pants(root: Path, *args: str, pantsd: bool = True) -> subprocess.CompletedProcess:
    cmd = [str(REPO / "pants"), "--no-dynamic-ui", "--pantsd" if pantsd else "--no-pantsd", *args]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=7200,
                          env={**os.environ, "NO_SCIE_WARNING": "1"})  # fmt: skip
    if proc.returncode != 0 and args[0] != "lint":
        raise RuntimeError(f"pants {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc


def sed_script(tmp: Path) -> Path | None:
    src = os.environ.get("LINUXKIT_SRC")
    if src and Path(src, "scripts/update-component-sha.sh").exists():
        return Path(src, "scripts/update-component-sha.sh")
    if (GIT_DIR / "HEAD").exists():
        script = tmp / "update-component-sha.sh"
        script.write_bytes(subprocess.run(["git", "--git-dir", str(GIT_DIR), "show", "HEAD:scripts/update-component-sha.sh"],
                                          check=True, capture_output=True).stdout)  # fmt: skip
        return script
    return None


def script_round(root: Path, dirs: list[str], script: Path) -> bool:
    """`make update-package-tags`: per package its tag, then the sed script; True if it changed."""
    for tag in reference(dirs):
        subprocess.run(["sh", str(script), "--image", tag], cwd=root, check=True, capture_output=True)
    changed = bool(git(root, "status", "--porcelain").strip())
    if changed:
        commit_all(root, "update-component-sha.sh")
    return changed


def cli_build(dirs: list[str], cache: Path) -> None:
    subprocess.run([linuxkit_binary(), "pkg", "build", "--platforms", "linux/amd64", "--cache", str(cache), *dirs],
                   check=True, capture_output=True)  # fmt: skip


WARM_RUNS = 3  # the runs a warm time is the median of (1 with --smoke)


def median(fn, *args) -> float:
    return statistics.median(timed(fn, *args)[0] for _ in range(WARM_RUNS))


def bench(tmp: Path, n: int) -> list[tuple[str, float, float | None]]:
    root, cache = tmp / f"repo{n}", tmp / f"cache{n}"
    dirs, leaf_file = make_repo(root, n, cache)
    rows: list[tuple[str, float, float | None]] = []
    script = sed_script(tmp)

    scripted = tmp / f"scripted{n}"
    shutil.copytree(root, scripted, symlinks=True)
    fix_secs = timed(pants, root, "fix", "::", pantsd=False)[0]
    commit_all(root, "pants fix")
    if script:
        rounds, start = 1, time.perf_counter()
        while script_round(scripted, [str(scripted / Path(d).relative_to(root)) for d in dirs], script):  # noqa: E501
            rounds += 1
        ref = time.perf_counter() - start
        same = not subprocess.run(["diff", "-r", "-x", ".git", "-x", ".pants.d", "-x", ".pids", str(root), str(scripted)],
                                  capture_output=True).returncode  # fmt: skip
        if not same:
            raise SystemExit(f"MISMATCH: pants fix and {rounds} rounds of the script left different trees")
        rows.append((f"fix, all pins stale (cold) vs the script, {rounds} rounds+commits", fix_secs, fix_secs / ref))
    else:
        rows.append(("fix, all pins stale (cold); the sed script is missing", fix_secs, None))

    first_lint = pants(root, "lint", "::")  # starts pantsd
    if first_lint.returncode != 0:
        raise SystemExit(f"lint not clean after one fix and one commit:\n{first_lint.stderr[-2000:]}")
    lint = timed(pants, root, "lint", "::")
    scripted_dirs = [str(scripted / Path(d).relative_to(root)) for d in dirs]
    one_round = timed(script_round, scripted, scripted_dirs, script)[0] if script else None
    rows.append(("lint warm vs one round of the script", lint[0], lint[0] / one_round if one_round else None))
    kill_pantsd(root)

    ref_tags = median(reference, dirs)
    cold = timed(pants, root, "linuxkit-show-tag", "::", pantsd=False)[0]
    pants(root, "linuxkit-show-tag", "::")  # starts pantsd
    warm = median(pants, root, "linuxkit-show-tag", "::")
    rows += [("show-tag cold (--no-pantsd)", cold, cold / ref_tags), ("show-tag warm (pantsd)", warm, warm / ref_tags)]

    first = timed(pants, root, "package", "pkg::")[0]
    rows.append((f"first package pkg:: ({n} BuildKit builds)", first, None))
    kill_pantsd(root)
    noop_cold = timed(pants, root, "package", "pkg::", pantsd=False)[0]
    pants(root, "package", "pkg::")
    noop_warm = median(pants, root, "package", "pkg::")
    cli_noop = None
    if linuxkit_binary():
        # The CLI cannot build here (its builder is a privileged Docker container), so it runs
        # all-cached on a copy of the cache we just wrote, which it reads as its own.
        cli_cache = tmp / f"cli-cache{n}"
        shutil.copytree(cache, cli_cache, symlinks=True)
        cli_build(dirs, cli_cache)
        cli_noop = median(cli_build, dirs, cli_cache)
    rows += [("no-op package cold (--no-pantsd)", noop_cold, noop_cold / cli_noop if cli_noop else None),
             ("no-op package warm (pantsd)", noop_warm, noop_warm / cli_noop if cli_noop else None)]  # fmt: skip

    write(root, {leaf_file: "edited\n"})
    commit_all(root, "edit a leaf")
    leaf = timed(pants, root, "package", "pkg::")[0]
    rows.append((f"one changed leaf ({leaf_file}); the CLI cannot build here", leaf, None))
    kill_pantsd(root)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000", help="comma-separated package counts")
    parser.add_argument("--smoke", action="store_true", help="one small repository (8 packages), warm runs once")
    args = parser.parse_args()
    sizes = [8] if args.smoke else [int(s) for s in args.sizes.split(",")]
    if args.smoke:
        global WARM_RUNS
        WARM_RUNS = 1
    binary = linuxkit_binary()
    cli = f"real CLI {binary}" if binary else "real CLI: missing ($LINUXKIT_BIN unset, none on PATH)"
    show_ref = "the CLI" if binary else "git transcription of the CLI (tests/linuxkit_reference.py)"
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        script = sed_script(Path(tmp))
        print(f"{os.cpu_count()} CPUs; {cli}; show-tag reference: {show_ref}; "
              f"sed script: {script if script else 'missing ($LINUXKIT_SRC, $LINUXKIT_GIT_DIR)'}")
        for n in sizes:
            try:
                rows = bench(Path(tmp), n)
            finally:
                kill_pantsd(Path(tmp, f"repo{n}"))
            width = max(len(name) for name, *_ in rows)
            print(f"\n{n} packages (pin graph depth 3, {max(1, n // 10)} image ymls)")
            print(f"{'measurement':<{width}}  {'seconds':>8}  ours/ref")
            for name, secs, ratio in rows:
                print(f"{name:<{width}}  {secs:8.2f}  {'' if ratio is None else f'{ratio:7.2f}x'}", flush=True)


if __name__ == "__main__":
    main()
