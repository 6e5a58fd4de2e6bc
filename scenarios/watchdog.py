"""A worker's own supervision: it ends itself when its manager dies or its deadline passes.

The manager (scenarios/cell.py) hands the writer and the reader the read end of a pipe whose
write end only it holds, named with its deadline in WATCH_VAR ("FD:SECONDS"). A daemon
thread waits on that pipe: end of file means the manager is gone (killed, even by SIGKILL:
the kernel closes its end), and the deadline that the manager's own kill did not come. Then
the worker ends what it started (SIGTERM, SIGKILL after GRACE_SECONDS) and exits, so no
cell runs unsupervised. The thread sleeps in select() meanwhile: no CPU taken from the cell.

Linux /proc to find the worker's processes; standard library only (runs in every
framework's environment).
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
from collections.abc import Iterator

WATCH_VAR = "TRACKBENCH_WATCH"
GRACE_SECONDS = 2.0
DEADLINE_EXIT = 124  # as timeout(1)
ORPHANED_EXIT = 125


def start() -> threading.Thread | None:
    """Watch the pipe named in the environment, if any (the variable is removed, so neither
    the framework nor its processes see it); the thread, or None without a pipe."""
    spec = os.environ.pop(WATCH_VAR, "")
    if not spec:
        return None
    fd_text, _, seconds = spec.partition(":")
    fd = int(fd_text)
    os.set_inheritable(fd, False)  # the framework's processes must not keep it open
    thread = threading.Thread(
        target=_watch, args=(fd, time.monotonic() + float(seconds)), name="trackbench-watch",
        daemon=True,
    )  # fmt: skip
    thread.start()
    return thread


def _watch(fd: int, deadline: float) -> None:
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            _end("its deadline passed without the manager's kill", DEADLINE_EXIT)
        readable, _, _ = select.select([fd], [], [], left)
        if readable and not os.read(fd, 64):
            _end("its manager is gone", ORPHANED_EXIT)


def _end(why: str, code: int) -> None:
    """End this process's session and descendants (SIGTERM, then SIGKILL), then exit."""
    sys.stderr.write(f"trackbench worker: {why}; ending its processes\n")
    sys.stderr.flush()
    others = own_processes()
    for pid in others:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while others and time.monotonic() < deadline:
        time.sleep(0.05)
        others = own_processes()
    for pid in others:
        _signal(pid, signal.SIGKILL)
    os._exit(code)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except OSError:  # gone meanwhile
        pass


def stat_fields(pid: int) -> list[bytes] | None:
    """The fields of /proc/PID/stat after the command (state, ppid, pgrp, session, ...), or
    None when the process cannot be read (gone)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()


def proc_stats() -> Iterator[tuple[int, list[bytes]]]:
    """(pid, stat_fields) of every process that can be read."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields is not None:
                yield int(entry), fields


def own_processes() -> list[int]:
    """The live processes (not zombies) in this process's session or below it, but itself."""
    me, session = os.getpid(), os.getsid(0)
    parent: dict[int, int] = {}
    members: set[int] = set()
    for pid, fields in proc_stats():
        if fields[0] in (b"Z", b"X"):
            continue
        parent[pid] = int(fields[1])
        if int(fields[3]) == session:
            members.add(pid)
    for pid in parent:
        node, depth = pid, 0
        while node not in (0, 1, me) and depth < 64:
            node, depth = parent.get(node, 0), depth + 1
        if node == me:
            members.add(pid)
    members.discard(me)
    return sorted(members)
