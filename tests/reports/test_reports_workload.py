"""A spec suite's report opens with what the workload costs; suites of one machine and
commit combine into one table, suites of different commits are refused."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from reports import analysis, render, workload
from results import schema as S
from results.cells import load
from results.errors import UsageError
from scenarios import envs, runner
from scenarios.cli import main
from tests.scenarios.test_runner import FakeCells, options

TINY_JOB = {"training_loop": [{"epochs": 2, "steps_per_epoch": 10, "n_weights": 100}]}


@pytest.mark.slow
def test_a_spec_suite_opens_with_its_cost(tmp_path: Path) -> None:
    """The reference tracker and the sqlite3 floor really run a tiny job three times each,
    at 50 runs a day: the tracker ranked, the floor under it as the limit."""
    for name in ("tracker", "sqlite"):
        envs.ensure(name)
    db = tmp_path / "r.db"
    opts = runner.Options(frameworks=["tracker", "sqlite"], spec=TINY_JOB, repeat=3,
                          runs_per_day=50, db=f"sqlite:///{db}", command="pytest",
                          seed=1)  # fmt: skip
    assert runner.run_suite(opts, stream=io.StringIO()).outcomes == {S.OK: 6}
    (section,) = analysis.sections(load(os.fspath(db)))
    assert workload.is_spec(section) and workload.runs_per_day(section) == 50
    cost, floor = workload.costs(section)
    assert floor.row.role == S.FLOOR and floor.rank is None
    assert render.workload_cells(floor, 50)[1] == "floor (the limit)"
    row = cost.row
    assert row.framework == "tracker" and cost.rank == 1 and cost.runs == 1
    assert row.summary is not None and cost.seconds_per_run == row.summary.median / 1e9
    assert cost.disk_per_run and cost.disk_per_run > 0 and cost.peak_rss and cost.peak_rss > 0
    cells = render.workload_cells(cost, 50)
    # and how many of the ok cells ran under load, if any did (this machine is shared)
    assert cells[1] == "1" and cells[7] == "exact" and cells[8].startswith("3 / 3")
    assert (cells[8] == "3 / 3") == (not row.loaded)
    per_run, per_day = (float(c.split()[0]) for c in cells[3:5])
    assert per_day == pytest.approx(50 * per_run, rel=0.02)  # both shown to 3 digits
    report = render.build(load(os.fspath(db)), [section], tmp_path / "out", "pytest")
    md = report.markdown.read_text("utf-8")
    # the verdict and the overview matrix first, then the cost, then the evidence
    assert md.index("| framework | geo. mean") < md.index("### Your workload")
    assert md.index("### Your workload") < md.index("### training_loop")
    assert "at the spec's 50 runs a day" in md
    assert "Your workload" in report.html.read_text("utf-8")


def test_a_grid_suite_has_no_workload_table(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    runner.run_suite(options(db, scenarios=["startup"]), stream=io.StringIO(),
                     run_cell=FakeCells())  # fmt: skip
    (section,) = analysis.sections(load(os.fspath(db)))
    assert not workload.is_spec(section)


def _two_suites(db: Path) -> list[str]:
    ids = []
    for seed in (1, 2):
        opts = options(db, scenarios=["startup"], repeat=2, seed=seed)
        ids.append(runner.run_suite(opts, stream=io.StringIO(), run_cell=FakeCells()).suite_id)
    return ids


def test_suites_of_one_commit_combine_into_one_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "r.db"
    first, second = _two_suites(db)
    (section,) = analysis.sections(load(os.fspath(db)), [first, second], combine=True)
    assert section.suite_id == f"{first}+{second}"
    (row,) = analysis.rows(section, "startup")
    assert row.n == 4 and row.n_ok == 4
    out = tmp_path / "out"
    argv = ["report", "--db", os.fspath(db), "--suite", first, "--suite", second, "--combine",
            "--out", os.fspath(out)]  # fmt: skip
    assert main(argv) == 0
    assert f"suite {first}+{second} on" in capsys.readouterr().out
    assert main(["report", "--db", os.fspath(db), "--suite", first, "--combine"]) == 2
    assert "--combine needs at least two suites" in capsys.readouterr().err


def test_suites_of_different_commits_do_not_combine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "r.db"
    real = runner.machine_info
    commits = iter(["aaaa", "bbbb"])

    def other_commit() -> dict[str, Any]:
        return {**real(), S.COMMIT: next(commits), S.DIRTY: False}

    monkeypatch.setattr(runner, "machine_info", other_commit)
    first, second = _two_suites(db)
    with pytest.raises(UsageError, match=r"ran different commits .* \(aaaa, bbbb\)"):
        analysis.sections(load(os.fspath(db)), [first, second], combine=True)
