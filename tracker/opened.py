"""The runs open in this process: flushed in the background, ended at exit, forgotten by forks.

A run is open only in the process that started it. Reading a run from another process, or
from another connection in this one, never opens it (so never ends it).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import time
from typing import Any, Protocol


class OpenRun(Protocol):
    """What the background flush and the exit need of a run."""

    id: int
    db: Any
    flush_due: float  # time.monotonic() of its next flush
    beat_due: float  # and of its next sign of life

    def auto_flush(self) -> None:
        """Write what is buffered; on failure keep it and warn (never raise)."""

    def end_at_exit(self, failed: bool) -> None:
        """Flush and mark the run COMPLETED, or FAILED after an uncaught exception."""


# id(run) -> run; a dict so that `id(run) in OPEN` is one lookup in log()'s hot path.
OPEN: dict[int, Any] = {}
# The longest the flush thread sleeps with no run due: a new run wakes it at once anyway.
_IDLE_SECONDS = 1.0
_wake = threading.Event()
_stopping = threading.Event()
_thread: threading.Thread | None = None
_thread_lock = threading.Lock()


def add(run: OpenRun) -> None:
    """Register a run started (or resumed) here, and make sure the flush thread runs."""
    global _thread
    OPEN[id(run)] = run
    if _thread is None:
        with _thread_lock:
            if _thread is None:
                _thread = threading.Thread(target=_flush_loop, name="tracker-flush", daemon=True)
                _thread.start()
    _wake.set()


def wake() -> None:
    """Make the flush thread look at the open runs now (a run's buffer is full)."""
    _wake.set()


def remove(run: OpenRun) -> None:
    """Forget a run that has ended."""
    OPEN.pop(id(run), None)


def runs_of(db: Any | None = None) -> list[Any]:
    """The open runs of one database, or all of them."""
    return [run for run in list(OPEN.values()) if db is None or run.db is db]


def _flush_loop() -> None:
    while not _stopping.is_set():
        now = time.monotonic()
        sleep = _IDLE_SECONDS
        for run in list(OPEN.values()):
            if min(run.flush_due, run.beat_due) <= now:
                run.auto_flush()
            sleep = min(sleep, max(min(run.flush_due, run.beat_due) - time.monotonic(), 0.0))
        _wake.wait(sleep)
        _wake.clear()


@atexit.register
def _end_open_runs() -> None:
    _stopping.set()
    _wake.set()
    # An uncaught exception (sys.last_value) means the program failed.
    failed = getattr(sys, "last_value", None) is not None
    for run in list(OPEN.values()):
        run.end_at_exit(failed)


def _forget_in_child() -> None:
    # A forked child shares the parent's buffers but not its runs: it must neither write
    # the parent's values a second time nor end the parent's runs when it exits.
    global _thread, _wake, _thread_lock
    OPEN.clear()
    _thread = None
    _wake = threading.Event()
    _thread_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
