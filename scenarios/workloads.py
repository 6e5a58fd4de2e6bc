"""Workloads: each one function written only against the adapter interface, plus its data.

A workload has default parameters (data), a `prepare(params)` that builds its inputs before
anything is timed, and a `run(adapter, inputs)` that the worker times as the `log` phase
(less the summed `start_run` and `end_run`). The same `run` replayed against a `Recorder`
after the timed phases gives what the framework should have stored, so the timed loop
never pays for bookkeeping.

Imports only the standard library; NumPy is imported by the workloads that build arrays.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from adapters.base import ARRAYS, STEPS, Adapter, RunData


@dataclass(frozen=True)
class Workload:
    """A named workload: default parameters, an untimed `prepare` and the timed `run`."""

    name: str
    doc: str
    run: Callable[[Adapter, Any], None]
    prepare: Callable[[dict[str, Any]], Any]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    # capabilities the adapter must declare, or the cell is `unsupported`
    needs: frozenset[str] = frozenset()

    def params(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults updated with `given`; unknown names are an error."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted(self.defaults)) or "none"
            raise KeyError(f"workload {self.name!r} has no parameter {unknown[0]!r}; known: {known}")
        return {**self.defaults, **given}


class Recorder(Adapter):
    """An in-memory adapter: replaying a workload into it gives the data it logged."""

    name = "recorder"

    def __init__(self) -> None:
        self.runs: list[RunData] = []

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Start recording one run."""
        self.runs.append(RunData(experiment, run_name, dict(params), {}, {}))

    def log(self, values: dict[str, float], step: int) -> None:
        """Record one value per name at `step`."""
        metrics = self.runs[-1].metrics
        for key, value in values.items():
            metrics.setdefault(key, []).append((step, value))

    def log_array(self, name: str, array: Any) -> None:
        """Record the array itself (inputs are read-only, so no copy is needed)."""
        self.runs[-1].arrays[name] = array

    def end_run(self) -> None:
        """Nothing to do: the run is already recorded."""


def expected_runs(workload: Workload, inputs: Any, adapter_cls: type[Adapter]) -> list[RunData]:
    """What `workload` logs into an adapter of `adapter_cls`, replayed into a Recorder."""
    # The recorder declares what the real adapter declares, so a workload that adapts to
    # `supports` (e.g. skips arrays) records the same thing it asked the real one to store.
    recorder_cls = type("Recorder", (Recorder,), {"supports": adapter_cls.supports})
    recorder = recorder_cls()
    workload.run(recorder, inputs)
    for run in recorder.runs:
        for series in run.metrics.values():
            series.sort(key=lambda point: point[0])  # RunData promises step order
    return recorder.runs


# --- contract: what every adapter's contract test runs ---------------------------------

# Values a tracker must keep bit for bit, at fixed steps among ordinary random floats.
SPECIAL_FLOATS: dict[int, float] = {
    3: math.nan,
    5: -0.0,
    7: math.inf,
    11: -math.inf,
    13: 5e-324,  # the smallest subnormal
    17: 1.7976931348623157e308,  # the largest finite float64
    19: 0.1,  # not exactly representable: rounding through text or float32 shows here
}


@dataclass(frozen=True)
class ContractInputs:
    """The contract workload's inputs, built before anything is timed."""

    params: dict[str, Any]
    values: list[float]
    array: Any  # a read-only float64 numpy array


def _contract_prepare(params: dict[str, Any]) -> ContractInputs:
    import numpy as np  # only workloads with arrays import numpy

    rng = random.Random(params["seed"])
    values = [rng.random() for _ in range(params["values"])]
    for step, special in SPECIAL_FLOATS.items():
        if step < len(values):
            values[step] = special
    array = np.random.default_rng(params["seed"]).standard_normal(params["array_elements"])
    array.flags.writeable = False  # an adapter that writes into its input fails loudly
    run_params = {"lr": 0.001, "batch_size": 32, "optimizer": "adam"}
    return ContractInputs(params=run_params, values=values, array=array)


def _contract_run(t: Adapter, inputs: ContractInputs) -> None:
    t.start_run("contract", "run-0", inputs.params)
    for step, value in enumerate(inputs.values):
        t.log({"loss": value}, step)
    if ARRAYS in t.supports:
        t.log_array("weights", inputs.array)
    t.end_run()


CONTRACT = Workload(
    name="contract",
    doc="1 run: 3 params, 100 floats (NaN, -0.0, inf among them) over steps 0..99, "
    "one float64 array of 1000 elements",
    run=_contract_run,
    prepare=_contract_prepare,
    defaults={"values": 100, "array_elements": 1000, "seed": 0},
    needs=frozenset({STEPS}),
)


# --- startup: the cheapest possible cell, also the harness's own cost with `null` ---------


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


WORKLOADS: dict[str, Workload] = {w.name: w for w in (CONTRACT, STARTUP)}


def get(name: str) -> Workload:
    """The workload called `name`; a KeyError naming the known ones otherwise."""
    try:
        return WORKLOADS[name]
    except KeyError:
        raise KeyError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}") from None
