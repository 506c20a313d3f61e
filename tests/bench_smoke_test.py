"""Every bench/*.py runs at its smoke size (`--smoke`) and prints its table of ratios.

Benches are found by globbing, so a new bench is run here without a change to this file.
Times are not checked: only that the bench completes (its own consistency checks included).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"
# bench/_*.py are helpers that the benches import.
BENCHES = sorted(p for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_"))
# The header names the reference (`ours/ref`, `ours/buildctl`, ...); a ratio cell is `1.23x`.
RATIO_HEADER = re.compile(r"(?m)^\S.*\bours/\w+")
RATIO_CELL = re.compile(r"(?m)\s\d+\.\d+x\s*$")


def test_benches_are_found() -> None:
    assert {"show_tag.py", "build.py", "publish.py"} <= {p.name for p in BENCHES}, BENCH_DIR


@pytest.mark.parametrize("script", BENCHES, ids=lambda p: p.stem)
def test_bench_smoke(script: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(script), "--smoke"], capture_output=True, text=True, timeout=1500
    )
    assert proc.returncode == 0, f"{script.name} --smoke failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    assert RATIO_HEADER.search(proc.stdout), f"{script.name}: no `ours/<reference>` header:\n{proc.stdout}"
    assert RATIO_CELL.search(proc.stdout), f"{script.name}: no ratio (`N.NNx`) printed:\n{proc.stdout}"
