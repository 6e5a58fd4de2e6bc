"""Read back: log as many_runs does, make it durable, then read everything into one table."""

from __future__ import annotations

import math
from typing import Any

from adapters.base import MANY_RUNS, READ_BACK, STEPS, Adapter, RunData
from scenarios.workloads.base import Workload
from scenarios.workloads.values import ManyRunsInputs, many_runs_log, many_runs_prepare


def _nothing() -> None:
    """Stands in for finish() once the workload has called it itself."""


def _prepare(params: dict[str, Any]) -> ManyRunsInputs:
    return many_runs_prepare(params, "readback")


def _run(t: Adapter, inputs: ManyRunsInputs) -> None:
    # The read is inside the timed workload because the worker times no read phase yet:
    # log_ns here is log + finish + read, so the read alone is this cell's log_ns less the
    # many_runs cell's log_ns + finish_ns at the same size (a `read_ns` hook is proposed).
    many_runs_log(t, inputs)
    t.finish()
    # an instance attribute shadows the method: the worker's own finish() must not close
    # the store a second time (its finish_ns is then ~0 for every framework alike)
    setattr(t, "finish", _nothing)  # noqa: B010
    long_table(t.read_back())


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
    doc="log n_runs x n_values as many_runs does, finish, then read everything back into a "
    "long table (timed inside log_ns, see the code)",
    run=_run,
    prepare=_prepare,
    defaults={"n_runs": 10, "n_values": 10},
    needs=frozenset({STEPS, MANY_RUNS, READ_BACK}),
    expected=many_runs_log,
)
