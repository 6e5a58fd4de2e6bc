"""Read back: the writer logs as many_runs does; a new process reads it all into one table.

The reader (`worker.py --read`) imports the framework (read_import_ns), then reads everything
back with the framework's reader and builds the long table below: that is read_ns, the
way a notebook reads a job's results the next day. Half way through the writing, the writer
pauses while another process reads the store in use, as a dashboard or a notebook does
during training: how many of the values logged by then it did not see (`live_lag_values`).
"""

from __future__ import annotations

import math
from typing import Any

from adapters.base import MANY_RUNS, READ_BACK, STEPS, RunData
from scenarios.workloads.base import Workload
from scenarios.workloads.values import ManyRunsInputs, many_runs_log, many_runs_prepare


def _prepare(params: dict[str, Any]) -> ManyRunsInputs:
    return many_runs_prepare(params, "readback")


def long_table(runs: list[RunData]) -> dict[str, Any]:
    """Runs as one long table (run, metric, step, value columns as NumPy arrays)."""
    import numpy as np  # only the workloads that read back import numpy

    run_col: list[str] = []
    name_col: list[str] = []
    steps: list[int] = []
    values: list[Any] = []
    for run in runs:
        for name, series in run.metrics.items():
            run_col.extend([run.run_name] * len(series))
            name_col.extend([name] * len(series))
            for step, value in series:
                steps.append(step)
                values.append(value)
    return {
        "run": np.array(run_col, dtype=object),
        "metric": np.array(name_col, dtype=object),
        "step": np.array(steps, dtype=np.int64),
        "value": np.array([math.nan if v is None else v for v in values], dtype=np.float64),
    }


READBACK = Workload(
    name="readback",
    doc="log n_runs x n_values as many_runs does; a new process reads everything back into "
    "a long table (read_ns)",
    run=many_runs_log,
    prepare=_prepare,
    defaults={"n_runs": 10, "n_values": 10},
    param_docs={"n_runs": "runs logged, then read back", "n_values": "steps of each run"},
    needs=frozenset({STEPS, MANY_RUNS, READ_BACK}),
    live_read_after=lambda params: max(params["n_runs"] * params["n_values"] // 2, 1),
)
