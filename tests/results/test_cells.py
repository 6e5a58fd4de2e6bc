"""Reading results back: machines per cell, schema versions, odd values; the real tracker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tracker
from reports import analysis, export
from results import schema as S
from results.cells import load
from results.database import sqlite_path, to_url
from results.errors import UsageError, need


def _db(
    path: Path,
    suites: list[dict[str, Any]],
    cells: list[tuple[str, dict[str, Any], dict[str, Any]]],
) -> str:
    """A results database with these suite runs and (scenario, params, fields) cells."""
    db = tracker.connect(f"sqlite:///{path}")
    for params in suites:
        with db.experiment(S.SUITES_EXPERIMENT).run(params=params):
            pass
    for scenario, params, fields in cells:
        with db.experiment(scenario).run(params=params) as run:
            for key, value in fields.items():
                run[key] = value
    db.close()
    return str(path)


def _cell(
    sid: str, framework: str, rep: int, wall_ms: float, **extra: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    params = {
        S.SCHEMA_VERSION_PARAM: 1,
        S.SUITE_ID: sid,
        S.FRAMEWORK: framework,
        S.FRAMEWORK_VERSION: "1",
        S.REPETITION: rep,
        **extra,
    }
    return params, {S.OUTCOME: S.OK, S.FIDELITY: S.EXACT, S.WALL_NS: int(wall_ms * 1e6)}


def test_a_sharded_suite_needs_the_machine_on_each_cell(tmp_path: Path) -> None:
    suites = [{S.SUITE_ID: "s", S.MACHINE: "m1"}, {S.SUITE_ID: "s", S.MACHINE: "m2"}]
    url = _db(tmp_path / "a.db", suites, [("startup", *_cell("s", "tracker", 0, 5))])
    with pytest.raises(UsageError, match="ran on several machines"):
        load(url)
    # with the machine recorded per cell, each machine is its own section
    cells = [
        ("startup", *_cell("s", "tracker", 0, 5, machine="m1")),
        ("startup", *_cell("s", "tracker", 0, 50, machine="m2")),
    ]
    res = load(_db(tmp_path / "b.db", suites, cells))
    found = analysis.sections(res, ["s"])
    assert [(s.suite_id, s.machine, len(s.cells)) for s in found] == [
        ("s", "m1", 1),
        ("s", "m2", 1),
    ]
    assert [r.machine for r in found[0].runs] == ["m1"]


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    params, fields = _cell("s", "tracker", 0, 5)
    params[S.SCHEMA_VERSION_PARAM] = S.SCHEMA_VERSION + 1
    url = _db(tmp_path / "a.db", [{S.SUITE_ID: "s", S.MACHINE: "m"}], [("x", params, fields)])
    with pytest.raises(UsageError, match=f"schema version {S.SCHEMA_VERSION + 1}"):
        load(url)


def test_a_database_without_suites_is_refused(tmp_path: Path) -> None:
    url = _db(tmp_path / "a.db", [], [("startup", *_cell("s", "tracker", 0, 5))])
    with pytest.raises(UsageError, match="no trackbench results"):
        load(url)


def test_no_results_yet(tmp_path: Path) -> None:
    url = _db(tmp_path / "a.db", [{S.SUITE_ID: "s", S.MACHINE: "m"}], [])
    res = load(url)
    with pytest.raises(UsageError, match="no results yet"):
        analysis.sections(res)


def test_missing_outcome_and_mixed_parameter_types(tmp_path: Path) -> None:
    p1, f1 = _cell("s", "tracker", 0, 5, size=10)
    p2, f2 = _cell("s", "other", 0, 7, size="large")
    # a cell whose outcome never got written (the manager died while writing it) is shown,
    # not dropped, as the harness's failure, never the framework's
    del f2[S.OUTCOME]
    url = _db(
        tmp_path / "a.db", [{S.SUITE_ID: "s", S.MACHINE: "m"}], [("a", p1, f1), ("b", p2, f2)]
    )
    res = load(url)
    (section,) = analysis.sections(res)
    (row_b,) = analysis.rows(section, "b")
    assert row_b.summary is None and row_b.status() == "skipped 1/1"
    (failure,) = analysis.failures(section)
    assert (failure.framework, failure.outcome) == ("other", S.SKIPPED)
    assert failure.reason.startswith("harness failure: interrupted, no outcome stored")
    assert "--resume runs it again" in failure.reason
    frame = export.cells_frame(res)
    assert list(frame["size"]) == ["10", "large"]  # one type per column, as written
    matrix = analysis.fidelity_matrix(section)
    assert matrix[("other", "b")] == {S.SKIPPED: 1}


def test_wrong_data_is_listed_as_a_failure(tmp_path: Path) -> None:
    params, fields = _cell("s", "tracker", 0, 5)
    fields[S.FIDELITY] = S.WRONG_DATA
    fields[S.REASON] = "NaN read back as None"
    url = _db(tmp_path / "a.db", [{S.SUITE_ID: "s", S.MACHINE: "m"}], [("a", params, fields)])
    (section,) = analysis.sections(load(url))
    (failure,) = analysis.failures(section)
    assert (failure.outcome, failure.reason) == (S.WRONG_DATA, "NaN read back as None")
    (row,) = analysis.rows(section, "a")
    assert row.fidelity() == S.WRONG_DATA


def test_latest_suite_per_machine(tmp_path: Path) -> None:
    suites = [
        {S.SUITE_ID: sid, S.MACHINE: m}
        for sid, m in [("old", "m1"), ("other", "m2"), ("new", "m1")]
    ]
    cells = [("a", *_cell(sid, "tracker", 0, 5)) for sid in ("old", "other", "new")]
    res = load(_db(tmp_path / "a.db", suites, cells))
    assert res.suite_ids() == ["old", "other", "new"]
    assert [(s.suite_id, s.machine) for s in analysis.sections(res)] == [
        ("other", "m2"),
        ("new", "m1"),
    ]


def test_paths_become_sqlite_urls(tmp_path: Path) -> None:
    assert to_url("x.db").startswith("sqlite:////")
    assert to_url("postgresql://u@127.0.0.1/db") == "postgresql://u@127.0.0.1/db"
    assert sqlite_path("sqlite:////tmp/a.db") == "/tmp/a.db"


def test_a_missing_extra_gives_the_install_hint() -> None:
    with pytest.raises(UsageError, match=r"pip install 'trackbench\[report\]'"):
        need("surely_not_an_installed_module", "report")
