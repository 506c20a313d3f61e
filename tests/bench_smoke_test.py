"""Every bench/*.py runs at its smoke size (`--smoke`) and prints its table of ratios; the longest
two (bench_smoke.LONG) run from bench_smoke_long_test.py.

Times are not checked: only that the bench completes (its own consistency checks included).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_smoke import BENCH_DIR, BENCHES, LONG, run_smoke


def test_benches_are_found() -> None:
    assert {"show_tag.py", "build.py", "publish.py"} <= {p.name for p in BENCHES}, BENCH_DIR


@pytest.mark.parametrize("script", [b for b in BENCHES if b.name not in LONG], ids=lambda p: p.stem)
def test_bench_smoke(script: Path) -> None:
    run_smoke(script)
