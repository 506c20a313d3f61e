"""Benchmark `pants linuxkit-show-tag ::` against `linuxkit pkg show-tag` on 200 packages.

One run generates a git repository with 200 LinuxKit packages in a temporary directory, runs
our goal there through this repo's ./pants (cold without pantsd, warm with pantsd, warm after
editing one file) and the reference over the same directories: the real `linuxkit` CLI when
tests/linuxkit_reference.py finds it, otherwise that module's transcription of the CLI's git
subprocess calls (which dominate the CLI's run time). It exits non-zero unless every one of our
outputs equals the reference's line for line, and prints seconds and ours/reference ratios.

    python3 bench/show_tag.py
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PY = Path.home() / ".cache/pants-linuxkit/bootstrap/pants-2.17.1-py39/venv/bin/python"
try:
    import yaml  # noqa: F401  (tests/linuxkit_reference.py needs it; Pants' venv has it)
except ImportError:
    # Re-run the script being run (also bench/build.py and bench/publish.py, which import this).
    if VENV_PY.exists() and sys.executable != str(VENV_PY):
        os.execv(VENV_PY, [str(VENV_PY), os.path.abspath(sys.argv[0]), *sys.argv[1:]])
    raise
sys.path.insert(0, str(REPO / "tests"))
from gitrepo import init_repo  # noqa: E402
from linuxkit_reference import cli_show_tag, git_show_tag, linuxkit_binary  # noqa: E402

N = 200
EDITED = "pkg/p100/src/main.c"


def pants_toml() -> str:
    """Our backend from this checkout, plus the plugin, TLS and Pex settings of ./pants.toml."""
    sections = re.split(r"(?m)^(?=\[)", (REPO / "pants.toml").read_text())
    glob = next(s for s in sections if s.startswith("[GLOBAL]"))
    extra = re.findall(r"(?ms)^(?:plugins = \[.*?^\]|ca_certs_path = .*?)$", glob)
    keep = ("[pex-cli]", "[subprocess-environment]", "[python-bootstrap]")
    return "\n".join(
        ["[GLOBAL]", 'pants_version = "2.17.1"', f'pythonpath = ["{REPO}/pants-plugins"]',
         'backend_packages = ["linuxkit"]', *extra, ""]
        + [s for s in sections if s.startswith(keep)]
    )  # fmt: skip


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


def make_repo(root: Path) -> list[str]:
    files = {f"shared/lib{k}/lib.go": f"package lib{k}\n" for k in range(3)}
    for i in range(N):
        files.update(package_files(i))
    files[".gitignore"] = "/.pants.d/\n/.pids/\n/dist/\n"
    files["pants.toml"] = pants_toml()
    init_repo(root, files)
    return [str(root / f"pkg/p{i:03d}") for i in range(N)]


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def pants(root: Path, pantsd: bool) -> list[str]:
    flag = "--pantsd" if pantsd else "--no-pantsd"
    cmd = [str(REPO / "pants"), "--no-dynamic-ui", flag, "linuxkit-show-tag", "::"]
    env = {**os.environ, "NO_SCIE_WARNING": "1"}
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"pants failed ({proc.returncode}):\n{proc.stderr}")
    return proc.stdout.splitlines()


def reference(dirs: list[str]) -> list[str]:
    if linuxkit_binary():
        return cli_show_tag(dirs)
    return [git_show_tag(d) for d in dirs]


def kill_pantsd(root: Path) -> None:
    """SIGTERM the pantsd this run started (its pid file is under the temp repo) and wait."""
    for pid_file in root.glob(".pids/*/pantsd/pid"):
        pid = int(pid_file.read_text().strip() or 0)
        try:
            os.kill(pid, signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            continue
        for _ in range(100):
            status = Path(f"/proc/{pid}/status")
            if not status.exists() or "\nState:\tZ" in status.read_text():
                break
            time.sleep(0.1)


def check(what: str, ours: list[str], ref: list[str]) -> None:
    if ours != ref:
        diff = [f"  ours {o}\n  ref  {r}" for o, r in zip(ours, ref) if o != r][:5]
        sys.exit(f"MISMATCH ({what}): {len(ours)} vs {len(ref)} lines\n" + "\n".join(diff))


def bench(root: Path) -> list[tuple[str, float, float | None]]:
    dirs = make_repo(root)
    ref_clean = [timed(reference, dirs) for _ in range(3)]
    rows = []
    for name, pantsd in (("ours cold (--no-pantsd, first run)", False),
                         ("ours pantsd start-up run", True)):  # fmt: skip
        secs, out = timed(pants, root, pantsd)
        check(name, out, ref_clean[0][1])
        rows.append((name, secs))
    warm = [timed(pants, root, True) for _ in range(3)]
    for _, out in warm:
        check("warm", out, ref_clean[0][1])
    edited, ref_edited = [], []
    for k in range(3):
        with open(root / EDITED, "a") as f:
            f.write(f"/* edit {k} */\n")
        edited.append(timed(pants, root, True))
        ref_edited.append(timed(reference, dirs))
        check(f"after edit {k}", edited[-1][1], ref_edited[-1][1])
    med = lambda runs: statistics.median(secs for secs, _ in runs)  # noqa: E731
    ref, ref_e = med(ref_clean), med(ref_edited)
    return [(name, secs, secs / ref) for name, secs in rows] + [
        ("ours warm (pantsd, median of 3)", med(warm), med(warm) / ref),
        (f"ours warm after editing {EDITED} (median of 3)", med(edited), med(edited) / ref_e),
        ("reference, clean tree (median of 3)", ref, None),
        ("reference, after each edit (median of 3)", ref_e, None),
    ]


def main() -> None:
    binary = linuxkit_binary()
    if binary:
        version = subprocess.run([binary, "version"], capture_output=True, text=True).stdout
        ident = f"real CLI: {binary} pkg show-tag <200 dirs> ({version.split(chr(10))[0].strip()})"
    else:
        ident = ("git transcription of the CLI (tests/linuxkit_reference.py: git_show_tag, "
                 "per package) -- the real linuxkit CLI is not installed")  # fmt: skip
    git_version = subprocess.run(["git", "--version"], capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory(prefix="bench-show-tag-") as tmp:
        root = Path(tmp, "repo")
        try:
            rows = bench(root)
        finally:
            kill_pantsd(root)
    width = max(len(name) for name, *_ in rows)
    print(f"{N} packages; reference = {ident}; {git_version.strip()}; {os.cpu_count()} CPUs")
    print(f"{'measurement':<{width}}  {'seconds':>8}  ours/ref")
    for name, secs, ratio in rows:
        print(f"{name:<{width}}  {secs:8.2f}  {'' if ratio is None else f'{ratio:7.2f}x'}")
    print(f"outputs: all {N} lines of every run identical to the reference")


if __name__ == "__main__":
    main()
