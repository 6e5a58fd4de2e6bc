"""The crash scenario's plumbing: a writer killed by plan, its counts, what a new process
reads, with fake adapters (the real frameworks: tests/adapters)."""

from __future__ import annotations

import sys
from typing import Any

from results import schema as S
from scenarios.cell import run_cell
from scenarios.plan import Cell
from scenarios.runner import cell_seed
from scenarios.workloads.crash import kill_point

FAKE = "tests.scenarios.fake_adapters"
PARAMS = {"n_values": 1000, "flush_every": 100}


def crash_cell(name: str, seed: int = 7) -> dict[str, Any]:
    """A fake adapter's crash cell, run by this interpreter."""
    return run_cell(f"{FAKE}:{name}", "crash", PARAMS, timeout=60, python=sys.executable, seed=seed)


def test_what_was_flushed_survives_and_what_was_not_is_lost() -> None:
    result = crash_cell("Memory")  # its flush() pickles what it holds; nothing else is saved
    assert (result["outcome"], result["fidelity"]) == ("ok", "exact"), result["reason"]
    logged = kill_point(PARAMS, 7)
    assert result[S.LOGGED_VALUES] == logged
    assert result[S.FLUSHED_VALUES] == logged // 100 * 100
    assert result[S.SURVIVED_VALUES] == result[S.FLUSHED_VALUES] < logged  # the rest is lost
    assert result[S.STORE_OPENS] is True
    assert result["framework_version"] == "1.0"
    assert result["leftover_processes"] == 0


def test_a_flush_that_saves_nothing_is_wrong_data() -> None:
    result = crash_cell("FalseFlush")
    assert (result["outcome"], result["fidelity"]) == ("ok", "wrong_data")
    assert result[S.FLUSHED_VALUES] > 0 and result[S.SURVIVED_VALUES] == 0
    assert result["reason"].startswith(f"{result[S.FLUSHED_VALUES]} flushed values lost")


def test_a_store_that_does_not_open_after_the_kill() -> None:
    result = crash_cell("Fragile")
    assert result["outcome"] == "ok" and result[S.STORE_OPENS] is False
    assert result["fidelity"] == "wrong_data"
    assert "the store does not open: ValueError: the store is corrupt" in result["reason"]


def test_a_helper_saving_after_the_kill_is_given_the_time_to() -> None:
    result = crash_cell("HelperSaves")  # no flush: its helper saves once the writer is gone
    assert (result["outcome"], result["fidelity"]) == ("ok", "exact"), result["reason"]
    assert result[S.FLUSHED_VALUES] == 0
    assert result[S.SURVIVED_VALUES] == result[S.LOGGED_VALUES] > 0
    assert result["leftover_processes"] == 0


def test_the_kill_point_follows_the_cell_s_seed() -> None:
    points = {kill_point(PARAMS, seed) for seed in range(50)}
    assert len(points) > 40 and min(points) >= 1 and max(points) <= 999
    assert kill_point(PARAMS, 3) == kill_point(PARAMS, 3)
    cell = Cell("tracker", "crash", tuple(PARAMS.items()), 0, 0)
    again = Cell("tracker", "crash", tuple(PARAMS.items()), 0, 0)
    other = Cell("tracker", "crash", tuple(PARAMS.items()), 1, 0)
    assert cell_seed(5, cell) == cell_seed(5, again) != cell_seed(5, other)  # resumed alike
