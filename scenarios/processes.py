"""The processes of a cell, seen from the manager: their memory and CPU, a deadline, leftovers.

A cell's processes are the ones started in a session of their own (the writer's, the local
server keeper's) and everything below them; every process a cell starts is also in the
cell's control group where there is one, and inherits a marker variable, so that those that
escape (a new session, a daemon) are still found.
Linux /proc only; standard library only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from scenarios import cellgroup
from scenarios.watchdog import proc_stats, stat_fields

MARKER_VAR = "TRACKBENCH_CELL"
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


def _proc_stats() -> Iterator[tuple[int, int, int, int, int]]:
    """(pid, ppid, session, rss_bytes, cpu_ns incl. reaped children) of every process."""
    for pid, fields in proc_stats():
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        yield (pid, int(fields[1]), int(fields[3]), int(fields[21]) * PAGE,
               ticks * 1_000_000_000 // TICKS)  # fmt: skip


def tree_usage(roots: Sequence[int]) -> dict[int, tuple[int, int]]:
    """pid -> (rss_bytes, cpu_ns) of the `roots` and everything in their sessions or below
    them (a root that has exited still names its session)."""
    stats = list(_proc_stats())
    parent = {pid: ppid for pid, ppid, _sid, _rss, _cpu in stats}
    found = {}
    for pid, _ppid, sid, rss, cpu in stats:
        node, depth = pid, 0
        while node not in roots and node not in (0, 1) and depth < 64:
            node, depth = parent.get(node, 0), depth + 1
        if sid in roots or node in roots:
            found[pid] = (rss, cpu)
    return found


def tree_cpu(roots: Sequence[int], without: Sequence[int] = ()) -> int:
    """CPU nanoseconds of the live processes of these trees, less the processes `without`."""
    usage = tree_usage(roots)
    return sum(cpu for pid, (_rss, cpu) in usage.items() if pid not in without)


def busy_cpu_ns() -> int:
    """CPU nanoseconds the whole machine has been busy since boot (every core, every process:
    user, nice, system, interrupts, steal; not idle or waiting on I/O)."""
    with open("/proc/stat", "rb") as fh:
        fields = fh.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) * 1_000_000_000 // TICKS


def _rss(pid: int) -> int:
    """Resident bytes of one process (0 when it has gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return 0


def marked_processes(marker: str, folder: Path | None = None) -> list[int]:
    """The cell's processes: those in its control group (scenarios/cellgroup.py), whose
    environment carries its marker, and, given the cell's folder, those working inside it
    (where there is no group, a helper that a framework starts in a session of its own with
    an empty environment still works where it was started)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    inside = None if folder is None else os.path.realpath(folder)
    me = os.getpid()
    found = [pid for pid in cellgroup.members(marker) if pid != me]
    seen = {me, *found}
    if not os.path.isdir("/proc"):  # not Linux: leftovers cannot be seen
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) in seen:
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.append(int(entry))
                    continue
            if inside is not None:
                cwd = os.readlink(f"/proc/{entry}/cwd")
                if cwd == inside or cwd.startswith(inside + os.sep):
                    found.append(int(entry))
        except OSError:  # gone, or a zombie
            continue
    return found


def start_time(pid: int) -> int | None:
    """When the process started (clock ticks since boot), None when there is no such process;
    with its pid, this names one process even after the pid is reused."""
    fields = stat_fields(pid)
    try:
        return None if fields is None else int(fields[19])
    except (IndexError, ValueError):
        return None


HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM (the first is delivered when this ends): a second one must
    not cut short the stop of a cell, which would leave its server killed halfway (a leak)."""
    if threading.current_thread() is not threading.main_thread():
        old = signal.pthread_sigmask(signal.SIG_BLOCK, HELD)
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
        return
    # Handlers, not a signal mask: a mask holds a signal for this thread only, and the
    # kernel hands it to another one (a database's writer thread), whose Python handler
    # then raises here all the same.
    caught: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: caught.append(signum)) for sig in HELD
    }
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, signal.SIG_DFL if handler is None else handler)
        if caught:
            signal.raise_signal(caught[0])


def end_cell(marker: str, grace: float, folder: Path | None = None) -> int:
    """Stop every process of a cell (as marked_processes finds them): SIGTERM, then SIGKILL
    what is left after `grace` seconds; how many were running.

    SIGTERM goes to the process groups of the cell's session leaders (the writer's or the
    reader's, the server keeper's, which then stops its server cleanly itself) and of any
    process whose session leader is gone; never to a server behind its keeper's back.
    """
    pids = marked_processes(marker, folder)
    sessions = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            sessions[pid] = os.getsid(pid)
    for pid, sid in sessions.items():
        if sid == pid or sid not in sessions:
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(pid), signal.SIGTERM)
    deadline = time.monotonic() + grace
    left = pids
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = marked_processes(marker, folder)
    kill_all(left)
    return len(pids)


def kill_all(pids: Sequence[int]) -> None:
    """SIGKILL each of `pids` that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class Watch(threading.Thread):
    """Samples the summed memory of the watched trees while a process runs (the trees of
    `others` without their root: a harness process keeping a server), and kills that
    process's group at its deadline.

    Every SAMPLE seconds it adds up the resident memory of the trees' processes (one small
    read each) and keeps the peak of that sum; which processes belong is looked up in all
    of /proc (about 2 ms) every RESCAN seconds. About 1% of one core, taken from the cell.
    """

    SAMPLE = 0.02
    RESCAN = 0.2

    def __init__(self, pid: int, timeout: float, others: Sequence[int] = ()) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.roots = (pid, *others)
        self.others = tuple(others)
        self.deadline = time.monotonic() + timeout
        self.stopped = threading.Event()
        self.timed_out = False
        self.peak = 0

    def run(self) -> None:
        members: list[int] = []
        rescan = 0.0
        while not self.stopped.wait(min(self.SAMPLE, max(self.deadline - time.monotonic(), 0))):
            now = time.monotonic()
            if now >= self.deadline:
                self.timed_out = True
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                return
            if now >= rescan:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    members = [p for p in tree_usage(self.roots) if p not in self.others]
                rescan = now + self.RESCAN
            self.peak = max(self.peak, sum(_rss(pid) for pid in members))
