"""The longest bench smokes (bench_smoke_test.LONG), in a test file of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_smoke import BENCH_DIR, LONG, run_smoke


@pytest.mark.parametrize("script", [BENCH_DIR / name for name in LONG], ids=lambda p: p.stem)
def test_bench_smoke(script: Path) -> None:
    run_smoke(script)
