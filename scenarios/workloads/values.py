"""Scalar values: the cheapest cell (startup), one run at high frequency, wide steps, many runs."""

from __future__ import annotations

from typing import Any, NamedTuple

from adapters.base import MANY_RUNS, STEPS, Adapter
from scenarios.workloads.base import (
    Steps,
    Workload,
    floats,
    log_rows,
    log_runs,
    log_series,
    named_rows,
    with_metrics,
)

# high_frequency and many_runs: the scenario's own metric ("value") first
N_METRICS_DOC = "metrics logged each step: value, then seeded floats metric_01 .."


def _startup_prepare(params: dict[str, Any]) -> dict[str, Any]:
    return params


def _startup_run(t: Adapter, inputs: dict[str, Any]) -> None:
    t.start_run("startup", "run-0", {})
    t.log({"value": 0.5}, 0)
    t.end_run()


STARTUP = Workload(
    name="startup",
    doc="1 run, 1 value, no NumPy",
    run=_startup_run,
    prepare=_startup_prepare,
)


def _high_frequency_prepare(params: dict[str, Any]) -> Steps:
    return with_metrics(10, floats(0, params["n_values"]), params["n_metrics"])


def _high_frequency_run(t: Adapter, steps: Steps) -> None:
    log_series(t, "high_frequency", steps)


HIGH_FREQUENCY = Workload(
    name="high_frequency",
    doc="1 run, n_values steps of n_metrics float values each",
    run=_high_frequency_run,
    prepare=_high_frequency_prepare,
    defaults={"n_values": 1000, "n_metrics": 1},
    param_docs={"n_values": "steps of the one run", "n_metrics": N_METRICS_DOC},
    least={"n_metrics": 1},
    needs=frozenset({STEPS}),
)


def _wide_steps_prepare(params: dict[str, Any]) -> list[dict[str, float]]:
    return named_rows(2, params["n_steps"], params["n_metrics"], width=4)


def _wide_steps_run(t: Adapter, rows: list[dict[str, float]]) -> None:
    log_rows(t, "wide_steps", rows, {})


WIDE_STEPS = Workload(
    name="wide_steps",
    doc="1 run, n_steps steps of n_metrics names each: the cost of many keys",
    run=_wide_steps_run,
    prepare=_wide_steps_prepare,
    defaults={"n_steps": 10, "n_metrics": 1000},
    param_docs={
        "n_steps": "steps of the one run",
        "n_metrics": "metrics logged each step (metric_0000 ..), a new name each",
    },
    needs=frozenset({STEPS}),
)


class ManyRunsInputs(NamedTuple):
    """n_runs lists of n_values steps (floats, or rows of n_metrics floats)."""

    experiment: str
    values: list[Steps]


def many_runs_prepare(params: dict[str, Any], experiment: str = "many_runs") -> ManyRunsInputs:
    """n_runs x n_values steps of seeded floats, to be logged into `experiment`."""
    n, n_runs = params["n_values"], params["n_runs"]
    # readback logs as many_runs does, one metric a step (it has no n_metrics)
    steps = with_metrics(11, floats(1, n_runs * n), params.get("n_metrics", 1))
    return ManyRunsInputs(experiment, [steps[i * n : (i + 1) * n] for i in range(n_runs)])


def many_runs_log(t: Adapter, inputs: ManyRunsInputs) -> None:
    """Log every run of `inputs`."""
    log_runs(t, inputs.experiment, inputs.values)


MANY_RUNS_WORKLOAD = Workload(
    name="many_runs",
    doc="n_runs runs in one process, n_values steps of n_metrics float values each",
    run=many_runs_log,
    prepare=many_runs_prepare,
    defaults={"n_runs": 10, "n_values": 10, "n_metrics": 1},
    param_docs={
        "n_runs": "runs, one after another, in one process",
        "n_values": "steps of each run",
        "n_metrics": N_METRICS_DOC,
    },
    least={"n_metrics": 1},
    needs=frozenset({STEPS, MANY_RUNS}),
)
