"""Resuming a run from another process, and deleting runs and experiments with all they hold.

Everything is read back from the database (and the large-value folder) itself.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tracker
from tracker.liveness import HOST
from tracker.run import open_runs

BIG = 17 * 2**20  # bytes: over 16 MiB, so stored apart (a file beside SQLite, pieces in PG)

WRITER = """
import sys, tracker
db = tracker.connect(sys.argv[1])
run = db.experiment("job").run("first", params={"lr": 0.1}, tags=["a"])
for step in range(3):
    run.log({"loss": 1.0 / (step + 1)})
run.log({"acc": 0.5}, step=7)
run.end()
print(run.id, flush=True)
"""

RESUMER = """
import os, sys, time, tracker
from pathlib import Path
db = tracker.connect(sys.argv[1])
run = db.experiment("job").run(resume=int(sys.argv[2]), params={"wd": 0.01}, tags=["again"])
print(os.getpid(), dict(run.params) == {"lr": 0.1, "wd": 0.01}, run.tags, flush=True)
run.log({"loss": 0.1})
run.flush()
print("flushed", flush=True)
while not Path(sys.argv[3]).exists():
    time.sleep(0.01)
run.log({"loss": 0.05})
"""  # and the run ends at exit: COMPLETED

KILLED = """
import os, sys, tracker
db = tracker.connect(sys.argv[1])
run = db.experiment("job").run()
run.log({"x": 1.0}, step=4)
run.flush()
print(run.id, flush=True)
os.kill(os.getpid(), 9)
"""

HOLDER = """
import sys, time, tracker
from pathlib import Path
db = tracker.connect(sys.argv[1])
run = db.experiment("job").run()
run.log({"x": 1.0}, step=0)
run.flush()
print(run.id, flush=True)
while not Path(sys.argv[2]).exists():
    time.sleep(0.01)
"""


def _python(script: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args], stdout=subprocess.PIPE, text=True
    )


def _run_row(db: tracker.Database, run_id: int) -> tuple:
    rows = db.backend.read(
        "SELECT status, ended_at, writer_host, writer_pid, seen_at FROM runs WHERE id = ?",
        (run_id,),
    )
    return rows[0]


def _rows_of(db: tracker.Database, run_ids: list[int]) -> dict[str, int]:
    """How many rows of each table name one of these runs: every table with a column
    run_id or target_id, found in the database's catalog, and the runs table itself."""
    if db.backend.dialect == "sqlite":
        columns = db.backend.read(
            "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_info(m.name) p"
            " WHERE m.type = 'table' AND p.name IN ('run_id', 'target_id')"
        )
    else:
        columns = db.backend.read(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c"
            " JOIN information_schema.tables t"
            " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
            " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
            " AND c.column_name IN ('run_id', 'target_id')"
        )
    marks = ", ".join("?" * len(run_ids))
    counts = {
        f"{table}.{column}": db.backend.read(
            f"SELECT COUNT(*) FROM {table} WHERE {column} IN ({marks})", run_ids
        )[0][0]
        for table, column in [*columns, ("runs", "id")]
    }
    expected = {"metrics", "fields", "chunks", "params", "tags", "links", "runs"}
    assert {name.partition(".")[0] for name in counts} >= expected
    return counts


def _files(db: tracker.Database) -> list[Path]:
    folder = db.backend.files_dir
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder else []


def _pretend_written_elsewhere(db: tracker.Database, run_id: int, seconds_ago: float) -> None:
    """Make a run RUNNING, written by process 4242 on another host, last seen a while ago."""
    db.backend.write(
        lambda tx: tx.execute(
            "UPDATE runs SET status = 'RUNNING', ended_at = NULL, writer_host = 'elsewhere',"
            " writer_pid = 4242, seen_at = ? WHERE id = ?",
            (time.time() - seconds_ago, run_id),
        )
    )


# -- resume -----------------------------------------------------------------------------------


def test_a_run_resumed_in_another_process_goes_on_after_its_last_step(
    db_url: str, tmp_path: Path
) -> None:
    writer = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WRITER), db_url],
        capture_output=True,
        text=True,
        check=True,
    )
    run_id = int(writer.stdout)
    go_on = tmp_path / "go-on"
    resumer = _python(RESUMER, db_url, str(run_id), str(go_on))
    try:
        assert resumer.stdout is not None
        pid, params_kept, tags = resumer.stdout.readline().split(maxsplit=2)
        assert params_kept == "True" and tags.strip() == "['a', 'again']"
        assert resumer.stdout.readline().strip() == "flushed"
        with tracker.connect(db_url) as db:
            status, ended_at, host, writer_pid, seen_at = _run_row(db, run_id)
            assert (status, ended_at, host, writer_pid) == ("RUNNING", None, HOST, int(pid))
            assert abs(time.time() - seen_at) < 60
            assert db.get_run(run_id).status == "RUNNING"
            # its writer is alive: neither resumed nor deleted from here
            with pytest.raises(tracker.TrackerError, match=f"RUNNING in process {pid} on"):
                db.experiment("job").run(resume=run_id)
            with pytest.raises(tracker.TrackerError, match="or pass force=True"):
                db.experiment("job").delete_run(run_id)
            go_on.touch()
            assert resumer.wait(timeout=60) == 0
            done = db.get_run(run_id)
            assert done.status == "COMPLETED" and _run_row(db, run_id)[1] is not None
            # the last step was acc's 7 (the largest over all metrics): loss goes on at 8
            assert done.metrics() == {
                "acc": [(7, 0.5)],
                "loss": [(0, 1.0), (1, 0.5), (2, 1 / 3), (8, 0.1), (9, 0.05)],
            }
            assert done.params == {"lr": 0.1, "wd": 0.01} and done.tags == ["a", "again"]
            assert done.name == "first"
    finally:
        go_on.touch()
        resumer.kill()
        resumer.communicate()


def test_a_lost_run_is_resumed_here_and_ends_completed(db_url: str) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(KILLED), db_url], capture_output=True, text=True
    )
    assert killed.returncode == -9
    run_id = int(killed.stdout)
    with tracker.connect(db_url) as db:
        assert db.get_run(run_id).status == "LOST"
        run = db.experiment("job").run(resume=run_id)
        assert run.open and run in open_runs(db) and db.get_run(run_id) is run
        status, ended_at, host, pid, _ = _run_row(db, run_id)
        assert (status, ended_at, host, pid) == ("RUNNING", None, HOST, os.getpid())
        run.log({"x": 2.0})
        run.log({"y": 3.0})
        run.end()
        assert _run_row(db, run_id)[0] == "COMPLETED"
        assert db.get_run(run_id).metrics() == {"x": [(4, 1.0), (5, 2.0)], "y": [(6, 3.0)]}


def test_resuming_a_run_with_no_metrics_starts_at_step_0(db: tracker.Database) -> None:
    exp = db.experiment("e")
    first = exp.run()
    first.end("FAILED")
    run = exp.run(resume=first.id)
    assert run.status == "RUNNING" and run.params == {} and run.tags == []
    run.log({"x": 1.0})
    run.end()
    assert db.get_run(first.id).metrics() == {"x": [(0, 1.0)]}


def test_resume_refuses_what_it_cannot_do_in_one_line(db: tracker.Database) -> None:
    exp, other = db.experiment("a"), db.experiment("b")
    run = exp.run("named", links=None)
    run.end()

    def refused(match: str, **kwargs: object) -> None:
        with pytest.raises(tracker.TrackerError, match=match) as caught:
            exp.run(**kwargs)  # type: ignore[arg-type]
        assert "\n" not in str(caught.value)

    refused("no run with id 12345 to resume", resume=12345)
    refused("resume= takes a run's integer id, got '1'", resume="1")
    refused("resume= takes a run's integer id, got True", resume=True)
    refused("only params= and tags= can be added", name="new", resume=run.id)
    refused("only params= and tags= can be added", links={"x": run.id}, resume=run.id)
    refused("param names must be", params={"": 1}, resume=run.id)
    with pytest.raises(tracker.TrackerError, match=r"belongs to 'a', not 'b'.*run\(resume="):
        other.run(resume=run.id)
    assert _run_row(db, run.id)[0] == "COMPLETED"  # none of these changed it

    _pretend_written_elsewhere(db, run.id, seconds_ago=1)  # a recent sign of life
    refused(
        r"is RUNNING in process 4242 on elsewhere \(last sign of life 1 s ago\); it can be "
        r"resumed once it ends or is LOST",
        resume=run.id,
    )
    _pretend_written_elsewhere(db, run.id, seconds_ago=120)  # silent too long: LOST
    resumed = exp.run(resume=run.id)
    refused(f"run {run.id} is already open in this process", resume=run.id)
    second = tracker.connect(db.backend.url)  # another connection of this process
    with pytest.raises(tracker.TrackerError, match="already open in this process"):
        second.experiment("a").run(resume=run.id)
    second.close()
    resumed.end()
    status, ended_at, host, pid, _ = _run_row(db, run.id)
    assert (status, host, pid) == ("COMPLETED", HOST, os.getpid()) and ended_at is not None


def test_a_resumed_run_replaces_its_large_values_leaving_no_garbage(db: tracker.Database) -> None:
    exp = db.experiment("e")
    with exp.run() as run:
        run["big"] = np.zeros(BIG, dtype=np.uint8)
        run["other"] = np.ones(BIG, dtype=np.uint8)
    with exp.run(resume=run.id) as again:
        again["big"] = "small now"  # its file or pieces must go
        again["other"] = np.full(BIG, 2, dtype=np.uint8)  # a new file replaces the old one
    stored = db.get_run(run.id)
    assert stored["big"] == "small now" and int(stored["other"][0]) == 2
    pieces = db.backend.read("SELECT DISTINCT name FROM chunks WHERE run_id = ?", (run.id,))
    if db.backend.dialect == "sqlite":
        assert pieces == [] and len(_files(db)) == 1
    else:
        assert pieces == [("other",)]


# -- delete -----------------------------------------------------------------------------------


def test_the_id_of_a_deleted_run_is_never_given_again(db: tracker.Database) -> None:
    exp = db.experiment("e")
    with exp.run("first"):
        pass
    newest = exp.run("newest")
    newest.end()
    newest.delete()
    with exp.run("next") as fresh:
        pass
    assert fresh.id > newest.id
    with pytest.raises(tracker.TrackerError, match=f"no run with id {newest.id}"):
        db.get_run(newest.id)


def test_deleting_a_run_removes_every_row_and_file_of_it(db: tracker.Database) -> None:
    exp = db.experiment("e")
    target = exp.run("target")
    other = exp.run("other", params={"k": 1}, links={"parent": target.id})
    victim = exp.run("victim", params={"lr": 0.1}, tags=["x", "y"], links={"of": target.id})
    pointing = exp.run("pointing", links={"evaluates": [victim.id, target.id]})
    victim.log({"loss": 1.0, "nan": float("nan")}, step=0)
    victim["small"] = "text"
    victim["big"] = np.zeros(BIG, dtype=np.uint8)
    victim.end()
    for run in (target, other, pointing):
        run.log({"kept": 1.0}, step=0)
        run.end()
    before = _rows_of(db, [victim.id])
    in_pieces = db.backend.files_dir is None
    assert before["chunks.run_id"] > 0 if in_pieces else len(_files(db)) == 1
    assert all(count > 0 for name, count in before.items() if name != "chunks.run_id")
    others = _rows_of(db, [target.id, other.id, pointing.id])

    db.get_run(victim.id).delete()  # through a run read back, not open here

    assert set(_rows_of(db, [victim.id]).values()) == {0}
    assert _files(db) == []
    with pytest.raises(tracker.TrackerError, match=f"no run with id {victim.id} in"):
        db.get_run(victim.id)
    after = _rows_of(db, [target.id, other.id, pointing.id])
    # the others keep all but the link from one of them to the victim and the victim's own
    # link to one of them
    lost = {"links.run_id": others["links.run_id"] - 1}
    assert after == {**others, **lost, "links.target_id": others["links.target_id"] - 1}
    assert db.get_run(pointing.id).links == {"evaluates": [target.id]}
    assert db.get_run(other.id).links == {"parent": [target.id]}
    assert db.get_run(other.id).params == {"k": 1}
    assert [run.id for run in exp.runs()] == [target.id, other.id, pointing.id]


def test_deleting_a_run_another_run_links_to(db: tracker.Database) -> None:
    exp = db.experiment("e")
    base = exp.run()
    base.end()
    child = exp.run(links={"finetunes": base.id})
    child.end()
    exp.delete_run(base.id)  # PostgreSQL enforces links.target_id REFERENCES runs(id)
    assert db.get_run(child.id).links == {} and db.get_run(child.id).status == "COMPLETED"
    assert db.backend.read("SELECT COUNT(*) FROM links")[0][0] == 0
    exp.delete_run(child.id)
    assert db.backend.read("SELECT COUNT(*) FROM runs")[0][0] == 0


def test_deleting_an_experiment_removes_all_its_runs(db: tracker.Database) -> None:
    e1, e2 = db.experiment("e1"), db.experiment("e2")
    done = e1.run(params={"lr": 0.1}, tags=["t"])
    done.log({"x": 1.0}, step=0)
    done["big"] = np.zeros(BIG, dtype=np.uint8)
    done.end()
    kept = e2.run(params={"lr": 0.2})
    kept.log({"x": 2.0}, step=0)
    kept.end()
    linker = e1.run(links={"after": kept.id})
    linker.end()
    evaluator = e2.run(links={"evaluates": done.id})
    evaluator.end()
    still_open = e1.run()
    still_open.log({"x": 3.0}, step=0)  # buffered, not written
    gone = [done.id, linker.id, still_open.id]

    db.delete_experiment("e1")

    assert db.experiments() == ["e2"]
    assert set(_rows_of(db, gone).values()) == {0}
    assert db.backend.read("SELECT COUNT(*) FROM experiments WHERE name = 'e1'") == [(0,)]
    assert _files(db) == []
    assert not still_open.open and still_open not in open_runs(db)
    assert still_open.status == "DELETED"
    with pytest.raises(tracker.TrackerError, match=f"run {still_open.id} was deleted"):
        still_open.log({"x": 4.0})
    assert db.get_run(kept.id).metrics() == {"x": [(0, 2.0)]}
    assert db.get_run(kept.id).params == {"lr": 0.2}
    assert db.get_run(evaluator.id).links == {}
    with pytest.raises(
        tracker.TrackerError, match=r"'e1' was deleted; db\.experiment\('e1'\) creates"
    ):
        e1.run()  # an Experiment object from before
    assert db.experiment("e1").runs() == [] and db.experiments() == ["e2", "e1"]
    with pytest.raises(tracker.TrackerError, match="no experiment named 'nope' in"):
        db.delete_experiment("nope")


def test_a_deleted_open_run_is_not_written_afterwards(db: tracker.Database) -> None:
    db.flush_every_seconds = 0.02  # the background flush runs all the time
    run = db.experiment("e").run()
    errors: list[str] = []

    def keep_logging() -> None:  # another thread logs while the run is deleted
        while True:
            try:
                run.log({"x": 1.0})
            except tracker.TrackerError as exc:
                errors.append(str(exc))
                return
            time.sleep(0.0005)  # a training loop's pace, not a flood the flush cannot drain

    logger = threading.Thread(target=keep_logging)
    logger.start()
    deadline = time.monotonic() + 30
    while not db.backend.read("SELECT 1 FROM metrics WHERE run_id = ?", (run.id,)):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    run["field"] = "buffered"
    run.params["p"] = 1
    run.delete()
    logger.join(60)
    assert errors == [f"run {run.id} was deleted; nothing more can be logged to it"]
    time.sleep(0.3)  # many periods of the background flush
    assert set(_rows_of(db, [run.id]).values()) == {0}
    assert not run.open and run not in open_runs()
    for later in (
        lambda: run.__setitem__("f", 1),
        lambda: run.params.update(q=2),
        lambda: run.tags.append("t"),
        run.end,
    ):
        with pytest.raises(tracker.TrackerError, match="was deleted"):
            later()
    with db.experiment("e").run() as inside:
        inside.log({"x": 1.0})
        inside.delete()  # leaving the block writes nothing into it
    assert set(_rows_of(db, [inside.id]).values()) == {0}


def test_a_flush_under_way_when_its_run_is_deleted_is_deleted_too(
    db: tracker.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = db.experiment("e").run()
    run.log({"x": 1.0}, step=0)
    taken, go_on = threading.Event(), threading.Event()
    store = run._store

    def slow_store(*args: object) -> None:  # a flush that has taken the buffer, held up
        taken.set()
        go_on.wait(60)
        store(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(run, "_store", slow_store)
    flusher = threading.Thread(target=run.flush)
    flusher.start()
    taken.wait(60)
    run.log({"x": 2.0}, step=1)  # buffered for the next flush
    run["f"] = "buffered too"
    deleter = threading.Thread(target=run.delete)
    deleter.start()
    time.sleep(0.2)  # a deletion that did not wait for the flush would be over by now
    go_on.set()
    flusher.join(60)
    deleter.join(60)
    assert run.status == "DELETED" and not run.open
    run.flush()
    assert set(_rows_of(db, [run.id]).values()) == {0}


def test_a_run_open_through_another_connection_here_is_closed_too(
    db: tracker.Database,
) -> None:
    run = db.experiment("e").run()
    run.log({"x": 1.0})
    second = tracker.connect(db.backend.url)
    second.experiment("e").delete_run(run.id)
    second.close()
    assert not run.open and run.status == "DELETED"
    run.flush()  # nothing to write any more, and nothing written
    assert set(_rows_of(db, [run.id]).values()) == {0}


def test_delete_refuses_what_it_cannot_do_in_one_line(db: tracker.Database) -> None:
    a, b = db.experiment("a"), db.experiment("b")
    run = a.run()
    run.end()
    cases = [
        (lambda: a.delete_run(12345), "no run with id 12345 to delete"),
        (lambda: a.delete_run("1"), "runs are named by their integer id, got '1'"),
        (lambda: b.delete_run(run.id), f"run {run.id} belongs to 'a', not 'b'"),
        (lambda: db.delete_experiment("nope"), "no experiment named 'nope' in"),
    ]
    _pretend_written_elsewhere(db, run.id, seconds_ago=1)
    cases += [
        (
            lambda: a.delete_run(run.id),
            rf"run {run.id} is RUNNING in process 4242 on elsewhere \(last sign of life 1 s "
            r"ago\); delete it once it ends or is LOST, or pass force=True",
        ),
        (lambda: db.get_run(run.id).delete(), "or pass force=True"),
        (
            lambda: db.delete_experiment("a"),
            rf"experiment 'a' has runs RUNNING in other live processes \(run {run.id}; .*"
            r"pass force=True",
        ),
    ]
    for call, match in cases:
        with pytest.raises(tracker.TrackerError, match=match) as caught:
            call()
        assert "\n" not in str(caught.value)
    assert _rows_of(db, [run.id])["runs.id"] == 1
    _pretend_written_elsewhere(db, run.id, seconds_ago=120)  # LOST: no force needed
    a.delete_run(run.id)
    live = a.run()
    live.end()
    _pretend_written_elsewhere(db, live.id, seconds_ago=1)
    db.delete_experiment("a", force=True)
    assert db.experiments() == ["b"] and set(_rows_of(db, [run.id, live.id]).values()) == {0}


def test_force_deletes_a_run_another_live_process_writes(db_url: str, tmp_path: Path) -> None:
    release = tmp_path / "release"
    holder = _python(HOLDER, db_url, str(release))
    try:
        assert holder.stdout is not None
        run_id = int(holder.stdout.readline())
        with tracker.connect(db_url) as db:
            exp = db.experiment("job")
            with pytest.raises(tracker.TrackerError, match=rf"RUNNING in process {holder.pid}"):
                exp.delete_run(run_id)
            with pytest.raises(tracker.TrackerError, match="other live processes"):
                db.delete_experiment("job")
            assert _rows_of(db, [run_id])["metrics.run_id"] == 1
            exp.delete_run(run_id, force=True)
            assert set(_rows_of(db, [run_id]).values()) == {0}
    finally:
        release.touch()
        holder.kill()
        holder.communicate()


def test_a_hostile_path_in_a_field_is_not_followed_by_resume_or_delete(tmp_path: Path) -> None:
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    with tracker.connect(tmp_path / "x.db") as db:
        with db.experiment("e").run() as run:
            run["big"] = np.zeros(BIG, dtype=np.uint8)
            run["other"] = np.zeros(BIG, dtype=np.uint8)
        stored = _files(db)
        db.backend.write(lambda tx: tx.execute("UPDATE fields SET value_text = '../precious.txt'"))
        with db.experiment("e").run(resume=run.id) as again:
            again["big"] = "small"  # replaces the value that "was" in that file
        run.delete()
        assert outside.read_text() == "keep me"
        assert all(path.exists() for path in stored)  # left, as nothing points at them
        assert set(_rows_of(db, [run.id]).values()) == {0}
