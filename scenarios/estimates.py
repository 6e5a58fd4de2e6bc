"""Rough cost estimates of cells: the ETA before any cell has run, and a grid's time budget.

Each estimate runs the planned cells, in the runner's order, through the runner's own limits
(`scenarios/limits.py`), so a cell the budget would skip is estimated as skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from results import schema as S
from scenarios import grids, plan, workloads
from scenarios.envs import split_label
from scenarios.limits import Limits


# Whole-process seconds of a one-value cell and seconds per logged value: the medians in
# ../shared/peers.md (fresh process, own environment, this machine kind, unloaded). Seconds
# per run: from the first quick suite here (2026-11-23, many_runs 10 x 10 less startup, scaled
# by 1/1.35, that suite's load against peers.md). Unknown frameworks get DEFAULT_ESTIMATE.
class Estimate(NamedTuple):
    """A framework's rough cost model: a start, a per-value and a per-run cost in seconds."""

    base: float
    per_value: float
    per_run: float
    per_mb: float = 0.01  # arrays: seconds per MB stored


ESTIMATES: dict[str, Estimate] = {
    "tracker": Estimate(0.1, 1e-6, 0.01),
    "sqlite": Estimate(0.06, 1e-6, 0.002),
    "numpy": Estimate(0.15, 1e-6, 0.01),
    "null": Estimate(0.06, 0.0, 0.0, 0.0),
    "mltraq": Estimate(1.13, 3e-5, 0.01),
    "mlflow": Estimate(4.83, 4.7e-3, 0.05),
    "mlflow-server": Estimate(6.0, 4.7e-3, 0.05),
    "wandb": Estimate(1.25, 2.3e-4, 0.03),
    "neptune": Estimate(2.88, 4e-4, 0.4),
    "aim": Estimate(2.83, 2.7e-4, 0.1),
    "comet": Estimate(1.63, 8e-5, 0.7),
    "fasttrackml": Estimate(3.63, 3.5e-3, 0.15),
    "sqltrack": Estimate(1.22, 7e-3, 0.25),
    "sacred": Estimate(0.28, 2e-5, 0.07),
    "ploomber": Estimate(4.0, 1e-4, 0.5),
    "trackio": Estimate(0.61, 1.5e-4, 0.03),
    "tensorboard": Estimate(0.22, 1.4e-4, 0.01),
    "dvclive": Estimate(0.61, 4.9e-3, 0.02),
    # issue 16's frameworks: from their first quick cells here (2026-12-03, lightly loaded),
    # whole-process seconds of startup, high_frequency of 1000 and many_runs of 10 x 10
    "swanlab": Estimate(1.14, 2e-4, 0.06),
    "neptune-scale": Estimate(1.19, 7.5e-4, 0.04),
    # ClearML's reporter writes every 5 s: a Task's close() takes about 10 s
    "clearml": Estimate(13.9, 6e-3, 10.0),
    "mlflow-async": Estimate(7.92, 1.4e-2, 0.5),
    "tracker-postgresql": Estimate(0.97, 2.7e-4, 0.01),
}
DEFAULT_ESTIMATE = Estimate(2.0, 1e-3, 0.2)
# What a cell costs beyond its writer processes, from the quick suite of 2026-12-03 here (61
# minutes, 43 of them in writer processes): the reader's new process imports the framework
# again (on average 0.9 times a one-value cell's whole process), and the manager's own work
# (spawning, snapshots, the fidelity check, the write) took 0.7 s a cell.
READER_SHARE = 0.9
MANAGER_SECONDS = 0.7
DECIDED_ESTIMATE = 0.0  # unsupported or skipped: decided by the manager, no process


def workload_size(scenario: str, params: Mapping[str, Any]) -> tuple[int, int, float]:
    """(runs, values, megabytes) a scenario's configuration logs."""
    runs = int(params.get("n_runs", 1)) * int(params.get("n_processes", 1))
    # steps x metrics a step: every value is one more a framework stores
    values = int(params.get("n_values", 1)) * int(params.get("n_metrics", 1)) * runs
    megabytes = 0.0
    if scenario == "arrays":
        megabytes = params.get("n_arrays", 1) * params.get("n_elements", 0) * 8 / 1e6
    elif scenario == "large_array":
        megabytes = params.get("n_elements", 0) / 1e6
    elif scenario == "training_loop":
        per_step = params.get("n_metrics", 2)  # loss and lr, then the extra metrics
        values = params.get("epochs", 1) * (params.get("steps_per_epoch", 1) * per_step + 2)
        megabytes = params.get("n_weights", 0) * 4 / 1e6
    elif scenario in ("wide_steps", "loop_overhead"):
        values = params.get("n_steps", 1) * params.get("n_metrics", 1)
    elif scenario == "long_run":
        values = params.get("n_steps", 1)
    elif scenario == "crash":  # killed half way on average, then read back
        values = params.get("n_values", 1)
    elif scenario == "fidelity":
        runs, values = 5 + 4, 1013 + 4  # its own runs, then 4 concurrent starts of one value
    return runs, values, megabytes


def estimate_seconds(framework: str, scenario: str, params: Mapping[str, Any]) -> float:
    """A rough whole-cell estimate in seconds (for the ETA and the quick grid's budget)."""
    est = ESTIMATES.get(split_label(framework)[0], DEFAULT_ESTIMATE)  # another version alike
    return writer_seconds(framework, scenario, params) + READER_SHARE * est.base + MANAGER_SECONDS


def writer_seconds(framework: str, scenario: str, params: Mapping[str, Any]) -> float:
    """A rough estimate of a cell's writer processes in seconds (`process_ns`, what the
    framework budget counts)."""
    est = ESTIMATES.get(split_label(framework)[0], DEFAULT_ESTIMATE)  # another version alike
    runs, values, megabytes = workload_size(scenario, params)
    seconds = est.base + values * est.per_value + runs * est.per_run + megabytes * est.per_mb
    if scenario in ("concurrency", "fidelity"):
        # every writer imports and opens the framework; the 2 cores take them two at a time
        seconds += est.base * params.get("n_processes", 4) / 2
    if scenario == "readback":
        seconds += values * est.per_value  # reading back costs about what writing did
    if scenario == "loop_overhead":  # the work of every step, tracked and untracked
        seconds += 2 * params.get("n_steps", 1) * params.get("step_us", 0) / 1e6
    return seconds


def estimate_cells(
    cells: Sequence[plan.Cell], supports: Mapping[str, Iterable[str]], limits: Limits
) -> list[float]:
    """Each cell's estimated seconds, in order: 0 for those unsupported or that the limits
    (as they stand in `limits`, which is left unchanged) would skip."""
    trial = limits.copy()
    out = []
    for cell in cells:
        declared = supports.get(cell.framework, ())
        if workloads.get(cell.scenario).missing(declared) or trial.why_skip(cell):
            out.append(DECIDED_ESTIMATE)
            continue
        writer = writer_seconds(cell.framework, cell.scenario, cell.config)
        trial.record(cell, S.OK, int(writer * 1e9))
        out.append(estimate_seconds(cell.framework, cell.scenario, cell.config))
    return out


def estimate_suite_seconds(grid: grids.Grid, supports: Mapping[str, Iterable[str]]) -> float:
    """A whole suite of `grid` for these frameworks (name -> what it declares), in seconds."""
    cells = plan.plan_cells(list(supports), plan.scenario_configs(grid), grid.repeat)
    return sum(estimate_cells(plan.order(cells, seed=0), supports, Limits.of(grid)))
