"""Scalar values: the cheapest cell (startup), one run at high frequency, wide steps, many runs."""

from __future__ import annotations

from typing import Any, NamedTuple

from adapters.base import MANY_RUNS, STEPS, Adapter
from scenarios.workloads.base import Workload, floats, log_rows, log_runs, log_series, named_rows


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


def _high_frequency_prepare(params: dict[str, Any]) -> list[float]:
    return floats(0, params["n_values"])


def _high_frequency_run(t: Adapter, values: list[float]) -> None:
    log_series(t, "high_frequency", values)


HIGH_FREQUENCY = Workload(
    name="high_frequency",
    doc="1 run, n_values float values, one per step",
    run=_high_frequency_run,
    prepare=_high_frequency_prepare,
    defaults={"n_values": 1000},
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
    needs=frozenset({STEPS}),
)


class ManyRunsInputs(NamedTuple):
    """n_runs lists of n_values floats."""

    experiment: str
    values: list[list[float]]


def many_runs_prepare(params: dict[str, Any], experiment: str = "many_runs") -> ManyRunsInputs:
    """n_runs x n_values seeded floats, to be logged into `experiment`."""
    flat = floats(1, params["n_runs"] * params["n_values"])
    n = params["n_values"]
    return ManyRunsInputs(experiment, [flat[i * n : (i + 1) * n] for i in range(params["n_runs"])])


def many_runs_log(t: Adapter, inputs: ManyRunsInputs) -> None:
    """Log every run of `inputs`."""
    log_runs(t, inputs.experiment, inputs.values)


MANY_RUNS_WORKLOAD = Workload(
    name="many_runs",
    doc="n_runs runs in one process, n_values float values each",
    run=many_runs_log,
    prepare=many_runs_prepare,
    defaults={"n_runs": 10, "n_values": 10},
    needs=frozenset({STEPS, MANY_RUNS}),
)
