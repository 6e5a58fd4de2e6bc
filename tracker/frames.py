"""Runs and metrics as pandas DataFrames (pandas is imported only here)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tracker import fields, liveness
from tracker import values as V
from tracker.encoded import Encoded
from tracker.errors import TrackerWarning
from tracker.schema import VALUE_COLUMNS

if TYPE_CHECKING:
    from tracker.backends import Backend


def runs_frame(
    backend: Backend,
    runs_where: tuple[str, list[Any]],
    asked: set[str] | None,
    objects: bool,
    writer_columns: str,
    mine: set[int],
) -> pd.DataFrame:
    """One row per run matching `runs_where` (a condition on `r`, see tracker.query) and
    showing a status in `asked`: params, fields and each metric's last, min and max.

    `mine`: the runs open in this process (alive whatever their last sign of life says).
    """
    where, args = runs_where
    rows = backend.read(
        f"SELECT r.id, r.name, r.status, r.created_at, r.ended_at, {writer_columns}"
        f" FROM runs r WHERE {where} ORDER BY r.id",
        args,
    )
    shown = [liveness.shown_status(row[2], row[5], row[6], row[7], row[0] in mine) for row in rows]
    if asked is not None:
        rows, shown = _chosen(rows, shown, asked)
    in_runs = f"run_id IN (SELECT r.id FROM runs r WHERE {where})"
    position = {row[0]: i for i, row in enumerate(rows)}
    tags: list[list[str]] = [[] for _ in rows]
    for run_id, tag in backend.read(
        f"SELECT run_id, tag FROM tags WHERE {in_runs} ORDER BY tag", args
    ):
        if run_id in position:
            tags[position[run_id]].append(tag)
    columns: dict[str, Any] = {
        "id": [row[0] for row in rows],
        "name": [row[1] for row in rows],
        "status": shown,
        "created_at": pd.to_datetime([row[3] for row in rows], unit="s", utc=True),
        "ended_at": pd.to_datetime([row[4] for row in rows], unit="s", utc=True),
        "tags": tags,
    }
    extra: dict[str, list[Any]] = {}

    def put(column: str, run_id: int, value: Any) -> None:
        if run_id in position:
            if column not in extra:
                extra[column] = [None] * len(rows)
            extra[column][position[run_id]] = value

    for run_id, name, *stored in backend.read(
        f"SELECT run_id, name, {VALUE_COLUMNS} FROM params WHERE {in_runs}", args
    ):
        put(f"params.{name}", run_id, V.decode(Encoded(*stored), f"param {name!r}"))
    scalar = f"kind IN ({', '.join('?' * len(V.SCALAR_KINDS))})"
    for run_id, name, *stored in backend.read(
        f"SELECT run_id, name, {VALUE_COLUMNS}, chunks FROM fields WHERE {in_runs}"
        + ("" if objects else f" AND {scalar}"),
        [*args, *(() if objects else V.SCALAR_KINDS)],
    ):
        put(f"fields.{name}", run_id, fields.load(backend, run_id, name, tuple(stored)))
    if not objects:  # the others are named, so that they are seen, but their bytes not read
        unknown: list[tuple[str, str]] = []
        for run_id, name, kind in backend.read(
            f"SELECT run_id, name, kind FROM fields WHERE {in_runs} AND NOT ({scalar})"
            " ORDER BY name",
            [*args, *V.SCALAR_KINDS],
        ):
            if kind in V.ALL_KINDS:
                put(f"fields.{name}", run_id, f"<{kind}: runs_df(objects=True) loads it>")
            else:
                unknown.append((name, kind))
        _warn_unknown_kinds(unknown)
    for column in sorted(extra, key=lambda c: (not c.startswith("params."), c)):
        columns[column] = extra[column]
    columns.update(_metric_summaries(backend, in_runs, args, position))
    return pd.DataFrame(columns)


def _chosen(
    rows: list[tuple[Any, ...]], shown: list[str], asked: set[str]
) -> tuple[list[tuple[Any, ...]], list[str]]:
    """The rows whose shown status is one asked for (RUNNING and LOST differ only here)."""
    keep = [i for i, status in enumerate(shown) if status in asked]
    return [rows[i] for i in keep], [shown[i] for i in keep]


# Each metric's last value (at its greatest step), minimum and maximum, by the database; min
# and max leave out NaN and missing values, as pandas' do.
_SUMMARIES = (
    "SELECT g.run_id, g.name, g.lo, g.hi,"
    " (SELECT m.value FROM metrics m WHERE m.run_id = g.run_id AND m.name = g.name"
    " ORDER BY m.step DESC LIMIT 1),"
    " (SELECT m.value_bits FROM metrics m WHERE m.run_id = g.run_id AND m.name = g.name"
    " ORDER BY m.step DESC LIMIT 1)"
    " FROM (SELECT run_id, name, MIN(value) AS lo, MAX(value) AS hi FROM metrics"
    " WHERE {in_runs} GROUP BY run_id, name) g"
)


def _metric_summaries(
    backend: Backend, in_runs: str, args: list[Any], position: dict[int, int]
) -> dict[str, Any]:
    """metrics.<name>.last, .min and .max columns, in name order."""
    found: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for run_id, name, lo, hi, last, bits in backend.read(_SUMMARIES.format(in_runs=in_runs), args):
        row = position.get(run_id)
        if row is None:
            continue
        if name not in found:
            found[name] = (np.zeros((3, len(position))), np.ones((3, len(position)), dtype=bool))
        values, missing = found[name]
        last = V.float_from_columns(last, None if bits is None else bytes(bits))
        for i, value in enumerate((last, lo, hi)):
            if value is not None:
                values[i, row], missing[i, row] = value, False
    out: dict[str, Any] = {}
    for name in sorted(found):
        values, missing = found[name]
        for i, what in enumerate(("last", "min", "max")):
            mask = missing[i]
            out[f"metrics.{name}.{what}"] = (
                pd.arrays.FloatingArray(values[i], mask) if mask.any() else values[i]
            )
    return out


def _warn_unknown_kinds(unknown: list[tuple[str, str]]) -> None:
    """Fields of a kind this version cannot read (a newer tracker's) are named, not dropped."""
    if unknown:
        listed = ", ".join(f"{name!r} ({kind})" for name, kind in sorted(set(unknown))[:5])
        warnings.warn(
            f"tracker: runs_df() leaves out fields of kinds this version cannot read: {listed}; "
            f"upgrade the tracker to see them",
            TrackerWarning,
            stacklevel=3,
        )


METRIC_COLUMNS = ["run_id", "run_name", "name", "step", "value", "time"]


def metrics_frame(
    backend: Backend, where: str, params: Sequence[Any], logged_at: str = "m.logged_at"
) -> pd.DataFrame:
    """Metric values matching a condition on `m` (and `r`, their run): run_id, run_name,
    name, step, value, time (when it was logged, UTC), in run, name and step order.

    `value` is float64; when some values were logged as None it is pandas' nullable
    Float64, so a missing value (NA) stays apart from a NaN. `logged_at` is NULL for a
    database of schema 2, which did not keep the time of a value.
    """
    rows = backend.read(
        f"SELECT m.run_id, r.name, m.name, m.step, m.value, {logged_at}, m.value_bits"
        f" FROM metrics m JOIN runs r ON r.id = m.run_id WHERE {where}"
        " ORDER BY m.run_id, m.name, m.step",
        params,
    )
    if not rows:
        return pd.DataFrame(
            {
                "run_id": np.array([], dtype=np.int64),
                "run_name": np.array([], dtype=object),
                "name": np.array([], dtype=object),
                "step": np.array([], dtype=np.int64),
                "value": np.array([], dtype=np.float64),
                "time": pd.to_datetime(np.array([], dtype=np.float64), unit="s", utc=True),
            }
        )
    frame = pd.DataFrame(rows, columns=[*METRIC_COLUMNS, "bits"])
    bits = frame.pop("bits").to_numpy()
    kept = pd.notna(bits)  # NaN and -0.0: their exact bytes, SQL holds neither
    value = frame["value"].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    missing = frame["value"].isna().to_numpy() & ~kept
    for i in np.flatnonzero(kept).tolist():
        value[i] = V.float_from_columns(None, bytes(bits[i]))
    frame["value"] = pd.arrays.FloatingArray(value, missing) if missing.any() else value
    times = frame["time"].to_numpy(dtype=np.float64, na_value=np.nan)
    frame["time"] = pd.to_datetime(times, unit="s", utc=True)
    return frame
