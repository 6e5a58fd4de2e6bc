"""Values over CHUNK_BYTES: files beside a SQLite file, pieces in a database server."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import tracker
from tracker.encoded import CHUNK_BYTES

BIG = np.arange(CHUNK_BYTES // 8 + 1000, dtype=np.float64)  # a little over one piece
FORTRAN = np.asfortranarray(np.arange(2100 * 1000, dtype=np.float64).reshape(2100, 1000))


def stored_files(db: tracker.Database) -> list[Path]:
    folder = db.backend.files_dir
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder else []


def test_large_values_round_trip_and_overwrites_leave_no_garbage(db: tracker.Database) -> None:
    with db.experiment("large").run() as run:
        run["a"] = BIG
        run["f"] = FORTRAN
        run["b"] = bytes(CHUNK_BYTES + 5)
        first = stored_files(db)
        run["a"] = BIG[::-1].copy()  # a large value replacing a large one
        run["b"] = "small now"  # a small value replacing a large one
    fresh = db.get_run(run.id)
    assert np.array_equal(fresh["a"], BIG[::-1])
    assert fresh["f"].flags.f_contiguous and np.array_equal(fresh["f"], FORTRAN)
    assert fresh["b"] == "small now"
    if db.backend.dialect == "sqlite":
        assert len(first) == 3
        assert len(stored_files(db)) == 2  # the replaced files were removed
        chunks = db.backend.read("SELECT count(*) FROM chunks")[0][0]
        assert chunks == 0
    else:
        assert stored_files(db) == []
        pieces = db.backend.read("SELECT DISTINCT name FROM chunks")
        assert sorted(row[0] for row in pieces) == ["a", "f"]  # "b" is small now


def test_files_are_named_by_ids_never_by_field_names(tmp_path: Path) -> None:
    with tracker.connect(tmp_path / "x.db") as db, db.experiment("e").run() as run:
        run["../../escape"] = BIG
    (path,) = stored_files(db)
    assert path.parent.parent == tmp_path / "x.db.objects"
    assert "escape" not in str(path)


def test_a_hostile_path_in_the_database_is_not_followed(tmp_path: Path) -> None:
    with tracker.connect(tmp_path / "x.db") as db:
        with db.experiment("e").run() as run:
            run["a"] = BIG
        db.backend.write(lambda tx: tx.execute("UPDATE fields SET value_text = '../../etc/passwd'"))
        with pytest.raises(tracker.TrackerError, match="not a file this tracker wrote"):
            db.get_run(run.id)["a"]


def test_a_missing_file_says_what_to_copy(tmp_path: Path) -> None:
    with tracker.connect(tmp_path / "x.db") as db:
        with db.experiment("e").run() as run:
            run["a"] = BIG
        for path in stored_files(db):
            path.unlink()
        with pytest.raises(tracker.TrackerError, match=r"x\.db\.objects folder"):
            db.get_run(run.id)["a"]


def test_in_memory_databases_keep_large_values_in_pieces() -> None:
    with tracker.connect("sqlite://") as db, db.experiment("e").run() as run:
        run["a"] = BIG
        assert np.array_equal(run["a"], BIG)
        assert db.backend.files_dir is None


def test_a_truncated_file_says_the_value_is_damaged(tmp_path: Path) -> None:
    with tracker.connect(tmp_path / "x.db") as db:
        with db.experiment("e").run() as run:
            run["a"] = BIG
        (path,) = stored_files(db)
        with open(path, "r+b") as stored:
            stored.truncate(CHUNK_BYTES // 2)
        with pytest.raises(tracker.TrackerError, match=r"field 'a' of run \d+ is damaged \("):
            db.get_run(run.id)["a"]
