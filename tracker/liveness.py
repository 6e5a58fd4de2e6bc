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


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
