"""A spec's repetitions are honoured, every skip says why, and `--resume` with a larger
budget runs what the budget skipped (fake adapters: the runner's plumbing)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

from reports import analysis
from results import schema as S
from results.cells import load
from scenarios import runner
from tests.scenarios.test_runner import FakeCells, ok_result, options, stored

SPEC = {"high_frequency": [{"n_values": 10}]}


def slow(fw: str, sc: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every cell's writer takes 700 s: past the quick grid's 600 s framework budget."""
    return ok_result(wall_s=700.0)


def test_a_spec_runs_every_repetition_it_asks_for(tmp_path: Path) -> None:
    fake = FakeCells(slow)
    opts = options(tmp_path / "r.db", spec=SPEC, scenarios=(), repeat=3)
    summary = runner.run_suite(opts, stream=io.StringIO(), run_cell=fake)
    assert summary.outcomes == {S.OK: 3} and len(fake.calls) == 3
    # the same cells from the grid: its budget stops the repetitions after the first
    grid = FakeCells(slow)
    opts = options(tmp_path / "g.db", scenarios=["high_frequency"], repeat=3,
                   overrides={"high_frequency": {"n_values": [10]}})  # fmt: skip
    assert runner.run_suite(opts, stream=io.StringIO(), run_cell=grid).outcomes == {
        S.OK: 1,
        S.SKIPPED: 2,
    }
    # a spec given a budget keeps it
    given = FakeCells(slow)
    opts = options(tmp_path / "b.db", spec=SPEC, scenarios=(), repeat=3, framework_budget=600)
    runner.run_suite(opts, stream=io.StringIO(), run_cell=given)
    assert len(given.calls) == 1


def test_a_skip_says_why_on_the_progress_line(tmp_path: Path) -> None:
    stream = io.StringIO()
    opts = options(tmp_path / "r.db", spec=SPEC, scenarios=(), repeat=2, framework_budget=1)
    runner.run_suite(opts, stream=stream, run_cell=FakeCells(slow))
    (line,) = [x for x in stream.getvalue().splitlines() if ": skipped" in x]
    assert "skipped: " in line and "of its 1 s budget: no more repetitions" in line, line


def test_resume_with_a_larger_budget_runs_what_the_budget_skipped(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    opts = options(db, spec=SPEC, scenarios=(), repeat=3, framework_budget=1, seed=4)
    first = runner.run_suite(opts, stream=io.StringIO(), run_cell=FakeCells(slow))
    assert first.outcomes == {S.OK: 1, S.SKIPPED: 2}
    # the same budget decides the same: skipped again, and said so
    again = runner.run_suite(opts._replace(resume=True), stream=io.StringIO(),
                             run_cell=FakeCells(slow))  # fmt: skip
    assert again.outcomes == {S.SKIPPED: 2} and again.already_stored == 1
    fake = FakeCells(slow)
    larger = opts._replace(resume=True, framework_budget=1e6)
    second = runner.run_suite(larger, stream=io.StringIO(), run_cell=fake)
    assert second.suite_id == first.suite_id and second.outcomes == {S.OK: 2}
    assert len(fake.calls) == 2
    # every decision stays stored; the report counts each cell once, as it was last decided
    assert sorted(c["fields"][S.OUTCOME] for c in stored(db)).count(S.SKIPPED) == 4
    (section,) = analysis.sections(load(os.fspath(db)))
    (row,) = analysis.rows(section, "high_frequency")
    assert row.n == 3 and row.n_ok == 3 and row.status() == S.OK
