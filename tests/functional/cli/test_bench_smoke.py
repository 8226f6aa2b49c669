"""Benchmarks run in CI as smoke runs: they must finish and print their result line, never judge time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
SMOKE_ENV = {
    "BENCH_WRITERS": "4",
    "BENCH_WRITES_EACH": "3",
    "BENCH_ROUNDS": "1",
    # bench/pages.py: a second per page, a tiny scale-up, and the built-in client (wrk may be absent)
    "BENCH_DURATION": "1",
    "BENCH_CONNECTIONS": "4",
    "BENCH_AGREEMENTS": "1",
    "BENCH_DAYS": "2",
    "BENCH_CLIENT": "python",
    # bench/scale.py: one agreement (BENCH_AGREEMENTS above) with 200 check-ins, on both databases
    "BENCH_CHECKINS": "200",
    # bench/import.py: 40 rows on both databases
    "BENCH_IMPORT_ROWS": "40",
    # bench/cases.py: two stations, 100 cases, 500 deliveries, 10 open orders, on both databases
    "BENCH_STATIONS": "2",
    "BENCH_CASES": "100",
    "BENCH_DELIVERIES": "500",
    "BENCH_OPEN_ORDERS": "10",
}


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_benchmark_runs_and_prints_a_machine_readable_result(script: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARELOG_")} | SMOKE_ENV
    done = subprocess.run(
        [sys.executable, str(BENCH / script)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    last = done.stdout.strip().splitlines()[-1]
    # Numbers only, but for a leading db=<name> (bench/scale.py prints one result line per database).
    assert re.fullmatch(r"result( db=[a-z]+)?( [a-z][a-z0-9_]*=-?[0-9.]+)+", last), last
