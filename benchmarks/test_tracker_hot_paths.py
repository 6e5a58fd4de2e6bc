"""The reference tracker's hot paths beside the same work done raw, in one run.

    nox -s bench

Ratios of medians are printed at the end (see conftest.py). Each comparison uses the same
database file layout: the tracker's own schema, pragmas and SQL. Where the two sides must
alternate round by round (whole processes, log() latency) one test measures both and reports.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import statistics
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tracker
from benchmarks.conftest import RATIOS, report
from tracker import schema
from tracker.run import UPSERT_FIELD

_counter = itertools.count()


def fresh_path(tmp_path: Path) -> Path:
    return tmp_path / f"bench-{next(_counter)}.db"


def raw_connection(path: Path) -> sqlite3.Connection:
    """A plain sqlite3 connection with the tracker's pragmas and tables."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    for statement in schema.statements("sqlite"):
        conn.execute(statement)
    conn.execute("INSERT INTO experiments (id, name, created_at) VALUES (1, 'e', 0)")
    conn.execute("INSERT INTO runs (id, experiment_id, status, created_at) VALUES (1, 1, 'R', 0)")
    return conn


def tracker_run(path: Path) -> tracker.Run:
    db = tracker.connect(path, flush_every_rows=10**9, flush_every_seconds=1e9)
    return db.experiment("e").run()


def test_log_one_call(benchmark: Any, tmp_path: Path) -> None:
    """One run.log() of two values, including its share of periodic flushes."""
    run = tracker_run(fresh_path(tmp_path))
    run.db.flush_every_rows = 100_000
    benchmark(run.log, {"loss": 0.5, "acc": 0.9})
    run.end()


RAW_INSERT = "INSERT INTO metrics (run_id, name, step, value, logged_at) VALUES (?, ?, ?, ?, ?)"


def _rows(n: int) -> list[tuple[Any, ...]]:
    return [(1, "loss", step, 1.0 / (step + 1), 1.7e9) for step in range(n)]


@pytest.mark.parametrize("n", [10**4, 10**6])
def test_flush_tracker(benchmark: Any, tmp_path: Path, n: int) -> None:
    """run.flush() of n buffered values."""
    RATIOS.add((f"test_flush_tracker[{n}]", f"test_flush_raw_executemany[{n}]", 1.5))

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        run = tracker_run(fresh_path(tmp_path))
        for step in range(n):
            run.log({"loss": 1.0 / (step + 1)}, step=step)
        return (run,), {}

    benchmark.pedantic(lambda run: run.flush(), setup=setup, rounds=10 if n > 10**5 else 30)


@pytest.mark.parametrize("n", [10**4, 10**6])
def test_flush_raw_executemany(benchmark: Any, tmp_path: Path, n: int) -> None:
    """The floor: one transaction of executemany of the same rows into the same table."""

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        return (raw_connection(fresh_path(tmp_path)), _rows(n)), {}

    def insert(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(RAW_INSERT, rows)
        conn.execute("COMMIT")

    benchmark.pedantic(insert, setup=setup, rounds=10 if n > 10**5 else 30)


ARRAY = np.random.default_rng(0).standard_normal(10**6)


def test_array_store_tracker(benchmark: Any, tmp_path: Path) -> None:
    """Store a 10^6 float64 array as a field and make it durable."""
    RATIOS.add(("test_array_store_tracker", "test_array_store_raw_blob", 1.5))
    RATIOS.add(("test_array_store_tracker", "test_array_store_numpy_save", None))

    def store(run: tracker.Run) -> None:
        run["weights"] = ARRAY
        run.flush()

    benchmark.pedantic(store, setup=lambda: ((tracker_run(fresh_path(tmp_path)),), {}), rounds=30)


def test_array_store_raw_blob(benchmark: Any, tmp_path: Path) -> None:
    """The floor: the same bytes as one BLOB into the same table, same pragmas."""

    def store(conn: sqlite3.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(UPSERT_FIELD, (1, "weights", "npy", None, None, None, ARRAY.tobytes(), 0))
        conn.execute("COMMIT")

    benchmark.pedantic(
        store, setup=lambda: ((raw_connection(fresh_path(tmp_path)),), {}), rounds=30
    )


def test_array_store_numpy_save(benchmark: Any, tmp_path: Path) -> None:
    """For scale: numpy.save of the same array to a local file."""
    benchmark.pedantic(
        lambda path: np.save(path, ARRAY),
        setup=lambda: ((fresh_path(tmp_path).with_suffix(".npy"),), {}),
        rounds=30,
    )


def test_array_load_tracker(benchmark: Any, tmp_path: Path) -> None:
    """Load the stored 10^6 float64 array back, with its dtype and shape."""
    RATIOS.add(("test_array_load_tracker", "test_array_load_raw_blob", None))
    run = tracker_run(fresh_path(tmp_path))
    run["weights"] = ARRAY
    run.end()
    loaded = benchmark(lambda: run.db.get_run(run.id)["weights"])
    assert np.array_equal(loaded, ARRAY)


def test_array_load_raw_blob(benchmark: Any, tmp_path: Path) -> None:
    """The floor: select the BLOB and copy it into a new array."""
    conn = raw_connection(fresh_path(tmp_path))
    conn.execute(UPSERT_FIELD, (1, "weights", "npy", None, None, None, ARRAY.tobytes(), 0))

    def load() -> np.ndarray:
        (blob,) = conn.execute("SELECT value_blob FROM fields WHERE run_id = 1").fetchone()
        return np.frombuffer(blob, dtype=np.float64).copy()

    assert np.array_equal(benchmark(load), ARRAY)


# A whole process: import, a new database, one run, n values, end, exit.
TRACKER_SCRIPT = textwrap.dedent("""
    import sys, tracker
    with tracker.connect(sys.argv[1]).experiment("e").run() as run:
        for step in range(int(sys.argv[2])):
            run.log({"v": 0.5}, step=step)
""")
RAW_SCRIPT = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE metrics (run_id INTEGER, name TEXT, step INTEGER, value REAL)")
    rows = ((step,) for step in range(int(sys.argv[2])))
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO metrics VALUES (1, 'v', ?, 0.5)", rows)
    conn.execute("COMMIT")
    conn.close()
""")
# What -I does (no PYTHON* variables, user site or script folder on sys.path), except that
# PYTHONPATH is this worktree: the test environment may have another checkout installed.
CLEAN_ENV = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
CLEAN_ENV["PYTHONPATH"] = str(Path(tracker.__file__).parents[1])


def run_process(code: str, path: Path, n: int) -> float:
    """Seconds for a fresh interpreter to run `code` on a new database with n values."""
    command = [sys.executable, "-s", "-P", "-c", code, str(path), str(n)]
    start = time.perf_counter()
    subprocess.run(command, check=True, env=CLEAN_ENV)
    return time.perf_counter() - start


@pytest.mark.parametrize("n", [1, 10**4])
def test_whole_process_log(benchmark: Any, tmp_path: Path, n: int) -> None:
    """A fresh interpreter that imports the tracker, logs n values to a new file and exits,
    each round right after the same work in raw sqlite3 (executemany, one commit)."""
    raw: list[float] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        raw.append(run_process(RAW_SCRIPT, fresh_path(tmp_path), n))
        return (TRACKER_SCRIPT, fresh_path(tmp_path), n), {}

    benchmark.pedantic(run_process, setup=setup, rounds=20)
    if not benchmark.stats:  # --benchmark-disable: a smoke run, nothing was timed
        return
    benchmark.extra_info["raw_median_s"] = statistics.median(raw)
    ratio = benchmark.stats.stats.median / statistics.median(raw)
    report(f"test_whole_process_log[{n}]", "tracker / raw sqlite3 medians", ratio, 1.5)


LOG_CALLS = 10**5
TEN_VALUES = {f"m{i}": 0.5 + i for i in range(10)}


def log_p99_us(path: Path, **flush: float) -> float:
    """The 99th percentile of one log() of 10 values over 10^5 calls, in microseconds."""
    run = tracker.connect(path, **flush).experiment("e").run()
    elapsed = np.empty(LOG_CALLS, dtype=np.int64)
    clock, log = time.perf_counter_ns, run.log
    for i in range(LOG_CALLS):
        start = clock()
        log(TEN_VALUES)
        elapsed[i] = clock() - start
    run.end()
    return float(np.percentile(elapsed, 99)) / 1000


def test_log_p99_background_flush(benchmark: Any, tmp_path: Path) -> None:
    """log() latency while the flush thread writes every 0.1 s, each round right after the
    same loop with the thread never flushing."""
    on: list[float] = []
    off: list[float] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        quiet = {"flush_every_seconds": 1e9, "flush_every_rows": 10**9}
        off.append(log_p99_us(fresh_path(tmp_path), **quiet))
        return (fresh_path(tmp_path),), {}

    def flushing(path: Path) -> None:
        on.append(log_p99_us(path, flush_every_seconds=0.1))

    benchmark.pedantic(flushing, setup=setup, rounds=5)
    p99_on, p99_off = statistics.median(on), statistics.median(off)
    benchmark.extra_info.update(p99_us_flushing=p99_on, p99_us_quiet=p99_off)
    report("test_log_p99_background_flush", "p99 of log() (10 values)", p99_on, 5.0, " us")
    report("test_log_p99_background_flush", "p99 flushing / p99 quiet", p99_on / p99_off, 1.5)


@pytest.fixture(scope="module")
def thousand_runs(tmp_path_factory: pytest.TempPathFactory) -> tracker.Experiment:
    """An experiment of 10^3 ended runs of 10^3 values of one metric each."""
    path = tmp_path_factory.mktemp("read") / "runs.db"
    experiment = tracker.connect(path, flush_every_rows=10**9).experiment("e")
    for _ in range(1000):
        with experiment.run() as run:
            for step in range(1000):
                run.log({"loss": 1.0 / (step + 1)}, step=step)
    return experiment


def test_metrics_df_tracker(benchmark: Any, thousand_runs: tracker.Experiment) -> None:
    """experiment.metrics_df() of 10^6 values."""
    RATIOS.add(("test_metrics_df_tracker", "test_metrics_df_raw_sqlite3", 1.5))
    frame = benchmark.pedantic(thousand_runs.metrics_df, rounds=5)
    assert len(frame) == 10**6


def test_metrics_df_raw_sqlite3(benchmark: Any, thousand_runs: tracker.Experiment) -> None:
    """The floor: the same rows by one SELECT into the same DataFrame."""
    conn = sqlite3.connect(thousand_runs.db.backend.path)  # type: ignore[attr-defined]
    select = (
        "SELECT m.run_id, r.name, m.name, m.step, m.value, m.logged_at"
        " FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.experiment_id = ?"
        " ORDER BY m.run_id, m.name, m.step"
    )
    columns = ["run_id", "run_name", "name", "step", "value", "time"]

    def read() -> pd.DataFrame:
        frame = pd.DataFrame(conn.execute(select, (thousand_runs.id,)).fetchall(), columns=columns)
        frame["time"] = pd.to_datetime(frame["time"], unit="s", utc=True)
        return frame

    frame = benchmark.pedantic(read, rounds=5)
    pd.testing.assert_frame_equal(frame, thousand_runs.metrics_df())


RUNS = 10**4


@pytest.fixture(scope="module")
def many_runs(tmp_path_factory: pytest.TempPathFactory) -> tracker.Experiment:
    """An experiment of 10^4 ended runs: params lr (100 values) and seed, a tag, and two
    metrics of 10 steps each."""
    path = tmp_path_factory.mktemp("many") / "runs.db"
    experiment = tracker.connect(path, flush_every_rows=10**9).experiment("e")
    for i in range(RUNS):
        params = {"lr": (i % 100) / 1000, "seed": i}
        with experiment.run(f"run-{i}", params=params, tags=[f"group-{i % 7}"]) as run:
            for step in range(10):
                run.log({"loss": 1.0 / (step + 1 + i), "acc": step / 10}, step=step)
    return experiment


FILTERED = (
    "SELECT r.id, r.name, r.status FROM runs r JOIN params p ON p.run_id = r.id"
    " WHERE r.experiment_id = ? AND p.name = ? AND p.value_real = ? ORDER BY r.id"
)


def test_runs_filtered_tracker(benchmark: Any, many_runs: tracker.Experiment) -> None:
    """experiment.runs(params={"lr": 0.05}) among 10^4 runs: 100 match."""
    RATIOS.add(("test_runs_filtered_tracker", "test_runs_filtered_raw_sqlite3", 1.5))
    found = benchmark(many_runs.runs, params={"lr": 0.05})
    assert len(found) == RUNS // 100


def test_runs_filtered_raw_sqlite3(benchmark: Any, many_runs: tracker.Experiment) -> None:
    """The floor: a hand-written SELECT of the same runs into a DataFrame."""
    conn = sqlite3.connect(many_runs.db.backend.path)  # type: ignore[attr-defined]

    def read() -> pd.DataFrame:
        rows = conn.execute(FILTERED, (many_runs.id, "lr", 0.05)).fetchall()
        return pd.DataFrame(rows, columns=["id", "name", "status"])

    frame = benchmark(read)
    assert frame["id"].tolist() == [run.id for run in many_runs.runs(params={"lr": 0.05})]


def test_runs_df_overview_tracker(benchmark: Any, many_runs: tracker.Experiment) -> None:
    """experiment.runs_df() of 10^4 runs with params, tags and each metric's last/min/max."""
    RATIOS.add(("test_runs_df_overview_tracker", "test_runs_df_overview_raw_sqlite3", 1.5))
    frame = benchmark.pedantic(many_runs.runs_df, rounds=5)
    assert len(frame) == RUNS and "metrics.loss.last" in frame


def test_runs_df_overview_raw_sqlite3(benchmark: Any, many_runs: tracker.Experiment) -> None:
    """The floor: the same table by hand: three SELECTs into DataFrames, pivoted and joined."""
    conn = sqlite3.connect(many_runs.db.backend.path)  # type: ignore[attr-defined]
    in_runs = "run_id IN (SELECT id FROM runs WHERE experiment_id = ?)"
    summaries = (
        "SELECT g.run_id, g.name, (SELECT m.value FROM metrics m WHERE m.run_id = g.run_id"
        " AND m.name = g.name ORDER BY m.step DESC LIMIT 1), g.lo, g.hi FROM (SELECT run_id,"
        f" name, MIN(value) AS lo, MAX(value) AS hi FROM metrics WHERE {in_runs}"
        " GROUP BY run_id, name) g"
    )

    def read() -> pd.DataFrame:
        key = (many_runs.id,)
        runs = pd.DataFrame(
            conn.execute(
                "SELECT id, name, status, created_at, ended_at FROM runs"
                " WHERE experiment_id = ? ORDER BY id",
                key,
            ).fetchall(),
            columns=["id", "name", "status", "created_at", "ended_at"],
        )
        for column in ("created_at", "ended_at"):
            runs[column] = pd.to_datetime(runs[column], unit="s", utc=True)
        tags = pd.DataFrame(
            conn.execute(f"SELECT run_id, tag FROM tags WHERE {in_runs}", key).fetchall(),
            columns=["run_id", "tag"],
        )
        runs = runs.join(tags.groupby("run_id")["tag"].agg(list).rename("tags"), on="id")
        params = pd.DataFrame(
            conn.execute(
                "SELECT run_id, name, COALESCE(value_real, value_int, value_text) FROM params"
                f" WHERE {in_runs}",
                key,
            ).fetchall(),
            columns=["run_id", "name", "value"],
        ).pivot(index="run_id", columns="name", values="value")
        metrics = pd.DataFrame(
            conn.execute(summaries, key).fetchall(),
            columns=["run_id", "name", "last", "min", "max"],
        ).pivot(index="run_id", columns="name")
        metrics.columns = [f"metrics.{name}.{what}" for what, name in metrics.columns]
        return runs.join(params.add_prefix("params."), on="id").join(metrics, on="id")

    frame = benchmark.pedantic(read, rounds=5)
    ours = many_runs.runs_df()
    assert frame["id"].tolist() == ours["id"].tolist()
    for column in ("params.lr", "metrics.loss.last", "metrics.acc.max"):
        assert frame[column].tolist() == ours[column].tolist()
