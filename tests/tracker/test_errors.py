"""Bad input raises TrackerError with a message that says what to do."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tracker
from scenarios.postgres import free_port


def test_unknown_url_scheme() -> None:
    with pytest.raises(tracker.TrackerError, match=r"sqlite:///path\.db"):
        tracker.connect("nosuchdb://host/x")


def test_unsupported_sqlalchemy_database() -> None:
    with pytest.raises(tracker.TrackerError, match="unsupported database"):
        tracker.connect("mysql://user@127.0.0.1/x")


def test_unreachable_server() -> None:
    url = f"postgresql://nobody@127.0.0.1:{free_port()}/x"
    with pytest.raises(tracker.TrackerError, match="is the server running"):
        tracker.connect(url)


def test_missing_folder(tmp_path) -> None:
    with pytest.raises(tracker.TrackerError, match="does its folder exist"):
        tracker.connect(tmp_path / "no" / "such" / "dir" / "x.db")


def test_not_a_database(tmp_path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(tracker.TrackerError, match=r"junk\.db"):
        tracker.connect(path)


def test_newer_schema_is_refused(tmp_path) -> None:
    with tracker.connect(tmp_path / "new.db") as db:
        db.backend.write(
            lambda tx: tx.execute(
                "UPDATE tracker_meta SET value = '999' WHERE key = 'schema_version'"
            )
        )
    with pytest.raises(tracker.TrackerError, match="newer tracker"):
        tracker.connect(tmp_path / "new.db")


FULL_DISK = """
import resource, signal, sys, tracker
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, as on a full disk
db = tracker.connect(sys.argv[1])
run = db.experiment("e").run()
run.flush()
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, hard))
for step in range(100_000):
    run.log({"x": float(step)}, step=step)
try:
    run.flush()
except tracker.TrackerError as exc:
    print(exc)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
run.end()
print(len(db.get_run(run.id).metrics()["x"]))
"""


def test_a_full_disk_says_what_to_do_and_loses_nothing(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", FULL_DISK, str(tmp_path / "t.db")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert "is the disk full?" in out[0] and "stays in memory" in out[0]
    assert out[1] == "100000"
