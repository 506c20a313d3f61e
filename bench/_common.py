"""What every bench shares (a module whose name starts with `_` is a helper, not a bench).

Importing it puts tests/ on sys.path and, when this Python has no PyYAML (which
tests/linuxkit_reference.py needs), re-runs the bench being run with the Python of the ./pants
bootstrap venv, which has it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PY = Path.home() / ".cache/pants-linuxkit/bootstrap/pants-2.17.1-py39/venv/bin/python"
try:
    import yaml  # noqa: F401
except ImportError:
    if VENV_PY.exists() and sys.executable != str(VENV_PY):
        os.execv(VENV_PY, [str(VENV_PY), os.path.abspath(sys.argv[0]), *sys.argv[1:]])
    raise
try:
    import tomllib as toml_reader  # Python 3.11+
except ImportError:
    import toml as toml_reader  # Pants' own dependency: its venv and the tests' resolve have it

sys.path.insert(0, str(REPO / "tests"))

# What a bench repository takes from ./pants.toml: how ./pants gets its plugins, TLS bundle, pex
# and Python. Everything else (backends, source roots, resolves) is this repository's own.
GLOBAL_KEYS = ("pants_version", "plugins", "ca_certs_path")
SECTIONS = ("pex-cli", "subprocess-environment", "python-bootstrap")


def parse_args(doc: str) -> bool:
    """The benches' command line; returns whether `--smoke` was given."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="smallest size that runs every step once (few packages, one repetition); "
        "tests/bench_smoke_test.py runs it. Its times mean nothing.",
    )
    return parser.parse_args().smoke


def pants_toml(linuxkit: dict[str, str] | None = None) -> str:
    """The pants.toml of a bench repository: our backend from this checkout, GLOBAL_KEYS and
    SECTIONS of ./pants.toml, and `linuxkit` as its [linuxkit] section."""
    with open(REPO / "pants.toml", "rb" if toml_reader.__name__ == "tomllib" else "r") as f:
        ours = toml_reader.load(f)
    tables = {
        "GLOBAL": {
            **{key: ours["GLOBAL"][key] for key in GLOBAL_KEYS if key in ours["GLOBAL"]},
            "pythonpath": [f"{REPO}/pants-plugins"],
            "backend_packages": ["linuxkit", "pants.backend.shell"],  # pkg/base: shell_command
        },
        **{name: ours[name] for name in SECTIONS if name in ours},
        **({"linuxkit": linuxkit} if linuxkit else {}),
    }
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        for key, value in table.items():
            if not isinstance(value, (str, bool, int, list)):
                raise TypeError(f"pants.toml: [{name}].{key}: the bench cannot copy a {type(value).__name__}")
            # JSON's strings, numbers, booleans and arrays of them are also valid TOML.
            lines.append(f"{key} = {json.dumps(value)}")
        lines.append("")
    return "\n".join(lines)


def run_pants(root: Path, pantsd: bool, *args: str) -> subprocess.CompletedProcess:
    """This checkout's ./pants in `root`; raises with its stderr when it fails."""
    cmd = [str(REPO / "pants"), "--no-dynamic-ui", "--pantsd" if pantsd else "--no-pantsd", *args]
    env = {**os.environ, "NO_SCIE_WARNING": "1"}
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def kill_pantsd(root: Path) -> None:
    """SIGTERM the pantsd a bench started (its pid file is under the temp repo) and wait."""
    for pid_file in root.glob(".pids/*/pantsd/pid"):
        pid = pid_file.read_text().strip()
        if not pid.isdigit() or int(pid) <= 0:  # os.kill(0, ...) would signal our own group
            continue
        try:
            os.kill(int(pid), signal.SIGTERM)
        except ProcessLookupError:
            continue
        for _ in range(100):
            status = Path(f"/proc/{pid}/status")
            if not status.exists() or "\nState:\tZ" in status.read_text():
                break
            time.sleep(0.1)
