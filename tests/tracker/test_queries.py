"""Finding runs and values: filters, the overview columns, db.query and the SQL views."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tracker
from tracker import schema


@pytest.fixture
def sweep(db: tracker.Database) -> tracker.Experiment:
    """Six ended runs: lr 0.1 or 0.01 (run 5 has lr=1, an int), tags, two metrics."""
    exp = db.experiment("sweep")
    for i in range(6):
        lr: Any = 1 if i == 5 else (0.1 if i % 2 else 0.01)
        tags = ["even"] if i % 2 == 0 else ["odd"]
        with exp.run(
            f"r{i}", params={"lr": lr, "opt": "adam" if i < 3 else "sgd"}, tags=tags
        ) as run:
            for step in range(3):
                run.log({"loss": float(10 * i + step), "acc": 0.5}, step=step)
    failed = exp.run("bad", params={"lr": 0.1})
    failed.end("FAILED")
    return exp


def names(runs: list[tracker.Run]) -> list[str | None]:
    return [run.name for run in runs]


def test_runs_are_filtered_by_status_tags_and_params(sweep: tracker.Experiment) -> None:
    assert names(sweep.runs(params={"lr": 0.1})) == ["r1", "r3", "bad"]
    assert names(sweep.runs(params={"lr": 0.1}, status="COMPLETED")) == ["r1", "r3"]
    assert names(sweep.runs(status=["FAILED"])) == ["bad"]
    assert names(sweep.runs(tags=["even"], params={"opt": "sgd"})) == ["r4"]
    assert names(sweep.runs(params={"lr": 1.0})) == ["r5"]  # numbers compare as numbers
    assert names(sweep.runs(params={"lr": 0.5})) == []
    assert names(sweep.runs(tags=["even", "odd"])) == []
    frame = sweep.runs_df(params={"opt": "adam"}, tags=["odd"])
    assert frame["name"].tolist() == ["r1"]


def test_a_running_run_whose_writer_is_gone_is_found_as_lost(db: tracker.Database) -> None:
    exp = db.experiment("e")
    with exp.run("done"):
        pass
    exp.run("alive")
    # a run some other process left RUNNING, on this host, with a pid that cannot exist
    lost = exp.run("gone")
    db.backend.write(
        lambda tx: tx.execute("UPDATE runs SET writer_pid = ? WHERE id = ?", (2**22 + 7, lost.id))
    )
    from tracker import opened

    opened.remove(lost)
    assert names(exp.runs(status="LOST")) == ["gone"]
    assert names(exp.runs(status="RUNNING")) == ["alive"]
    assert exp.runs_df(status=["LOST", "COMPLETED"])["name"].tolist() == ["done", "gone"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda e: e.runs(status="DONE"), "unknown status 'DONE'"),
        (lambda e: e.runs(tags="even"), "tags takes a list of strings"),
        (lambda e: e.runs(params={1: 2}), "params filters are name -> value"),
        (lambda e: e.metrics_df(runs=["r1"]), "Run objects or integer ids"),
        (lambda e: e.metrics_df(names="loss"), "names takes a list of strings"),
    ],
)
def test_bad_filters_are_one_line_errors(
    sweep: tracker.Experiment, call: Any, message: str
) -> None:
    with pytest.raises(tracker.TrackerError, match=message) as caught:
        call(sweep)
    assert "\n" not in str(caught.value)


def test_listing_filtered_runs_reads_only_what_matches(
    sweep: tracker.Experiment, monkeypatch: pytest.MonkeyPatch
) -> None:
    fetched: list[int] = []
    read = sweep.db.backend.read

    def counting(sql: str, params: Any = ()) -> list[Any]:
        rows = read(sql, params)
        fetched.append(len(rows))
        return rows

    monkeypatch.setattr(sweep.db.backend, "read", counting)
    assert names(sweep.runs(params={"opt": "sgd"}, tags=["odd"])) == ["r3", "r5"]
    assert sum(fetched) == 2


def test_metrics_df_of_some_runs_and_names_with_run_names_and_times(
    sweep: tracker.Experiment,
) -> None:
    chosen = sweep.runs(params={"opt": "sgd"})
    frame = sweep.metrics_df(runs=[chosen[0], chosen[1].id], names=["loss"])
    assert frame.columns.tolist() == ["run_id", "run_name", "name", "step", "value", "time"]
    assert frame["run_name"].unique().tolist() == ["r3", "r4"]
    assert frame["value"].tolist() == [30.0, 31.0, 32.0, 40.0, 41.0, 42.0]
    now = pd.Timestamp.now(tz="UTC")
    assert ((now - frame["time"]) < pd.Timedelta(minutes=5)).all()
    assert sweep.metrics_df(runs=[]).empty
    assert sweep.metrics_df(runs=[chosen[0]], names=["loss", "acc"])["name"].nunique() == 2


def test_an_unknown_name_in_a_filter_is_an_error_not_an_empty_answer(
    sweep: tracker.Experiment,
) -> None:
    with pytest.raises(tracker.TrackerError, match=r"has a metric named 'los'; its metrics:"):
        sweep.metrics_df(names=["los"])
    with pytest.raises(tracker.TrackerError, match=r"has a param named 'learning_rate'"):
        sweep.runs(params={"learning_rate": 0.1})
    with pytest.raises(tracker.TrackerError, match=r"its params: 'lr', 'opt'"):
        sweep.runs_df(params={"learning_rate": 0.1})
    assert sweep.runs(params={"lr": 0.5}) == []  # a known name: no run has that value


def test_the_overview_has_each_metrics_last_min_and_max(db: tracker.Database) -> None:
    exp = db.experiment("e")
    with exp.run("a") as run:
        for step, value in enumerate([3.0, math.nan, 1.0, 2.0, None, 5.0]):
            run.log({"loss": value}, step=step)
        run.log({"loss": math.nan}, step=10)  # the last value is NaN
        run["weights"] = np.ones(3)
    with exp.run("b") as other:
        other.log({"acc": 0.5}, step=0)
    frame = exp.runs_df()
    assert math.isnan(frame["metrics.loss.last"][0])
    assert frame["metrics.loss.min"][0] == 1.0 and frame["metrics.loss.max"][0] == 5.0
    assert frame["metrics.loss.last"].isna().tolist() == [False, True]  # NaN is not NA
    assert pd.isna(frame["metrics.loss.min"][1]) and frame["metrics.acc.last"][1] == 0.5
    assert frame["fields.weights"][0] == "<npy: runs_df(objects=True) loads it>"
    assert exp.runs_df(objects=True)["fields.weights"][0].tolist() == [1.0, 1.0, 1.0]


def test_the_overview_names_arrays_without_reading_their_bytes(
    db: tracker.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    exp = db.experiment("e")
    with exp.run() as run:
        run["weights"] = np.zeros(10**6)  # 8 MB, stored in the database row
        run["lr"] = 0.1
    largest: list[int] = []
    read = db.backend.read

    def measuring(sql: str, params: Any = ()) -> list[Any]:
        rows = read(sql, params)
        largest.extend(len(v) for row in rows for v in row if isinstance(v, bytes | memoryview))
        return rows

    monkeypatch.setattr(db.backend, "read", measuring)
    frame = exp.runs_df()
    assert frame["fields.lr"].tolist() == [0.1] and "fields.weights" in frame
    assert max(largest, default=0) < 1000


def test_query_returns_a_frame_and_never_writes(sweep: tracker.Experiment) -> None:
    db = sweep.db
    frame = db.query(
        "SELECT run, number, text FROM param_values WHERE name = ? AND number > ? ORDER BY run",
        ("lr", 0.05),
    )
    assert frame.to_dict("list") == {
        "run": ["bad", "r1", "r3", "r5"],
        "number": [0.1, 0.1, 0.1, 1.0],
        "text": [None] * 4,
    }
    assert (
        db.query("SELECT text FROM param_values WHERE name = 'opt' AND text LIKE 's%'")[
            "text"
        ].tolist()
        == ["sgd"] * 3
    )
    before = db.query("SELECT count(*) AS n FROM runs")["n"][0]
    for statement in ("DELETE FROM runs", "UPDATE runs SET name = 'x'", "DROP TABLE tags"):
        with pytest.raises(tracker.TrackerError, match="query failed") as caught:
            db.query(statement)
        assert "\n" not in str(caught.value)
    with pytest.raises(tracker.TrackerError, match="nope"):
        db.query("SELECT nope FROM runs")
    assert db.query("SELECT count(*) AS n FROM runs")["n"][0] == before
    assert len(sweep.runs()) == before  # and the connection still writes afterwards
    with sweep.run("after"):
        pass


def test_views_show_times_as_sql_times(db: tracker.Database) -> None:
    with db.experiment("e").run("a") as run:
        run.log({"x": 1.0}, step=0)
    overview = db.query("SELECT created_time, ended_time FROM run_overview")
    logged = db.query("SELECT logged_time FROM metric_values")
    for value in (overview["created_time"][0], overview["ended_time"][0], logged["logged_time"][0]):
        stamp = pd.Timestamp(value)
        stamp = stamp if stamp.tzinfo else stamp.tz_localize("UTC")
        assert abs(pd.Timestamp.now(tz="UTC") - stamp) < pd.Timedelta(minutes=5)


def test_a_schema_2_file_reads_without_writing_and_upgrades_at_its_first_write(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    with tracker.connect(path).experiment("e").run("a") as run:
        run.log({"x": 1.0}, step=0)
    conn = sqlite3.connect(path)  # make it what a schema 2 tracker wrote
    conn.executescript(
        "DROP VIEW param_values; DROP VIEW metric_values; DROP INDEX params_by_value;"
        " DROP INDEX tags_by_tag; ALTER TABLE metrics DROP COLUMN logged_at;"
        " UPDATE tracker_meta SET value = '2' WHERE key = 'schema_version'"
    )
    conn.close()
    before = path.read_bytes()
    old = tracker.connect(path).experiment("e")
    frame = old.metrics_df()
    assert frame["value"].tolist() == [1.0] and frame["time"].isna().all()
    assert old.runs_df()["metrics.x.last"].tolist() == [1.0]
    assert path.read_bytes() == before
    with old.run("b") as run:
        run.log({"x": 2.0}, step=0)
    version = old.db.query("SELECT value FROM tracker_meta WHERE key = 'schema_version'")
    assert version["value"][0] == str(schema.SCHEMA_VERSION)
    assert old.metrics_df()["time"].isna().tolist() == [True, False]
