"""The local server a framework needs (mlflow server, fml, PostgreSQL), kept for one cell.

Started by the manager before the writer, as `worker.py --service CELL.json`, in the
framework's environment: it starts the adapter's server on a free loopback port in a
process group of its own, waits until it answers, prints one JSON line (`port` and
`service_start_ns`, or `outcome` and `reason`), and keeps it running for the writer and the
reader, as a user's server would already be running. When its stdin closes (the manager
is done with the cell, or died) or on SIGTERM or SIGINT (the manager was interrupted) it
stops the server: SIGTERM to the group, SIGKILL after a grace period, and reaps it, so
nothing is left behind; further signals meanwhile are ignored.

Standard library only.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from adapters.base import Adapter, Service

GRACE_SECONDS = 10.0


def has_service(cls: type[Adapter]) -> bool:
    """Whether the adapter asks for a local server."""
    return cls.service_argv is not Adapter.service_argv


def keep(adapter: Adapter, cell: dict[str, Any]) -> int:
    """Start the server, report it on stdout, stop it when stdin closes; the exit status."""
    # SIGTERM or SIGINT (the manager interrupted) stops the server too, through the `finally`,
    # but only once it has started: a PostgreSQL cluster signalled in initdb leaks memory
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _on_signal)
    workdir = Path(cell["workdir"])
    port = _free_port()
    argv = adapter.service_argv(workdir, port)
    if argv is None:
        _say({"port": None})
        return 0
    started = time.perf_counter_ns()
    with open(cell["service_log"], "ab") as log:
        # its own process group, so one killpg ends the server and whatever it started
        proc = subprocess.Popen(
            argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log, process_group=0
        )
    try:
        problem = _wait_ready(adapter, proc, Service(port, workdir), argv[0],
                              float(cell.get("service_timeout", 60)))  # fmt: skip
        _Stop.starting = False
        if _Stop.requested:
            return 1
        if problem:
            _say(problem)
            return 1
        _say({"port": port, "service_start_ns": time.perf_counter_ns() - started})
        sys.stdin.read()  # until the manager closes it (or dies: the kernel closes it then)
        return 0
    finally:
        _ignore_signals()  # a signal now must not cut the stop short: that leaks the server
        stop(proc)


class _Stop:  # the signal handler's state
    starting = True  # the server is starting: a stop waits until it has
    requested = False


def _on_signal(signum: int, frame: Any) -> None:
    _Stop.requested = True
    if not _Stop.starting:
        _ignore_signals()
        sys.exit(128 + signum)


def _ignore_signals() -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(
    adapter: Adapter, proc: Any, service: Service, what: str, timeout: float
) -> dict[str, str]:
    """{} once the server answers; else the outcome and reason of the cell."""
    deadline = time.perf_counter_ns() + int(timeout * 1e9)
    while True:
        try:
            ready = adapter.service_ready(service)
        except OSError:  # connection refused while it starts
            ready = False
        if ready:
            return {}
        code = proc.poll()
        if code is not None:
            why = f"local server {what} exited with {code} before it answered"
            return {"outcome": "crash", "reason": why}
        if time.perf_counter_ns() > deadline:
            why = f"local server {what} did not answer within {timeout:g} s"
            return {"outcome": "timeout", "reason": why}
        time.sleep(0.005)


def stop(proc: Any, grace: float = GRACE_SECONDS) -> None:
    """End the server's process group: SIGTERM, then SIGKILL if it lingers; reap it."""
    # SIGTERM first: a server killed outright leaves shared memory behind (PostgreSQL's
    # System V segments outlive it and pile up cell after cell).
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()
