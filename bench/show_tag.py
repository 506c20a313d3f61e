"""Benchmark `pants linuxkit-show-tag ::` against `linuxkit pkg show-tag` on 200 packages.

One run generates a git repository with 200 LinuxKit packages in a temporary directory, runs
our goal there through this repo's ./pants (cold without pantsd, warm with pantsd, warm after
editing one file) and the reference over the same directories: the real `linuxkit` CLI when
tests/linuxkit_reference.py finds it, otherwise that module's transcription of the CLI's git
subprocess calls (which dominate the CLI's run time). It exits non-zero unless every one of our
outputs equals the reference's line for line, and prints seconds and ours/reference ratios.

    python3 bench/show_tag.py [--smoke]    # --smoke: 8 packages, one run of each kind
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import kill_pantsd, pants_toml, parse_args, run_pants, timed  # noqa: E402
from gitrepo import init_repo  # noqa: E402  (_common put tests/ on sys.path)
from linuxkit_reference import cli_show_tag, git_show_tag, linuxkit_binary  # noqa: E402


def package_files(i: int) -> dict[str, str]:
    d, yml = f"pkg/p{i:03d}", f"image: p{i:03d}\n"
    if i % 20 == 0:
        yml += f"extra-sources: ['../../shared/lib{i % 3}:/lib']\n"
    if i % 25 == 0:
        yml += "org: example\ntag: '{{.Hash}}-amd64'\n"
    elif i % 40 == 7:
        yml += "tag: '{{printf \"%.12s\" .Hash}}'\n"
    return {
        f"{d}/build.yml": yml,
        f"{d}/Dockerfile": f"FROM alpine:3.19\nCOPY src /src\nRUN echo {i}\n",
        f"{d}/src/main.c": f"int main(void) {{ return {i % 7}; }}\n",
        f"{d}/etc/p{i:03d}.conf": f"id = {i}\n",
        f"{d}/BUILD": "linuxkit_package()\n",
    }


@dataclass(frozen=True)
class Size:
    packages: int
    reps: int  # warm runs, reference runs on the clean tree, and edits

    @property
    def edited(self) -> str:
        return f"pkg/p{self.packages // 2:03d}/src/main.c"


FULL, SMOKE = Size(packages=200, reps=3), Size(packages=8, reps=1)  # 8 has every kind of package


def make_repo(root: Path, n: int) -> list[str]:
    files = {f"shared/lib{k}/lib.go": f"package lib{k}\n" for k in range(3)}
    for i in range(n):
        files.update(package_files(i))
    files[".gitignore"] = "/.pants.d/\n/.pids/\n/dist/\n"
    files["pants.toml"] = pants_toml()
    init_repo(root, files)
    return [str(root / f"pkg/p{i:03d}") for i in range(n)]


def pants(root: Path, pantsd: bool) -> list[str]:
    return run_pants(root, pantsd, "linuxkit-show-tag", "::").stdout.splitlines()


def reference(dirs: list[str]) -> list[str]:
    if linuxkit_binary():
        return cli_show_tag(dirs)
    return [git_show_tag(d) for d in dirs]


def check(what: str, ours: list[str], ref: list[str]) -> None:
    if ours != ref:
        diff = [f"  ours {o}\n  ref  {r}" for o, r in zip(ours, ref) if o != r][:5]
        sys.exit(f"MISMATCH ({what}): {len(ours)} vs {len(ref)} lines\n" + "\n".join(diff))


def bench(root: Path, size: Size) -> list[tuple[str, float, float | None]]:
    dirs = make_repo(root, size.packages)
    ref_clean = [timed(reference, dirs) for _ in range(size.reps)]
    rows = []
    for name, pantsd in (("ours cold (--no-pantsd, first run)", False),
                         ("ours pantsd start-up run", True)):  # fmt: skip
        secs, out = timed(pants, root, pantsd)
        check(name, out, ref_clean[0][1])
        rows.append((name, secs))
    warm = [timed(pants, root, True) for _ in range(size.reps)]
    for _, out in warm:
        check("warm", out, ref_clean[0][1])
    edited, ref_edited = [], []
    for k in range(size.reps):
        with open(root / size.edited, "a") as f:
            f.write(f"/* edit {k} */\n")
        edited.append(timed(pants, root, True))
        ref_edited.append(timed(reference, dirs))
        check(f"after edit {k}", edited[-1][1], ref_edited[-1][1])
    med = lambda runs: statistics.median(secs for secs, _ in runs)  # noqa: E731
    ref, ref_e = med(ref_clean), med(ref_edited)
    of = f"median of {size.reps}"
    return [(name, secs, secs / ref) for name, secs in rows] + [
        (f"ours warm (pantsd, {of})", med(warm), med(warm) / ref),
        (f"ours warm after editing {size.edited} ({of})", med(edited), med(edited) / ref_e),
        (f"reference, clean tree ({of})", ref, None),
        (f"reference, after each edit ({of})", ref_e, None),
    ]


def main() -> None:
    size = SMOKE if parse_args(__doc__) else FULL
    binary = linuxkit_binary()
    if binary:
        version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout
        ident = f"real CLI: {binary} pkg show-tag <{size.packages} dirs> ({version.split(chr(10))[0].strip()})"
    else:
        ident = ("git transcription of the CLI (tests/linuxkit_reference.py: git_show_tag, "
                 "per package) -- the real linuxkit CLI is not installed")  # fmt: skip
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory(prefix="bench-show-tag-") as tmp:
        root = Path(tmp, "repo")
        try:
            rows = bench(root, size)
        finally:
            kill_pantsd(root)
    width = max(len(name) for name, *_ in rows)
    print(f"{size.packages} packages; reference = {ident}; {git_version.strip()}; {os.cpu_count()} CPUs")
    print(f"{'measurement':<{width}}  {'seconds':>8}  ours/ref")
    for name, secs, ratio in rows:
        print(f"{name:<{width}}  {secs:8.2f}  {'' if ratio is None else f'{ratio:7.2f}x'}")
    print(f"outputs: all {size.packages} lines of every run identical to the reference")


if __name__ == "__main__":
    main()
