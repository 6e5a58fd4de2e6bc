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
    backend: Backend, experiment_id: int, objects: bool, writer_columns: str, mine: set[int]
) -> pd.DataFrame:
    """One row per run of an experiment, params and fields as prefixed columns.

    `mine`: the runs open in this process (alive whatever their last sign of life says).
    """
    runs = backend.read(
        f"SELECT id, name, status, created_at, ended_at, {writer_columns} FROM runs"
        " WHERE experiment_id = ? ORDER BY id",
        (experiment_id,),
    )
    in_experiment = "run_id IN (SELECT id FROM runs WHERE experiment_id = ?)"
    tags: dict[int, list[str]] = {}
    for run_id, tag in backend.read(
        f"SELECT run_id, tag FROM tags WHERE {in_experiment} ORDER BY tag", (experiment_id,)
    ):
        tags.setdefault(run_id, []).append(tag)
    columns: dict[str, Any] = {
        "id": [row[0] for row in runs],
        "name": [row[1] for row in runs],
        "status": [
            liveness.shown_status(row[2], row[5], row[6], row[7], row[0] in mine) for row in runs
        ],
        "created_at": pd.to_datetime([row[3] for row in runs], unit="s", utc=True),
        "ended_at": pd.to_datetime([row[4] for row in runs], unit="s", utc=True),
        "tags": [tags.get(row[0], []) for row in runs],
    }
    position = {row[0]: i for i, row in enumerate(runs)}
    extra: dict[str, list[Any]] = {}

    def put(column: str, run_id: int, value: Any) -> None:
        if column not in extra:
            extra[column] = [None] * len(runs)
        extra[column][position[run_id]] = value

    for run_id, name, *stored in backend.read(
        f"SELECT run_id, name, {VALUE_COLUMNS} FROM params WHERE {in_experiment}",
        (experiment_id,),
    ):
        put(f"params.{name}", run_id, V.decode(Encoded(*stored), f"param {name!r}"))
    kinds = "" if objects else f" AND kind IN ({', '.join('?' * len(V.SCALAR_KINDS))})"
    for run_id, name, *stored in backend.read(
        f"SELECT run_id, name, {VALUE_COLUMNS}, chunks FROM fields WHERE {in_experiment}{kinds}",
        (experiment_id, *(() if objects else V.SCALAR_KINDS)),
    ):
        put(f"fields.{name}", run_id, fields.load(backend, run_id, name, tuple(stored)))
    if not objects:
        _warn_unknown_kinds(backend, in_experiment, experiment_id)
    for column in sorted(extra, key=lambda c: (not c.startswith("params."), c)):
        columns[column] = extra[column]
    return pd.DataFrame(columns)


def _warn_unknown_kinds(backend: Backend, in_experiment: str, experiment_id: int) -> None:
    """Fields of a kind this version cannot read (a newer tracker's) are named, not dropped."""
    marks = ", ".join("?" * len(V.ALL_KINDS))
    unknown = backend.read(
        f"SELECT DISTINCT name, kind FROM fields WHERE {in_experiment} AND kind NOT IN ({marks})"
        " ORDER BY name",
        (experiment_id, *V.ALL_KINDS),
    )
    if unknown:
        listed = ", ".join(f"{name!r} ({kind})" for name, kind in unknown[:5])
        warnings.warn(
            f"tracker: runs_df() leaves out fields of kinds this version cannot read: {listed}; "
            f"upgrade the tracker to see them",
            TrackerWarning,
            stacklevel=3,
        )


def metrics_frame(backend: Backend, where: str, params: Sequence[Any]) -> pd.DataFrame:
    """Metric values matching a condition on `m`: run_id, name, step, value (long form).

    `value` is float64; when some values were logged as None it is pandas' nullable
    Float64, so a missing value (NA) stays apart from a NaN.
    """
    rows = backend.read(
        "SELECT m.run_id, m.name, m.step, m.value, m.value_bits FROM metrics m"
        f" WHERE {where} ORDER BY m.run_id, m.name, m.step",
        params,
    )
    if not rows:
        return pd.DataFrame(
            {
                "run_id": np.array([], dtype=np.int64),
                "name": np.array([], dtype=object),
                "step": np.array([], dtype=np.int64),
                "value": np.array([], dtype=np.float64),
            }
        )
    frame = pd.DataFrame(rows, columns=["run_id", "name", "step", "value", "bits"])
    bits = frame.pop("bits").to_numpy()
    kept = pd.notna(bits)  # NaN and -0.0: their exact bytes, SQL holds neither
    value = frame["value"].to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    missing = frame["value"].isna().to_numpy() & ~kept
    for i in np.flatnonzero(kept).tolist():
        value[i] = V.float_from_columns(None, bytes(bits[i]))
    frame["value"] = pd.arrays.FloatingArray(value, missing) if missing.any() else value
    return frame
