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
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    LARGE_ARRAYS,
    MANY_RUNS,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Unsupported,
)


# NamedTuple rather than a dataclass: `dataclasses` pulls in `inspect`, ~10 ms of every
# worker's start-up, which is the harness's own cost in every cell.
class Workload(NamedTuple):
    """A named workload: default parameters, an untimed `prepare` and the timed `run`."""

    name: str
    doc: str
    run: Callable[[Adapter, Any], None]
    prepare: Callable[[dict[str, Any]], Any]
    defaults: Mapping[str, Any] = {}
    # capabilities the adapter must declare, or the cell is `unsupported`
    needs: frozenset[str] = frozenset()

    def params(self, given: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The defaults updated with `given`; unknown names are an error."""
        given = dict(given or {})
        unknown = sorted(set(given) - set(self.defaults))
        if unknown:
            known = ", ".join(sorted(self.defaults)) or "none"
            raise KeyError(
                f"workload {self.name!r} has no parameter {unknown[0]!r}; known: {known}"
            )
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


class ContractInputs(NamedTuple):
    """The contract workload's inputs, built before anything is timed."""

    params: dict[str, Any]
    values: list[float]
    array: Any  # a read-only float64 numpy array


def _contract_prepare(params: dict[str, Any]) -> ContractInputs:
    import random

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
    if STEPS in t.supports:
        for step, value in enumerate(inputs.values):
            t.log({"loss": value}, step)
    else:  # a framework without series gets the same values as as many names, at one step
        t.log({f"value_{i:03d}": value for i, value in enumerate(inputs.values)}, 0)
    if ARRAYS in t.supports:
        t.log_array("weights", inputs.array)
    t.end_run()


CONTRACT = Workload(
    name="contract",
    doc="1 run: 3 params, 100 floats (NaN, -0.0, inf among them) over steps 0..99 (or as "
    "100 names without steps), one float64 array of 1000 elements (with arrays)",
    run=_contract_run,
    prepare=_contract_prepare,
    defaults={"values": 100, "array_elements": 1000, "seed": 0},
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
    """The workload called `name`, or a Workload at "module:NAME"; KeyError if unknown."""
    if name in WORKLOADS:
        return WORKLOADS[name]
    module_name, _, attr = name.partition(":")
    if attr:  # a workload defined elsewhere (tests, a user's own module)
        import importlib

        found = getattr(importlib.import_module(module_name), attr, None)
        if isinstance(found, Workload):
            return found
    raise KeyError(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")


# --- the benchmark scenarios (issue 4) ------------------------------------------------------
# Every workload below is written only against the adapter interface. Values come from a
# seeded generator in `prepare` (untimed), so every framework logs exactly the same data.
# Experiment names are the scenario names; run names are unique within a cell.


def _floats(seed: int, count: int) -> list[float]:
    import random  # only where values are generated: keeps `startup` free of it

    rng = random.Random(seed)
    return [rng.random() for _ in range(count)]


def _high_frequency_prepare(params: dict[str, Any]) -> list[float]:
    return _floats(0, params["n_values"])


def _high_frequency_run(t: Adapter, values: list[float]) -> None:
    t.start_run("high_frequency", "run-0", {})
    for step, value in enumerate(values):
        t.log({"value": value}, step)
    t.end_run()


HIGH_FREQUENCY = Workload(
    name="high_frequency",
    doc="1 run, n_values float values, one per step",
    run=_high_frequency_run,
    prepare=_high_frequency_prepare,
    defaults={"n_values": 1000},
    needs=frozenset({STEPS}),
)


class ManyRunsInputs(NamedTuple):
    """n_runs lists of n_values floats."""

    experiment: str
    values: list[list[float]]


def _many_runs_prepare(params: dict[str, Any]) -> ManyRunsInputs:
    flat = _floats(1, params["n_runs"] * params["n_values"])
    n = params["n_values"]
    return ManyRunsInputs("many_runs", [flat[i * n : (i + 1) * n] for i in range(params["n_runs"])])


def _log_runs(t: Adapter, experiment: str, values: list[list[float]], prefix: str = "") -> None:
    """One run per list, one value per step; the run index as the run's only param."""
    for index, series in enumerate(values):
        t.start_run(experiment, f"{prefix}run-{index}", {"index": index})
        for step, value in enumerate(series):
            t.log({"value": value}, step)
        t.end_run()


def _many_runs_run(t: Adapter, inputs: ManyRunsInputs) -> None:
    _log_runs(t, inputs.experiment, inputs.values)


MANY_RUNS_WORKLOAD = Workload(
    name="many_runs",
    doc="n_runs runs in one process, n_values float values each",
    run=_many_runs_run,
    prepare=_many_runs_prepare,
    defaults={"n_runs": 10, "n_values": 10},
    needs=frozenset({STEPS, MANY_RUNS}),
)


def _arrays_prepare(params: dict[str, Any]) -> list[Any]:
    import numpy as np  # only workloads with arrays import numpy

    rng = np.random.default_rng(2)
    arrays = []
    for _ in range(params["n_arrays"]):
        # distinct contents: a framework that deduplicates equal blobs gains nothing here
        array = rng.standard_normal(params["n_elements"])
        array.flags.writeable = False  # an adapter that writes into its input fails loudly
        arrays.append(array)
    return arrays


def _arrays_run(t: Adapter, arrays: list[Any]) -> None:
    t.start_run("arrays", "run-0", {})
    for index, array in enumerate(arrays):
        t.log_array(f"array_{index:03d}", array)
    t.end_run()


ARRAYS_WORKLOAD = Workload(
    name="arrays",
    doc="1 run, n_arrays float64 arrays of n_elements each (random, distinct)",
    run=_arrays_run,
    prepare=_arrays_prepare,
    defaults={"n_arrays": 1, "n_elements": 10_000},
    needs=frozenset({ARRAYS}),
)


def _large_array_prepare(params: dict[str, Any]) -> Any:
    import numpy as np  # only workloads with arrays import numpy

    # random bytes rather than zeros: a framework that compresses must not look fast
    data = np.random.default_rng(3).bytes(params["n_elements"])
    array = np.frombuffer(data, dtype=np.int8)  # read-only: it views immutable bytes
    return array


def _large_array_run(t: Adapter, array: Any) -> None:
    t.start_run("large_array", "run-0", {})
    t.log_array("large", array)
    t.end_run()


LARGE_ARRAY = Workload(
    name="large_array",
    doc="1 run, one int8 array of n_elements (10^8 = 100 MB .. 10^9 = 1 GB), random bytes",
    run=_large_array_run,
    prepare=_large_array_prepare,
    defaults={"n_elements": 100_000_000},
    needs=frozenset({ARRAYS, LARGE_ARRAYS}),
)


def _nothing() -> None:
    """Stands in for finish() once the workload has called it itself."""


def _readback_prepare(params: dict[str, Any]) -> ManyRunsInputs:
    inputs = _many_runs_prepare(params)
    return ManyRunsInputs("readback", inputs.values)


def _readback_run(t: Adapter, inputs: ManyRunsInputs) -> None:
    # Log as many_runs does, make it durable, then read it all back into a long table.
    # The read is inside the timed workload because the worker times no read phase yet:
    # log_ns here is log + finish + read, so the read alone is this cell's log_ns less the
    # many_runs cell's log_ns + finish_ns at the same size (a `read_ns` hook is proposed).
    _log_runs(t, inputs.experiment, inputs.values)
    if isinstance(t, Recorder):  # replaying what was logged: there is nothing to read
        return
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
    run=_readback_run,
    prepare=_readback_prepare,
    defaults={"n_runs": 10, "n_values": 10},
    needs=frozenset({STEPS, MANY_RUNS, READ_BACK}),
)


class ConcurrencyInputs(NamedTuple):
    """What each writer process logs: values[process][run] is a list of floats."""

    n_processes: int
    values: list[list[list[float]]]


def _concurrency_prepare(params: dict[str, Any]) -> ConcurrencyInputs:
    n_proc, n_runs, n_values = params["n_processes"], params["n_runs"], params["n_values"]
    values = [[_floats(1000 * p + r, n_values) for r in range(n_runs)] for p in range(n_proc)]
    return ConcurrencyInputs(n_proc, values)


# The writer processes run this with the worker's interpreter in isolated mode; the adapter's
# environment variables are inherited from the worker, which set them before its own load().
_WRITER = """
import json, sys
spec = json.loads(sys.argv[1])
sys.path.append(spec["root"])
from scenarios.workloads import concurrency_writer
concurrency_writer(spec)
"""


def concurrency_writer(spec: dict[str, Any]) -> None:
    """One writer process: load, open the shared store, wait for the start, log, finish."""
    import sys
    from pathlib import Path

    from adapters.registry import resolve

    adapter = resolve(spec["adapter"])()
    adapter.load()
    adapter.open(Path(spec["workdir"]), None)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()  # the start signal: every writer logs at the same time
    inputs = _concurrency_prepare(spec["params"])
    _log_runs(adapter, "concurrency", inputs.values[spec["index"]], f"p{spec['index']}-")
    adapter.finish()


def _concurrency_run(t: Adapter, inputs: ConcurrencyInputs) -> None:
    if isinstance(t, Recorder):  # replaying what the writers logged
        for index, runs in enumerate(inputs.values):
            _log_runs(t, "concurrency", runs, f"p{index}-")
        return
    import json
    import os
    import subprocess
    import sys

    cls = type(t)
    if cls.service_argv is not Adapter.service_argv:
        raise Unsupported(
            "concurrent writers through a local server need the worker to hand "
            "the workload its service (not available yet)"
        )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    params = {
        "n_processes": inputs.n_processes,
        "n_runs": len(inputs.values[0]),
        "n_values": len(inputs.values[0][0]) if inputs.values[0] else 0,
    }
    writers = []
    for index in range(inputs.n_processes):
        spec = {
            "adapter": f"{cls.__module__}:{cls.__qualname__}",
            "root": root,
            "workdir": os.getcwd(),
            "params": params,
            "index": index,
        }
        writers.append(
            subprocess.Popen(
                [sys.executable, "-I", "-c", _WRITER, json.dumps(spec)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        )
    try:
        for proc in writers:  # every writer has imported and opened the store (or died)
            assert proc.stdout is not None
            for line in iter(proc.stdout.readline, b""):  # a framework may print first
                if line.strip() == b"ready":
                    break
        for proc in writers:
            if proc.stdin is not None and proc.poll() is None:
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
        failures = []
        for index, proc in enumerate(writers):
            _out, err = proc.communicate()
            if proc.returncode != 0:
                tail = err.decode("utf-8", "replace").strip()[-600:]
                failures.append(f"writer {index} exited {proc.returncode}: {tail}")
        if failures:
            raise RuntimeError(f"{len(failures)} of {len(writers)} writers failed; {failures[0]}")
    finally:
        for proc in writers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


CONCURRENCY_WORKLOAD = Workload(
    name="concurrency",
    doc="n_processes writer processes (each: import, open, then n_runs x n_values) logging "
    "into one store at once after a common start; timed as the whole concurrent phase",
    run=_concurrency_run,
    prepare=_concurrency_prepare,
    defaults={"n_processes": 4, "n_runs": 2, "n_values": 10},
    needs=frozenset({STEPS, MANY_RUNS, CONCURRENCY}),
)


class TrainingInputs(NamedTuple):
    """A training run's data: params, per-step (loss, lr), per-epoch evaluation, weights."""

    params: dict[str, Any]
    steps: list[tuple[float, float]]
    evaluations: list[dict[str, float]]
    steps_per_epoch: int
    weights: Any  # a read-only float32 numpy array


def _training_prepare(params: dict[str, Any]) -> TrainingInputs:
    import random

    import numpy as np  # the final weights are an array

    rng = random.Random(4)
    epochs, per_epoch = params["epochs"], params["steps_per_epoch"]
    total = epochs * per_epoch
    base_lr = 0.001
    steps = []
    for step in range(total):
        lr = base_lr * 0.5 * (1 + math.cos(math.pi * step / total))  # cosine schedule
        loss = 2.3 * math.exp(-3 * step / total) * (1 + 0.05 * rng.gauss(0, 1))
        steps.append((loss, lr))
    evaluations = [
        {
            "val_loss": 2.3 * math.exp(-3 * (e + 1) / epochs) + 0.05 * rng.random(),
            "val_accuracy": 1 - math.exp(-(e + 1)) * rng.uniform(0.8, 1.0),
        }
        for e in range(epochs)
    ]
    weights = np.random.default_rng(4).standard_normal(params["n_weights"]).astype(np.float32)
    weights.flags.writeable = False
    run_params = {
        "lr": base_lr,
        "batch_size": 64,
        "optimizer": "adamw",
        "epochs": epochs,
        "weight_decay": 0.01,
        "model": "mlp-2x256",
    }
    return TrainingInputs(run_params, steps, evaluations, per_epoch, weights)


def _training_run(t: Adapter, inputs: TrainingInputs) -> None:
    t.start_run("training_loop", "run-0", inputs.params)
    per_epoch = inputs.steps_per_epoch
    for epoch, evaluation in enumerate(inputs.evaluations):
        first = epoch * per_epoch
        for step in range(first, first + per_epoch):
            loss, lr = inputs.steps[step]
            t.log({"loss": loss, "lr": lr}, step)
        # evaluated at the epoch's last step, as most training loops report it
        t.log(evaluation, first + per_epoch - 1)
    if ARRAYS in t.supports:
        t.log_array("weights", inputs.weights)
    t.end_run()


TRAINING_LOOP = Workload(
    name="training_loop",
    doc="1 run: 6 params, epochs x steps_per_epoch steps of loss and lr, val_loss and "
    "val_accuracy per epoch, final float32 weights of n_weights (with arrays)",
    run=_training_run,
    prepare=_training_prepare,
    defaults={"epochs": 3, "steps_per_epoch": 100, "n_weights": 10_000},
    needs=frozenset({STEPS}),
)

# the benchmark's scenarios, in the order `trackbench list` shows them
SCENARIOS: tuple[str, ...] = (
    "startup",
    "high_frequency",
    "many_runs",
    "arrays",
    "large_array",
    "readback",
    "concurrency",
    "training_loop",
)
WORKLOADS.update(
    (w.name, w)
    for w in (HIGH_FREQUENCY, MANY_RUNS_WORKLOAD, ARRAYS_WORKLOAD, LARGE_ARRAY, READBACK,
              CONCURRENCY_WORKLOAD, TRAINING_LOOP)
)  # fmt: skip
