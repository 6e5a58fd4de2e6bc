"""The reference tracker's hot paths beside the same work done raw, in one run.

    nox -s bench

Ratios of medians are printed at the end (see conftest.py). Each comparison uses the same
database file layout: the tracker's own schema, pragmas and SQL.
"""

from __future__ import annotations

import itertools
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tracker
from benchmarks.conftest import RATIOS
from tracker import schema
from tracker.run import INSERT_METRIC, UPSERT_FIELD

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


def _rows(n: int) -> list[tuple[Any, ...]]:
    return [(1, "loss", step, 1.0 / (step + 1), None) for step in range(n)]


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
        conn.executemany(INSERT_METRIC, rows)
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


TRACKER_SCRIPT = textwrap.dedent("""
    import sys, tracker
    with tracker.connect(sys.argv[1]).experiment("e").run() as run:
        run.log({"v": 0.5}, step=0)
""")
RAW_SCRIPT = textwrap.dedent("""
    import sqlite3, sys
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE metrics (run_id INTEGER, name TEXT, step INTEGER, value REAL)")
    conn.execute("INSERT INTO metrics VALUES (1, 'v', 0, 0.5)")
    conn.close()
""")


@pytest.mark.parametrize("script", ["tracker", "raw_sqlite3"])
def test_whole_process_log_one_value(benchmark: Any, tmp_path: Path, script: str) -> None:
    """A fresh interpreter that imports, stores one value in a new database and exits."""
    RATIOS.add(
        (
            "test_whole_process_log_one_value[tracker]",
            "test_whole_process_log_one_value[raw_sqlite3]",
            2.0,
        )
    )
    code = TRACKER_SCRIPT if script == "tracker" else RAW_SCRIPT
    benchmark.pedantic(
        lambda path: subprocess.run([sys.executable, "-c", code, str(path)], check=True),
        setup=lambda: ((fresh_path(tmp_path),), {}),
        rounds=30,
    )
