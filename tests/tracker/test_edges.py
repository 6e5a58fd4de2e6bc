"""Edges decided and documented: NaN in SQL, steps, leaving on an exception, a locked file,
a value kind from a newer version."""

from __future__ import annotations

import math
import sqlite3
import warnings
from pathlib import Path

import pytest

import tracker
from tracker import backends


def test_the_sql_view_tells_nan_from_a_missing_value(db: tracker.Database) -> None:
    with db.experiment("e").run() as run:
        run.log({"nan": math.nan, "none": None, "one": 1.0}, step=0)
    rows = db.backend.read("SELECT name, value, is_nan FROM metric_values ORDER BY name")
    assert [(name, value, bool(nan)) for name, value, nan in rows] == [
        ("nan", None, True),
        ("none", None, False),
        ("one", 1.0, False),
    ]


def test_leaving_a_database_on_an_exception_marks_its_runs_failed(db_url: str) -> None:
    with pytest.raises(ZeroDivisionError), tracker.connect(db_url) as db:
        run = db.experiment("e").run()
        1 / 0  # noqa: B018
    with tracker.connect(db_url) as reader:
        assert reader.get_run(run.id).status == "FAILED"


def test_negative_and_repeated_steps_keep_every_value(db: tracker.Database) -> None:
    with db.experiment("e").run() as run:
        run.log({"x": 1.0}, step=-5)
        run.log({"x": 2.0}, step=3)
        run.log({"x": 3.0}, step=3)
        run.log({"x": 4.0})  # the previous step plus one
    series = db.get_run(run.id).metrics()["x"]
    assert series[0] == (-5, 1.0) and sorted(series[1:3]) == [(3, 2.0), (3, 3.0)]
    assert series[3] == (4, 4.0)


def test_a_writer_waiting_on_a_locked_file_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backends, "LOCK_WARNING_SECONDS", 0.2)
    monkeypatch.setattr(backends, "LOCK_PATIENCE_SECONDS", 3.0)
    path = tmp_path / "t.db"
    db = tracker.connect(path)
    run = db.experiment("e").run()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    run.log({"x": 1.0}, step=0)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(tracker.TrackerError, match="stayed locked"):
            run.flush()
    assert any("another process holds locked" in str(w.message) for w in seen)
    holder.execute("ROLLBACK")
    holder.close()
    run.end()  # what waited is written now
    assert db.get_run(run.id).metrics() == {"x": [(0, 1.0)]}
    db.close()


def test_a_field_of_a_kind_from_a_newer_version_is_named_not_dropped(db: tracker.Database) -> None:
    with db.experiment("e").run() as run:
        run["future"] = 1
        run["known"] = 2
    db.backend.write(
        lambda tx: tx.execute("UPDATE fields SET kind = 'hologram' WHERE name = 'future'")
    )
    with pytest.warns(tracker.TrackerWarning, match=r"'future' \(hologram\).*upgrade"):
        frame = db.experiment("e").runs_df()
    assert frame["fields.known"].tolist() == [2]
    with pytest.raises(tracker.TrackerError, match="cannot read"):
        db.experiment("e").runs_df(objects=True)
