"""The harness under interrupts: real `trackbench run` processes signalled and killed.

Nothing leaks (no shared memory segment, no temporary folder, no process) and nothing is
lost (`--resume` completes the suite). Each test runs in a temporary directory of its own
(TMPDIR), so only its own cells' folders are looked at.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scenarios import cell, envs, processes
from scenarios.watchdog import DEADLINE_EXIT, GRACE_SECONDS, WATCH_VAR

ROOT = Path(__file__).resolve().parents[2]
FAKE = "tests.scenarios.fake_adapters"


@pytest.fixture
def tmp() -> Iterator[Path]:
    """A private TMPDIR the postgres user can traverse (pytest's tmp_path is 0700)."""
    with tempfile.TemporaryDirectory(prefix="trackbench-test-") as path:
        Path(path).chmod(0o711)
        yield Path(path)


def trackbench(tmp: Path, *args: str) -> subprocess.Popen[str]:
    """`trackbench run ARGS` of this tree in a new process, its cells' folders under `tmp`."""
    env = {**os.environ, "TMPDIR": os.fspath(tmp), "PYTHONPATH": os.fspath(ROOT)}
    argv = [sys.executable, "-m", "scenarios.cli", "run", "--db", f"sqlite:///{tmp}/r.db", *args]
    return subprocess.Popen(argv, cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)


def cell_folders(tmp: Path) -> list[Path]:
    """The cells' temporary folders under `tmp`."""
    return sorted(tmp.glob(f"{cell.FOLDER_PREFIX}*"))


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `condition()` until it is true; the seconds it took (a test failure after
    `timeout`)."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"{what} not within {timeout:g} s")
        time.sleep(0.05)
    return time.monotonic() - started


def running_under(tmp: Path) -> list[int]:
    """Processes whose command line names a path under `tmp`: the manager and the cells'."""
    needle = os.fspath(tmp).encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                if needle in fh.read():
                    found.append(int(entry))
        except OSError:
            continue
    return [pid for pid in found if _alive(pid)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def segments() -> dict[int, int]:
    """System V shared memory segments now: key -> number of processes attached (ipcs -m)."""
    out = subprocess.run(["ipcs", "-m"], capture_output=True, text=True, check=True).stdout
    return {int(f[0], 16): int(f[5]) for f in (line.split() for line in out.splitlines())
            if f and f[0].startswith("0x")}  # fmt: skip


# --- a local PostgreSQL server interrupted ----------------------------------------------------


def _pid_file(tmp: Path) -> list[str]:
    """The lines of the cell's PostgreSQL's postmaster.pid ([] while there is none)."""
    for path in tmp.glob("trackbench-cell-*/work/pg/data/postmaster.pid"):
        with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as fh:
            return [line.strip() for line in fh.read().splitlines()] or [""]
    return []


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.parametrize("moment", ["starting", "ready"])
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_server_cell_leaves_nothing_and_resume_completes(
    tmp: Path, sig: signal.Signals, moment: str
) -> None:
    """Signalled twice (an impatient Ctrl-C) while the sqltrack cell's PostgreSQL starts
    (initdb's bootstrap server, or the server's start-up) or once it is ready."""
    envs.ensure("sqltrack")
    args = ["--frameworks", "sqltrack", "--scenarios", "high_frequency", "--repeat", "1",
            "--set", "high_frequency.n_values=1000", "--seed", "1"]  # fmt: skip
    proc = trackbench(tmp, *args)
    if moment == "starting":
        wait_for(lambda: bool(_pid_file(tmp)), 60, "the cell's PostgreSQL starting")
    else:
        ready = lambda: _pid_file(tmp)[7:8] == ["ready"]  # noqa: E731
        wait_for(ready, 60, "the cell's PostgreSQL server")
    # PostgreSQL keys its segment with its data directory's inode (and the next free ones)
    inode = os.stat(next(tmp.glob("trackbench-cell-*/work/pg/data"))).st_ino & 0xFFFFFFFF
    ours = range(inode, inode + 16)
    if moment == "ready":
        assert any(key in ours for key in segments()), "the server's segment is not found"
    proc.send_signal(sig)
    time.sleep(0.1)
    proc.send_signal(sig)  # the second must not cut the stop of the server short
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted: 0 cells stored" in err, err
    assert [key for key in segments() if key in ours] == []
    assert cell_folders(tmp) == []
    assert running_under(tmp) == []

    again = trackbench(tmp, *args, "--resume")
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert "1 cells run" in err and "(1 ok)" in err, err
    assert cell_folders(tmp) == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_after_the_stop_changes_nothing(tmp: Path, sig: signal.Signals) -> None:
    """Stopped, the manager ignores what a second Ctrl-C or SIGTERM brings on its way out:
    it still ends with 130, never killed by the signal."""
    proc = trackbench(tmp, "--frameworks", f"{FAKE}:Sleeper", "--scenarios", "high_frequency",
                      "--set", "high_frequency.n_values=10", "--repeat", "1")  # fmt: skip
    assert proc.stderr is not None
    wait_for(lambda: bool(cell_folders(tmp)), 60, "the hanging cell")
    proc.send_signal(sig)
    seen = ""
    while "interrupted:" not in seen:  # the runner has stopped and said so
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    for again in (signal.SIGINT, signal.SIGTERM):
        proc.send_signal(again)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, seen + err


# --- a manager that dies --------------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_manager_s_hung_worker_ends_itself_and_the_next_run_cleans_up(
    tmp: Path,
) -> None:
    proc = trackbench(tmp, "--frameworks", f"{FAKE}:Hanger", "--scenarios", "high_frequency",
                      "--set", "high_frequency.n_values=10", "--repeat", "1",
                      "--timeout", "5")  # fmt: skip
    children = lambda: len(list(tmp.glob("trackbench-cell-*/work/child-*"))) == 2  # noqa: E731
    wait_for(children, 30, "the hung writer's two children")
    assert len(running_under(tmp)) == 4  # the manager, the writer, its children
    proc.kill()
    proc.communicate(timeout=10)
    # the pipe from its manager closes with it: the worker ends its children (one ignores
    # SIGTERM: killed after the grace period) and itself, well before its 5 s deadline
    took = wait_for(lambda: not running_under(tmp), GRACE_SECONDS + 2, "the orphaned cell's end")
    assert took >= GRACE_SECONDS - 0.5  # the child ignoring SIGTERM was given its grace
    (left,) = cell_folders(tmp)
    assert f".{proc.pid}." in left.name  # named with the manager that died
    assert "its manager is gone" in (left / "stderr.txt").read_text(encoding="utf-8")

    again = trackbench(tmp, "--frameworks", f"{FAKE}:Memory", "--scenarios", "startup",
                       "--repeat", "1")  # fmt: skip
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "removed 1 cell folders of earlier runs that were killed" in err, err
    assert cell_folders(tmp) == []


def test_a_worker_ends_itself_at_its_deadline(tmp: Path) -> None:
    """Its manager alive but its kill not coming (a stopped manager): the worker's own."""
    work = tmp / "work"
    work.mkdir()
    cell_json = tmp / "cell.json"
    cell_json.write_text(json.dumps({
        "framework": f"{FAKE}:Hanger", "workload": "high_frequency", "params": {"n_values": 10},
        "workdir": os.fspath(work), "result": os.fspath(tmp / "result.json"),
    }), encoding="utf-8")  # fmt: skip
    read, write = os.pipe()
    try:
        env = {"PATH": os.environ["PATH"], WATCH_VAR: f"{read}:1"}
        argv = [sys.executable, "-I", os.fspath(envs.WORKER), os.fspath(cell_json)]
        worker = subprocess.Popen(argv, cwd=work, env=env, pass_fds=(read,),
                                  start_new_session=True, stderr=subprocess.PIPE)  # fmt: skip
        os.close(read)
        started = time.monotonic()
        _out, err = worker.communicate(timeout=1 + GRACE_SECONDS + 5)
        took = time.monotonic() - started
    finally:
        os.close(write)
    assert worker.returncode == DEADLINE_EXIT, err
    assert b"deadline passed" in err
    assert 1 <= took < 1 + GRACE_SECONDS + 2
    assert running_under(tmp) == []


def test_only_the_folders_of_dead_managers_are_removed(
    tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", os.fspath(tmp))
    gone = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    started = processes.start_time(gone.pid)
    gone.kill()
    gone.wait()
    namespace = os.stat("/proc/self/ns/pid").st_ino
    me = f"{namespace}.{os.getpid()}.{processes.start_time(os.getpid())}"
    names = {
        "dead": f"{cell.FOLDER_PREFIX}{namespace}.{gone.pid}.{started}-abc",
        "reused pid": f"{cell.FOLDER_PREFIX}{namespace}.{os.getpid()}.1-abc",
        "alive": f"{cell.FOLDER_PREFIX}{me}-abc",
        "other namespace": f"{cell.FOLDER_PREFIX}{namespace + 1}.{gone.pid}.{started}-abc",
        "kept": f"{cell.FOLDER_PREFIX}abc",
    }
    for name in names.values():
        (tmp / name / "work").mkdir(parents=True)
        (tmp / name / "marker").write_text("0" * 32, encoding="utf-8")
    assert cell.remove_stale_folders() == 2
    assert {p.name for p in cell_folders(tmp)} == {
        names[k] for k in ("alive", "other namespace", "kept")
    }
