"""A run is written only by the process that started it: readers, forks and timers change
nothing but what the writer logged, and nothing it logged waits for it to call log() again."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import tracker

WRITER = """
import sys, time, tracker
from pathlib import Path
db = tracker.connect(sys.argv[1])
run = db.experiment("job").run("writer")
run.log({"loss": 1.0}, step=0)
run.flush()
print(run.id, flush=True)
go_on = Path(sys.argv[2])
while not go_on.exists():
    time.sleep(0.01)
run.log({"loss": 0.5}, step=1)
run.end()
"""

READER = """
import sys, tracker
db = tracker.connect(sys.argv[1])
run = db.experiment("job").runs()[0]
print(run.status, run.metrics(), db.get_run(run.id).status)
if sys.argv[2] == "fail":
    sys.last_value = RuntimeError("an earlier exception in a REPL")
if sys.argv[2] == "close":
    db.close()
"""


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args], stdout=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("how", ["exit", "close", "fail"])
def test_a_reader_in_another_process_does_not_end_the_writers_run(tmp_path: Path, how: str) -> None:
    path, go_on = str(tmp_path / "t.db"), tmp_path / "go-on"
    writer = _python(WRITER, path, str(go_on))
    try:
        assert writer.stdout is not None
        run_id = int(writer.stdout.readline())
        reader = _python(READER, path, how)
        out, _ = reader.communicate(timeout=60)
        assert reader.returncode == 0
        assert out.split()[0] == "RUNNING"
        with tracker.connect(path) as db:
            assert db.get_run(run_id).status == "RUNNING"  # the reader left it as it was
            go_on.touch()
            writer.communicate(timeout=60)
            assert writer.returncode == 0
            done = db.get_run(run_id)
            assert done.status == "COMPLETED"
            assert done.metrics() == {"loss": [(0, 1.0), (1, 0.5)]}
    finally:
        go_on.touch()  # a failed assertion must not leave the writer waiting forever
        writer.kill()
        writer.communicate()


def test_reading_a_run_in_the_writing_process_gives_the_open_run(db: tracker.Database) -> None:
    run = db.experiment("e").run()
    run.log({"x": 1.0}, step=0)
    assert db.get_run(run.id) is run and db.experiment("e").runs() == [run]
    other = tracker.connect(db.backend.url)
    read = other.get_run(run.id)
    assert read is not run and not read.open
    with pytest.raises(tracker.TrackerError, match="not open in this process"):
        read.log({"x": 2.0})
    other.close()  # ends nothing of the first connection's
    assert run.open and db.get_run(run.id).status == "RUNNING"
    run.end()


def test_values_are_written_on_the_timer_without_another_log(db: tracker.Database) -> None:
    db.flush_every_seconds = 0.05
    run = db.experiment("e").run()
    run.log({"x": 1.0}, step=0)
    run["f"] = "field"
    reader = tracker.connect(db.backend.url)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        seen = reader.get_run(run.id)
        if seen.metrics() and "f" in seen:
            break
        time.sleep(0.02)
    assert seen.metrics() == {"x": [(0, 1.0)]} and seen["f"] == "field"
    assert run.open  # written while the run goes on
    reader.close()
    run.end()


def test_log_never_waits_for_a_database_write(tmp_path: Path) -> None:
    db = tracker.connect(tmp_path / "t.db", flush_every_rows=10, flush_every_seconds=0.01)
    run = db.experiment("e").run()
    held, release, released = threading.Event(), threading.Event(), threading.Event()

    def slow_write() -> None:  # as a long write by another run of this connection would
        with db.backend._lock:  # type: ignore[attr-defined]
            held.set()
            release.wait(60)
        released.set()

    holder = threading.Thread(target=slow_write)
    holder.start()
    held.wait(60)
    for step in range(1000):  # full buffers and the timer both call for a write meanwhile
        run.log({"x": float(step)}, step=step)
    assert not released.is_set()  # every log() returned while the database was held
    release.set()
    holder.join()
    run.end()
    assert len(db.get_run(run.id).metrics()["x"]) == 1000
    db.close()


def test_params_and_tags_added_later_are_stored_at_once(db: tracker.Database) -> None:
    run = db.experiment("e").run(params={"lr": 0.1}, tags=["first"])
    run.params["wd"] = 1e-4
    run.params.update(momentum=0.9)
    run.tags.append("late")
    run.tags.extend(["later", "first"])
    other = tracker.connect(db.backend.url)
    read = other.get_run(run.id)
    assert read.params == {"lr": 0.1, "wd": 1e-4, "momentum": 0.9}
    assert read.tags == ["first", "late", "later"]
    with pytest.raises(tracker.TrackerError, match="not open in this process"):
        read.params["x"] = 1
    with pytest.raises(tracker.TrackerError, match="not open in this process"):
        read.tags.append("x")
    with pytest.raises(tracker.TrackerError, match="not removed"):
        del run.params["lr"]
    with pytest.raises(tracker.TrackerError, match="not removed"):
        run.tags.remove("first")
    other.close()
    run.end()
    with pytest.raises(tracker.TrackerError, match="closed"):
        run.params["after"] = 1


FORK = """
import os, sys, tracker
db = tracker.connect(sys.argv[1], flush_every_seconds=3600)
run = db.experiment("e").run()
for step in range(1000):
    run.log({"x": float(step)}, step=step)
pid = os.fork()
if pid == 0:
    sys.exit(0)  # the child exits normally: atexit runs in it
os.waitpid(pid, 0)
print(tracker.connect(sys.argv[1]).get_run(run.id).status, flush=True)
run.end()
"""


def test_a_forked_child_neither_writes_nor_ends_its_parents_runs(tmp_path: Path) -> None:
    path = str(tmp_path / "t.db")
    out = subprocess.run(
        [sys.executable, "-c", FORK, path], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["RUNNING"]
    with tracker.connect(path) as db:
        run = db.experiment("e").runs()[0]
        assert run.status == "COMPLETED"
        assert run.metrics() == {"x": [(s, float(s)) for s in range(1000)]}
