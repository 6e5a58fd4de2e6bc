"""Whether a RUNNING run still has a writer: its host, its pid and its last sign of life."""

from __future__ import annotations

import os
import time

from tracker.schema import LOST_AFTER_SECONDS

RUNNING, LOST = "RUNNING", "LOST"
HOST = os.uname().nodename if hasattr(os, "uname") else os.environ.get("COMPUTERNAME", "")


def shown_status(
    stored: str, host: str | None, pid: int | None, seen_at: float | None, mine: bool = False
) -> str:
    """The stored status, or LOST for a RUNNING run whose writer is gone (or silent too long).

    `mine`: the run is open in this process, so its writer is alive by definition.
    """
    if stored != RUNNING or mine or seen_at is None:
        return stored
    if time.time() - seen_at > LOST_AFTER_SECONDS:
        return LOST
    if host == HOST and pid and not _alive(pid):
        return LOST
    return stored


def live_writer(
    stored: str, host: str | None, pid: int | None, seen_at: float | None
) -> str | None:
    """Who still writes a run ("process 12 on host-a (last sign of life 3 s ago)"), or None:
    it is not RUNNING, its writer is gone or silent too long (LOST), or it records none.

    A writer with this process's host and pid is not alive either: the caller has looked for
    the run among this process's open runs first, so that writer was an earlier process that
    had the same pid (a container's restarted job often does).
    """
    if seen_at is None or shown_status(stored, host, pid, seen_at) != RUNNING:
        return None
    if host == HOST and pid == os.getpid():
        return None
    ago = max(time.time() - seen_at, 0.0)
    return f"process {pid} on {host} (last sign of life {ago:.0f} s ago)"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
