"""Raw samples for people who analyse elsewhere: one row per cell, as CSV and Parquet.

Columns: scenario, suite_id, machine, framework, framework_version, config, repetition,
schema_version, run_id, run_name, then every scenario's own parameters (empty where a scenario
has no such parameter), then the schema's fields in DESIGN.md order, then the fields of one
scenario's cells only (the fidelity matrix as JSON text). Integer measurements stay integers
(nullable), so nanoseconds and bytes keep every digit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from results import schema as S
from results.cells import HEADLINE_NS, NUMBER_FIELDS, Results, is_missing
from results.errors import need

if TYPE_CHECKING:
    import pandas as pd

CSV_NAME = "cells.csv"
PARQUET_NAME = "cells.parquet"


def cells_frame(results: Results, suite_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """The cells of the given suites (all when None), with integer columns as Int64."""
    cells = results.cells
    if suite_ids:
        for sid in suite_ids:
            results.check_suite(sid)
        cells = cells[cells[S.SUITE_ID].isin(list(suite_ids))]
    # the schema's columns only: outside_paths is a reader's aid, not a measurement
    frame = cells.drop(columns=[S.OUTSIDE_PATHS]).reset_index(drop=True)
    for column in (*NUMBER_FIELDS, HEADLINE_NS):
        present = frame[column].dropna()
        if all(float(v).is_integer() for v in present):
            frame[column] = frame[column].astype("Int64")
    for column in S.SCENARIO_FIELDS:  # a dict in some cells: one JSON text per cell
        frame[column] = [
            None if is_missing(v) else v if isinstance(v, str) else json.dumps(v, sort_keys=True)
            for v in frame[column]
        ]
    for column in frame.columns:
        if frame[column].dtype == object:
            kinds = {type(v) for v in frame[column] if not is_missing(v)}
            if len(kinds) > 1:
                # e.g. a parameter that is a number in one scenario and text in another:
                # Parquet needs one type per column, and text keeps each value as written
                frame[column] = [None if is_missing(v) else str(v) for v in frame[column]]
    return frame


def export(
    results: Results, out: Path, suite_ids: Sequence[str] | None = None
) -> tuple[Path, Path, int]:
    """Write cells.csv and cells.parquet into `out`; returns their paths and the row count."""
    need("pyarrow", "frames")  # Parquet needs it: say so before writing anything
    frame = cells_frame(results, suite_ids)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, parquet_path = out / CSV_NAME, out / PARQUET_NAME
    frame.to_csv(csv_path, index=False)
    frame.to_parquet(parquet_path, index=False)
    return csv_path, parquet_path, len(frame)
