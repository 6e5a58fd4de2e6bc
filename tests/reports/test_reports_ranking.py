"""Ranking what the runner measured: wrong data and floors are shown, never the fastest.

Fake adapters (the runner's plumbing, not evidence about any framework) through real
workers and the real results database: the two fastest are a floor and one whose data
comes back wrong (float32 values declared exact); the slower honest one is the fastest
ranked.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

from reports import analysis
from results.cells import load
from scenarios import runner

FAKE = "tests.scenarios.fake_adapters"


def test_wrong_data_and_floors_are_never_ranked_fastest(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    honest, wrong, floor = f"{FAKE}:SlowMemory", f"{FAKE}:Float32Undeclared", f"{FAKE}:FakeFloor"
    options = runner.Options(
        frameworks=[honest, wrong, floor], scenarios=["high_frequency"], repeat=3,
        overrides={"high_frequency": {"n_values": [10]}}, db=f"sqlite:///{db}",
        python=sys.executable, command="pytest",
    )  # fmt: skip
    summary = runner.run_suite(options, stream=io.StringIO())
    assert summary.outcomes == {"ok": 9}
    (section,) = analysis.sections(load(os.fspath(db)))
    rows = {r.framework: r for r in analysis.rows(section, "high_frequency")}
    assert rows[honest].summary and rows[wrong].summary and rows[floor].summary
    assert rows[wrong].summary.median < rows[honest].summary.median  # faster, and wrong
    assert rows[floor].summary.median < rows[honest].summary.median  # faster: the limit
    assert rows[wrong].fidelities == {"wrong_data": 3} and rows[wrong].unranked == "wrong data"
    assert analysis.ratio_text(rows[wrong], "fastest") == "not ranked (wrong data)"
    assert analysis.ratio_text(rows[floor], "fastest") == "floor (the limit)"
    assert [r.framework for r in rows.values() if r.is_fastest] == [honest]
    assert rows[floor].durability == "process"


def test_a_reader_that_is_not_the_framework_s_own_is_named(tmp_path: Path) -> None:
    from reports import render

    db = tmp_path / "r.db"
    options = runner.Options(
        frameworks=[f"{FAKE}:Memory", f"{FAKE}:ParsedMemory"], scenarios=["readback"],
        repeat=1, db=f"sqlite:///{db}", python=sys.executable, command="pytest",
    )  # fmt: skip
    assert runner.run_suite(options, stream=io.StringIO()).outcomes == {"ok": 2}
    (section,) = analysis.sections(load(os.fspath(db)))
    text = render.headline_text(section, "readback")
    assert text.startswith("Seconds are read_ns")
    assert text.endswith(f"Not read by the framework's own reader: {FAKE}:ParsedMemory: "
                         "the test's unpickler.")  # fmt: skip


def test_a_historical_baseline_is_marked_beside_its_rows(tmp_path: Path) -> None:
    from reports import render

    db = tmp_path / "r.db"
    current, retired = f"{FAKE}:Memory", f"{FAKE}:Retired"
    options = runner.Options(
        frameworks=[current, retired], scenarios=["high_frequency"], repeat=1,
        overrides={"high_frequency": {"n_values": [10]}}, db=f"sqlite:///{db}",
        python=sys.executable, command="pytest",
    )  # fmt: skip
    assert runner.run_suite(options, stream=io.StringIO()).outcomes == {"ok": 2}
    (section,) = analysis.sections(load(os.fspath(db)))
    cells = {r.framework: render.table_cells(r) for r in analysis.rows(section, "high_frequency")}
    assert cells[retired][1] == f"{retired} (historical)"
    assert cells[current][1] == current
    text = render.headline_text(section, "high_frequency")
    assert text.endswith(
        f"Historical baselines, marked so in the table: {retired}: its service closed."
    )
