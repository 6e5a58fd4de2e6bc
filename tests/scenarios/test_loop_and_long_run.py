"""The loop_overhead, long_run and wide_steps scenarios: what the writer measures from inside.

Fake adapters show that each field sees what it should (the harness's plumbing); the real
frameworks run them in tests/adapters/test_new_scenarios.py.
"""

from __future__ import annotations

import sys
from typing import Any

from results import schema as S
from scenarios.cell import run_cell
from scenarios.workloads.loop import calibrate, work

FAKE = "tests.scenarios.fake_adapters"
LOOP = {"n_steps": 500, "step_us": 1000, "n_metrics": 10, "n_blocks": 10}


def fake_cell(name: str, workload: str, params: dict[str, Any]) -> dict[str, Any]:
    """A fake adapter's cell, run by this interpreter."""
    return run_cell(f"{FAKE}:{name}", workload, params, timeout=120, python=sys.executable)


def test_a_stalling_log_shows_in_the_p99_and_the_slowdown() -> None:
    quiet = fake_cell("Memory", "loop_overhead", LOOP)
    stalling = fake_cell("StallingLog", "loop_overhead", LOOP)
    for result in (quiet, stalling):
        assert (result["outcome"], result["fidelity"]) == ("ok", "exact")
        assert result[S.LOG_P50_NS] <= result[S.LOG_P99_NS] <= result[S.LOG_MAX_NS]
        assert result[S.OVERHEAD_MIN_PCT] <= result[S.OVERHEAD_PCT] <= result[S.OVERHEAD_MAX_PCT]
    # one call in 20 sleeps 5 ms: the median does not see it, the 99th percentile must
    assert stalling[S.LOG_P99_NS] >= 5e6 > stalling[S.LOG_P50_NS]
    assert quiet[S.LOG_P99_NS] < 5e6
    # 25 stalls of 5 ms on a loop of 0.5 s of work: about 25 % slower than the same loop
    # untracked, measured in the same process
    assert stalling[S.OVERHEAD_PCT] > 10 + quiet[S.OVERHEAD_PCT]


def test_background_work_is_stolen_cpu_the_calls_do_not_show() -> None:
    quiet = fake_cell("Memory", "loop_overhead", LOOP)
    burning = fake_cell("BackgroundBurner", "loop_overhead", LOOP)
    assert burning["outcome"] == "ok"
    # a process spinning for the whole loop of about 1 s takes a good share of a core
    assert burning[S.STOLEN_CPU_NS] > 0.1e9
    assert quiet[S.STOLEN_CPU_NS] < 0.05e9
    assert burning[S.LOG_P50_NS] < 1e6  # each call itself stays cheap


def test_the_work_per_step_is_calibrated_cpu_work() -> None:
    spins = calibrate(1000)
    assert spins > 0 and work(3) == 0 + 1 + 4


def test_long_run_memory_growth_and_its_series() -> None:
    n_steps = 10_000
    steady = fake_cell("Memory", "long_run", {"n_steps": n_steps})
    leaky = fake_cell("Leaky", "long_run", {"n_steps": n_steps})
    for result in (steady, leaky):
        assert (result["outcome"], result["fidelity"]) == ("ok", "exact")
        series = result[S.RSS_SERIES]
        assert 2 <= len(series) <= S.RSS_POINTS
        assert series[0][0] == 0 and series[-1][0] == n_steps
        assert [step for step, _ in series] == sorted(step for step, _ in series)
        assert result[S.RSS_START_BYTES] > 0
    # 4 KiB kept per value: 40 MB more at the end than at the start
    grown = leaky[S.RSS_END_BYTES] - leaky[S.RSS_START_BYTES]
    assert grown > 30e6
    assert grown > 3 * (steady[S.RSS_END_BYTES] - steady[S.RSS_START_BYTES])
    assert leaky[S.RSS_SERIES][-1][1] - leaky[S.RSS_SERIES][0][1] > 30e6
