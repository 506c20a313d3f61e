"""What the bench smoke tests share: every bench/*.py, found by globbing (a new bench is run without
a change here), run at its smoke size (`--smoke`) until it prints its table of ratios."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"
# bench/_*.py are helpers that the benches import.
BENCHES = sorted(p for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_"))
# The two longest smokes run from bench_smoke_long_test.py: two shorter test files pack better on
# two cores than one long one.
LONG = ("build.py", "scale.py")
# The header names the reference (`ours/ref`, `ours/buildctl`, ...); a ratio cell is `1.23x`.
RATIO_HEADER = re.compile(r"(?m)^\S.*\bours/\w+")
RATIO_CELL = re.compile(r"(?m)\s\d+\.\d+x\s*$")


def run_smoke(script: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(script), "--smoke"], capture_output=True, text=True, timeout=1500
    )
    assert proc.returncode == 0, f"{script.name} --smoke failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert RATIO_HEADER.search(proc.stdout), f"{script.name}: no `ours/<reference>` header:\n{proc.stdout}"
    assert RATIO_CELL.search(proc.stdout), f"{script.name}: no ratio (`N.NNx`) printed:\n{proc.stdout}"
