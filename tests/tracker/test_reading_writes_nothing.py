"""Opening a database to read it creates and changes nothing; older schemas upgrade on write."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

import tracker
from tracker import schema

GOLDEN = Path(__file__).parent.parent / "reports" / "data" / "golden.db"  # schema version 1


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_an_unrelated_sqlite_file_is_left_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY)")
    before = _digest(tmp_path)
    with pytest.raises(tracker.TrackerError, match=r"holds other tables \(users\).*create_schema"):
        tracker.connect(path)
    assert _digest(tmp_path) == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    with tracker.connect(path, create_schema=True) as db:  # asked for explicitly
        db.experiment("e").run().end()
        assert db.experiments() == ["e"]


def test_a_read_only_connection_reads_everything_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    with tracker.connect(path) as db, db.experiment("e").run(params={"lr": 0.1}) as run:
        run.log({"x": 1.0}, step=0)
    before = _digest(tmp_path)
    with tracker.connect(f"sqlite:///{path}?mode=ro") as db:
        (read,) = db.experiment("e").runs()
        assert read.metrics() == {"x": [(0, 1.0)]} and read.params == {"lr": 0.1}
        assert db.experiment("e").runs_df()["status"].tolist() == ["COMPLETED"]
        with pytest.raises(tracker.TrackerError, match="read-only"):
            db.experiment("new").run()
    # SQLite's WAL readers share an index file (-shm) and an empty log; the data is unchanged
    assert _digest(tmp_path)["t.db"] == before["t.db"]
    assert (tmp_path / "t.db-wal").stat().st_size == 0
    with pytest.raises(tracker.TrackerError, match="no SQLite database"):
        tracker.connect(f"sqlite:///{tmp_path / 'missing.db'}?mode=ro")
    assert not (tmp_path / "missing.db").exists()


def test_an_older_schema_is_read_as_it_is_and_upgraded_at_the_first_write(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    path = folder / "golden.db"
    shutil.copy(GOLDEN, path)
    before = _digest(folder)
    with tracker.connect(path) as db:
        assert db.schema_version == 1
        names = db.experiments()
        frames = {name: db.experiment(name).runs_df() for name in names}
        assert all(len(frame) for frame in frames.values())
    assert _digest(folder) == before
    with tracker.connect(path) as db:
        db.experiment("later").run().end()
        assert db.schema_version == schema.SCHEMA_VERSION
        assert db.experiments() == [*names, "later"]
        assert db.experiment(names[0]).runs_df()["id"].tolist() == frames[names[0]]["id"].tolist()
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM tracker_meta").fetchone()
        assert version == (str(schema.SCHEMA_VERSION),)
        assert conn.execute("SELECT count(*) FROM run_overview").fetchone()[0] > 0
