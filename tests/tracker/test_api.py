"""The public API as the README shows it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tracker


def test_readme_tour(db: tracker.Database) -> None:
    exp = db.experiment("resnet-sweep")
    weights = np.arange(12, dtype=np.float32).reshape(3, 4)
    with exp.run(params={"lr": 0.1}, tags=["baseline"]) as run:
        run.log({"loss": 0.5, "acc": 0.9}, step=0)
        run.log({"loss": 0.25, "acc": 0.95}, step=1)
        run["weights"] = weights
        run["best_acc"] = 0.95
        run.flush()
    child = exp.run(params={"lr": 0.01}, links={"finetunes": run.id})
    child.log({"loss": 0.1})
    child.end()

    assert db.experiments() == ["resnet-sweep"]
    runs = exp.runs_df()
    assert runs["id"].tolist() == [run.id, child.id]
    assert runs["status"].tolist() == ["COMPLETED", "COMPLETED"]
    assert runs["params.lr"].tolist() == [0.1, 0.01]
    assert runs["fields.best_acc"].tolist()[0] == 0.95
    assert runs["fields.weights"].tolist()[0].startswith("<npy")  # named, loaded with objects
    assert exp.runs_df(objects=True)["fields.weights"][0].tolist() == weights.tolist()
    assert runs["tags"].tolist() == [["baseline"], []]
    assert runs["metrics.loss.last"].tolist() == [0.25, 0.1]
    assert runs["metrics.loss.min"].tolist() == [0.25, 0.1]
    assert runs["metrics.acc.max"].tolist()[0] == 0.95
    metrics = exp.metrics_df()
    assert metrics.columns.tolist() == ["run_id", "run_name", "name", "step", "value", "time"]
    assert metrics[metrics.run_id == run.id].drop(columns="time").values.tolist() == [
        [run.id, None, "acc", 0, 0.9],
        [run.id, None, "acc", 1, 0.95],
        [run.id, None, "loss", 0, 0.5],
        [run.id, None, "loss", 1, 0.25],
    ]
    assert str(metrics["time"].dtype) == "datetime64[ns, UTC]"
    assert [r.id for r in exp.runs(params={"lr": 0.1}, tags=["baseline"])] == [run.id]
    assert exp.metrics_df(runs=[child], names=["loss"])["value"].tolist() == [0.1]
    stored = exp.get_run(run.id)["weights"]
    assert stored.dtype == weights.dtype and np.array_equal(stored, weights)
    assert db.get_run(child.id).links == {"finetunes": [run.id]}
    assert db.get_run(child.id).metrics() == {"loss": [(0, 0.1)]}


def test_exception_marks_the_run_failed_and_keeps_its_data(db: tracker.Database) -> None:
    exp = db.experiment("e")
    with pytest.raises(ZeroDivisionError), exp.run() as run:
        run.log({"x": 1.0}, step=0)
        1 / 0  # noqa: B018
    fresh = db.get_run(run.id)
    assert fresh.status == "FAILED"
    assert fresh.metrics() == {"x": [(0, 1.0)]}


def test_closed_runs_refuse_writes(db: tracker.Database) -> None:
    with db.experiment("e").run() as run:
        pass
    with pytest.raises(tracker.TrackerError, match="closed"):
        run.log({"x": 1.0})
    with pytest.raises(tracker.TrackerError, match="closed"):
        run["x"] = 1


def test_bad_metric_values_are_refused_with_the_fix(db: tracker.Database) -> None:
    with db.experiment("e").run() as run:
        with pytest.raises(tracker.TrackerError, match=r"store other values as fields"):
            run.log({"ok": 1.0, "x": "text"}, step=0)
        with pytest.raises(tracker.TrackerError, match="no exact float64"):
            run.log({"x": 2**63 - 1})
        with pytest.raises(tracker.TrackerError, match="step must be an integer"):
            run.log({"x": 1.0}, step=1.5)  # type: ignore[arg-type]
        run.log({"ok": 2.0})
    assert db.get_run(run.id).metrics() == {"ok": [(0, 2.0)]}  # nothing of the failed calls


def test_links_to_missing_runs_are_refused(db: tracker.Database) -> None:
    with pytest.raises(tracker.TrackerError, match="no run with id"):
        db.experiment("e").run(links={"finetunes": 999_999})


def test_open_runs_are_saved_at_exit(tmp_path) -> None:
    path = tmp_path / "exit.db"
    code = (
        "import tracker\n"
        f"run = tracker.connect({str(path)!r}).experiment('e').run()\n"
        "run.log({'x': 1.0}, step=0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with tracker.connect(path) as db:
        (run,) = db.experiment("e").runs()
        assert run.status == "COMPLETED" and run.metrics() == {"x": [(0, 1.0)]}


def test_uncaught_exception_at_exit_marks_open_runs_failed(tmp_path) -> None:
    path = tmp_path / "exit.db"
    code = f"import tracker\nrun = tracker.connect({str(path)!r}).experiment('e').run()\n1/0\n"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 1
    with tracker.connect(path) as db:
        (run,) = db.experiment("e").runs()
        assert run.status == "FAILED"


def test_repr_names_the_database(tmp_path) -> None:
    with tracker.connect(tmp_path / "r.db") as db:
        assert "r.db" in repr(db)
        assert repr(db.experiment("x")) == f"<Experiment 'x' in {db.backend.url}>"
