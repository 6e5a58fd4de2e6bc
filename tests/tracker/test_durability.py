"""A killed writer keeps everything up to its last flush; concurrent writers lose nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tracker


def test_sigkill_keeps_everything_flushed_and_the_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    code = textwrap.dedent(f"""
        import os, sys, tracker
        db = tracker.connect({str(path)!r}, flush_every_rows=10**9, flush_every_seconds=1e9)
        run = db.experiment("e").run()
        for step in range(5000):
            run.log({{"loss": step / 7}}, step=step)
        run["array_like"] = b"x" * 100_000
        run.flush()
        for step in range(5000, 6000):  # logged, never flushed: may be lost
            run.log({{"loss": step / 7}}, step=step)
        sys.stdout.write("flushed\\n"); sys.stdout.flush()
        while True:  # a long training loop, killed from outside
            run.log({{"loss": 0.0}})
    """)
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as child:
        assert child.stdout is not None and child.stdout.readline() == "flushed\n"
        os.kill(child.pid, signal.SIGKILL)

    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    with tracker.connect(path) as db:
        (run,) = db.experiment("e").runs()
        steps = [step for step, _ in run.metrics()["loss"]]
        assert steps == list(range(5000))
        assert run["array_like"] == b"x" * 100_000
        assert run.status == "LOST"  # its writer is gone


WRITER = textwrap.dedent("""
    import sys, tracker
    url, worker = sys.argv[1], int(sys.argv[2])
    exp = tracker.connect(url).experiment("concurrent")
    for r in range(50):
        with exp.run(f"w{worker}-r{r}", params={"worker": worker}) as run:
            for step in range(100):
                run.log({"v": worker * 1e6 + r * 1e3 + step}, step=step)
""")


@pytest.mark.slow
def test_four_processes_writing_at_once_lose_nothing(db_url: str) -> None:
    tracker.connect(db_url).close()  # the schema exists before the race, as in real use
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, db_url, str(worker)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(4)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert not any("locked" in err for err in errors)
    with tracker.connect(db_url) as db:
        runs = db.experiment("concurrent").runs_df()
        metrics = db.experiment("concurrent").metrics_df()
    assert len(runs) == 200 and set(runs["status"]) == {"COMPLETED"}
    assert len(metrics) == 20_000
    expected = {w * 1e6 + r * 1e3 + s for w in range(4) for r in range(50) for s in range(100)}
    assert set(metrics["value"]) == expected


@pytest.mark.slow
def test_processes_creating_a_fresh_database_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER.replace("range(50)", "range(3)"), url, str(worker)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in range(4)
    ]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    with tracker.connect(url) as db:
        assert len(db.experiment("concurrent").runs()) == 12


def test_fsync_makes_sqlite_fsync_every_commit(tmp_path: Path) -> None:
    """synchronous is FULL (2) with fsync=True, NORMAL (1) by default: WAL either way."""
    for fsync, level in ((True, 2), (False, 1)):
        with tracker.connect(tmp_path / f"{fsync}.db", fsync=fsync) as db:
            conn = db.backend.conn  # type: ignore[attr-defined]
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == level
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            with db.experiment("e").run() as run:
                run.log({"v": 1.5}, step=0)
        with tracker.connect(tmp_path / f"{fsync}.db") as db:
            assert db.experiment("e").runs()[0].metrics() == {"v": [(0, 1.5)]}
