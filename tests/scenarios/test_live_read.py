"""readback's live reader: a second process reading the store while the writer is paused
half way, with fake adapters (the harness's plumbing)."""

from __future__ import annotations

import sys
from typing import Any

from results import schema as S
from scenarios.cell import run_cell

FAKE = "tests.scenarios.fake_adapters"
PARAMS = {"n_runs": 2, "n_values": 10}  # the writer pauses after 10 values


def readback_cell(name: str) -> dict[str, Any]:
    """A fake adapter's readback cell, run by this interpreter."""
    return run_cell(f"{FAKE}:{name}", "readback", PARAMS, timeout=60, python=sys.executable)


def test_the_live_reader_sees_what_was_saved_and_the_lag_is_the_rest() -> None:
    batched = readback_cell("Batched")  # saved at 7 values: the live reader sees 7 of 10
    assert (batched["outcome"], batched["fidelity"]) == ("ok", "exact"), batched["reason"]
    assert batched[S.LIVE_READ] == "ok"
    assert batched[S.LIVE_LAG_VALUES] == 3


def test_a_store_a_reader_cannot_open_while_in_use_is_unsupported_with_why() -> None:
    memory = readback_cell("Memory")  # nothing is saved before finish()
    assert (memory["outcome"], memory["fidelity"]) == ("ok", "exact")  # the cell is unharmed
    assert memory[S.LIVE_READ].startswith("unsupported: FileNotFoundError")
    assert memory[S.LIVE_LAG_VALUES] is None


def test_the_writer_s_pause_for_the_live_reader_is_not_logging_time() -> None:
    slow = readback_cell("SlowReader")  # its reader takes a second
    assert slow["outcome"] == "ok"
    assert slow[S.PROCESS_NS] >= 1.0e9  # the writer waited for the live reader...
    assert slow[S.LOG_NS] < slow[S.PROCESS_NS] - 1.0e9  # ...and that is not in log_ns
