"""A cell's own control group, where the machine lets the harness make one.

Every process a cell starts is in its group, whatever it does to its session, environment
or working directory: a framework's daemon that leaves all three behind is still counted
and ended. The manager makes the group (`create`), each worker process joins it first thing
(`join`, before a framework can start anything), and children inherit it. Where no group
can be made (no writable cgroup file system: not root, or not Linux), processes are found
by the cell's marker and folder only (scenarios/processes.py). Standard library only: the
worker imports it in every framework's environment.
"""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

GROUP_VAR = "TRACKBENCH_CGROUP"
# cgroup v1's pids hierarchy, then cgroup v2 (hybrid or unified): the first that takes one
ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup"))
PREFIX = "trackbench-"


def create(marker: str) -> Path | None:
    """A new group for the cell with `marker`, or None where none can be made."""
    for root in ROOTS:
        if not (root / "cgroup.procs").exists():
            continue
        path = root / f"{PREFIX}{marker}"
        try:
            path.mkdir()
        except OSError:
            continue
        if (path / "cgroup.procs").exists():
            return path
        with contextlib.suppress(OSError):
            path.rmdir()
    return None


def join() -> None:
    """Put this process into the group named in the environment, if any (the variable is
    removed: the framework has no use for it, and children inherit the group anyway)."""
    path = os.environ.pop(GROUP_VAR, "")
    if path:
        with contextlib.suppress(OSError):  # gone meanwhile: the marker still finds us
            Path(path, "cgroup.procs").write_text(str(os.getpid()), encoding="ascii")


def members(marker: str) -> list[int]:
    """The processes in the group of the cell with `marker` (none without a group)."""
    for root in ROOTS:
        try:
            text = (root / f"{PREFIX}{marker}" / "cgroup.procs").read_text(encoding="ascii")
        except OSError:
            continue
        return [int(line) for line in text.split()]
    return []


def remove(marker: str, wait: float = 2.0) -> None:
    """Remove the cell's group once its processes are gone, waiting up to `wait` seconds for
    the last ones, just killed, to be reaped; a group still in use after that stays."""
    for root in ROOTS:
        path = root / f"{PREFIX}{marker}"
        if not path.exists():
            continue
        deadline = time.monotonic() + wait
        while True:
            try:
                path.rmdir()
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.02)
