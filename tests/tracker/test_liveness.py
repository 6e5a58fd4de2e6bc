"""A killed run does not stay RUNNING forever: its writer's host, pid and last sign of life."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tracker

KILLED = """
import os, sys, tracker
db = tracker.connect(sys.argv[1])
run = db.experiment("e").run()
run.log({"x": 1.0}, step=0)
run.flush()
os.kill(os.getpid(), 9)
"""


def test_a_run_whose_writer_was_killed_is_lost(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    done = subprocess.run([sys.executable, "-c", KILLED, path], check=False)
    assert done.returncode == -signal.SIGKILL
    with tracker.connect(path) as db:
        (run,) = db.experiment("e").runs()
        assert run.status == "LOST" and db.get_run(run.id).status == "LOST"
        assert db.experiment("e").runs_df()["status"].tolist() == ["LOST"]
        assert run.metrics() == {"x": [(0, 1.0)]}
    with sqlite3.connect(path) as conn:
        host, pid, seen_at = conn.execute(
            "SELECT writer_host, writer_pid, seen_at FROM runs"
        ).fetchone()
        assert host == os.uname().nodename and pid > 0 and abs(seen_at - time.time()) < 600
        # the SQL view cannot see processes: a run silent for a minute shows as LOST there
        assert conn.execute("SELECT status FROM run_overview").fetchone() == ("RUNNING",)
        conn.execute("UPDATE runs SET seen_at = seen_at - 120")
        assert conn.execute("SELECT status FROM run_overview").fetchone() == ("LOST",)


def test_a_live_run_shows_signs_of_life_while_idle(
    db: tracker.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tracker.run, "HEARTBEAT_SECONDS", 0.05)
    run = db.experiment("e").run()
    run.beat_due = 0.0
    (first,) = db.backend.read("SELECT seen_at FROM runs WHERE id = ?", (run.id,))[0]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        (seen,) = db.backend.read("SELECT seen_at FROM runs WHERE id = ?", (run.id,))[0]
        if seen > first:
            break
        time.sleep(0.02)
    assert seen > first and run.status == "RUNNING"
    run.end()
