"""Where results go by default, and opening a results database: to write, or to read.

A results database is a database of the reference tracker: a path (an embedded SQLite file)
or any URL the tracker takes. Every failure to open one is a one-line UsageError.
"""

from __future__ import annotations

import os
from typing import Any

from results.errors import UsageError

# Relative to the working directory: `nox -s quick` and the README run from the project root.
DEFAULT_DB = "results/trackbench.db"
SQLITE_MAGIC = b"SQLite format 3\x00"


def to_url(db: str) -> str:
    """A database URL from a URL or a path (a path is an embedded SQLite file)."""
    if "://" in db:
        return db
    return "sqlite:///" + os.path.abspath(db)


def sqlite_path(url: str) -> str | None:
    """The file path of an SQLite URL, or None for other databases."""
    prefix = "sqlite:///"
    return url[len(prefix) :] if url.startswith(prefix) else None


def open_for_writing(db: str) -> Any:
    """Open a results database, creating it (and an SQLite file's folder) if needed."""
    path = sqlite_path(to_url(db))
    if path is not None:
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot open results database {path}: {exc.strerror}") from None
    return _connect(db)


def open_existing(db: str) -> Any:
    """Open a results database that exists: a report must never invent an empty one."""
    path = sqlite_path(to_url(db))
    if path is not None:
        if not os.path.exists(path):
            raise UsageError(
                f"no results database at {path}: run `trackbench run` first, or pass --db"
            )
        try:
            with open(path, "rb") as fh:
                magic = fh.read(len(SQLITE_MAGIC))
        except OSError as exc:
            raise UsageError(f"cannot read results database {path}: {exc.strerror}") from None
        if magic != SQLITE_MAGIC:
            raise UsageError(f"{path} is not an SQLite database")
    return _connect(db)


def _connect(db: str) -> Any:
    import tracker  # not at import: the worker imports `results` without the tracker

    url = to_url(db)
    try:
        return tracker.connect(url)
    except Exception as exc:  # the tracker's, the driver's or the OS's: one line either way
        raise UsageError(f"cannot open results database {url}: {one_line(exc)}") from None


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type's name when it has none."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
