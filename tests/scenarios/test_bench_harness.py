"""`trackbench bench-harness --stability`: a failed cell is counted and named, never dropped.

The cells are stood in for (the plumbing of the report, not a measurement of anything).
"""

from __future__ import annotations

import sys
from types import SimpleNamespace
from typing import Any

import pytest

from results.errors import UsageError
from scenarios import cell, cmd_run, envs
from scenarios.cli import main


def _cells(monkeypatch: pytest.MonkeyPatch, outcomes: list[str]) -> None:
    """run_cell answers these outcomes in turn, 10 ms each when ok."""
    answers = iter(outcomes)

    def run_cell(*args: Any, **kw: Any) -> dict[str, Any]:
        outcome = next(answers)
        reason = "" if outcome == "ok" else f"the {outcome} reason"
        return {"outcome": outcome, "reason": reason, "tracking_ns": 10_000_000}

    monkeypatch.setattr(cell, "run_cell", run_cell)
    monkeypatch.setattr(envs, "ensure", lambda name: SimpleNamespace(python=sys.executable))


def test_failed_stability_cells_are_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _cells(monkeypatch, ["ok", "crash", "ok", "timeout", "crash", "ok"])
    cost = {"null_tracking_s": 0.001, "null_process_s": 0.02, "python_pass_s": 0.015,
            "harness_cost_s": 0.005, "n": 1.0}  # fmt: skip
    monkeypatch.setattr(cmd_run, "harness_cost", lambda n: cost)
    assert main(["bench-harness", "-n", "1", "--stability", "6"]) == 0
    out = capsys.readouterr().out
    assert "(n=3; target <= 10%)" in out
    assert (
        "tracker startup: 3 failed: crash: the crash reason (x2); "
        "timeout: the timeout reason (x1) of 6 cells, left out of the interval"
    ) in out


def test_too_few_ok_stability_cells_name_the_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    _cells(monkeypatch, ["crash", "ok", "crash"])
    with pytest.raises(UsageError, match=r"1 ok of 3; 2 failed: crash: the crash reason \(x2\)"):
        cmd_run.stability(3)


def test_no_failure_line_when_every_cell_is_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    _cells(monkeypatch, ["ok"] * 4)
    found = cmd_run.stability(4)
    assert found["n"] == 4 and found["failed"] == {}
