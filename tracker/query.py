"""Which runs and which metrics: filters as SQL conditions, so the database does the work.

Runs are `r` (the runs table) and metric values `m` in the conditions made here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tracker import values as V
from tracker.errors import TrackerError

STATUSES = ("RUNNING", "COMPLETED", "FAILED", "LOST")


def statuses(status: str | Iterable[str] | None) -> set[str] | None:
    """The statuses asked for (None: any), each one of STATUSES."""
    if status is None:
        return None
    asked = {status} if isinstance(status, str) else set(status)
    unknown = sorted(str(s) for s in asked - set(STATUSES))
    if unknown:
        raise TrackerError(f"unknown status {unknown[0]!r}; a run is one of {', '.join(STATUSES)}")
    return asked


def runs_where(
    dialect: str,
    experiment_id: int,
    asked: set[str] | None,
    tags: Iterable[str],
    params: Mapping[str, Any] | None,
) -> tuple[str, list[Any]]:
    """A condition on `r` for the runs of an experiment with these statuses, all these tags
    and these param values. LOST is stored as RUNNING: the caller tells them apart."""
    where = ["r.experiment_id = ?"]
    args: list[Any] = [experiment_id]
    if asked is not None:
        stored = sorted({"RUNNING" if s == "LOST" else s for s in asked})
        where.append(f"r.status IN ({', '.join('?' * len(stored))})")
        args += stored
    for tag in _strings(tags, "tags"):
        where.append("r.id IN (SELECT t.run_id FROM tags t WHERE t.tag = ?)")
        args.append(tag)
    same = "IS" if dialect == "sqlite" else "IS NOT DISTINCT FROM"
    for name, value in (params or {}).items():
        condition, values = _param_equals(name, value, same)
        where.append(f"r.id IN (SELECT p.run_id FROM params p WHERE {condition})")
        args += values
    return " AND ".join(where), args


def _param_equals(name: str, value: Any, same: str) -> tuple[str, list[Any]]:
    """A condition on `p`: the param `name` equals `value`, numbers compared as numbers
    (lr=1 finds 1.0), anything else by its stored form (type and bits)."""
    if type(name) is not str:
        raise TrackerError(f"params filters are name -> value, got the name {name!r}")
    # Written so that the index on (name, value_real, value_int) finds the runs.
    if type(value) is float and value == value and not value.is_integer():
        return "p.name = ? AND p.kind = 'float' AND p.value_real = ?", [name, value]
    if type(value) in (int, float) and V.INT64_MIN <= value <= V.INT64_MAX:
        return (
            "p.name = ? AND (p.value_real = ? OR p.value_int = ?) AND p.kind IN ('int', 'float')",
            [name, value, int(value)],
        )
    encoded = V.encode(value, f"the filter on param {name!r}")
    if encoded.parts or encoded.nbytes > V.CHUNK_BYTES:
        raise TrackerError(f"the filter on param {name!r} is too large to be a param")
    columns = ("value_real", "value_int", "value_text", "value_blob")
    tests = " AND ".join(f"p.{column} {same} ?" for column in columns)
    return f"p.name = ? AND p.kind = ? AND {tests}", [name, *encoded[:5]]


def ids_in(column: str, runs: Iterable[Any]) -> str:
    """A condition `column IN (...)` for runs given as Run objects or ids (written into the
    SQL as integers: any number of them, no parameter limit)."""
    ids = sorted({_run_id(run) for run in runs})
    return f"{column} IN ({', '.join(map(str, ids))})" if ids else "0 = 1"


def _run_id(run: Any) -> int:
    run_id = getattr(run, "id", run)
    if type(run_id) is not int:
        raise TrackerError(f"runs are given as Run objects or integer ids, got {run!r}")
    return run_id


def names_in(column: str, names: Iterable[str]) -> tuple[str, list[str]]:
    """A condition `column IN (?, ...)` for metric names."""
    chosen = sorted(set(_strings(names, "names")))
    if not chosen:
        return "0 = 1", []
    return f"{column} IN ({', '.join('?' * len(chosen))})", chosen


def _strings(items: Iterable[str], what: str) -> list[str]:
    if isinstance(items, str):
        raise TrackerError(f"{what} takes a list of strings, got the string {items!r}")
    out = list(items)
    for item in out:
        if type(item) is not str:
            raise TrackerError(f"{what} takes strings, got {item!r}")
    return out
