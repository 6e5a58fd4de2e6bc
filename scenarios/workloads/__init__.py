"""The workloads: each one function written only against the adapter interface, plus its data.

    base         what a workload is; values and runs several of them log
    recorder     what a workload should have stored, replayed into an in-memory adapter
    contract     the contract every adapter's test runs
    values       startup, high_frequency, wide_steps, many_runs
    arrays       arrays, large_array
    readback     readback
    concurrency  concurrency (writer processes)
    training     training_loop
    loop         loop_overhead (a loop doing real work, tracked and untracked)
    long_run     long_run (memory over a long run; own_tree measures the writer's processes)
    crash        crash (the writer killed mid-run; what a new process reads)
    edge_values  fidelity (the values that break trackers; not timed)

Values come from a seeded generator in `prepare` (untimed), so every framework logs exactly
the same data; experiment names are the scenario names; run names are unique within a cell.
Standard library only at import: the worker imports this in every framework's environment.
"""

from __future__ import annotations

from scenarios.workloads.arrays import ARRAYS_WORKLOAD, LARGE_ARRAY
from scenarios.workloads.base import Workload
from scenarios.workloads.concurrency import CONCURRENCY_WORKLOAD
from scenarios.workloads.contract import CONTRACT
from scenarios.workloads.crash import CRASH
from scenarios.workloads.edge_values import FIDELITY
from scenarios.workloads.long_run import LONG_RUN
from scenarios.workloads.loop import LOOP_OVERHEAD
from scenarios.workloads.readback import READBACK
from scenarios.workloads.training import TRAINING_LOOP
from scenarios.workloads.values import HIGH_FREQUENCY, MANY_RUNS_WORKLOAD, STARTUP, WIDE_STEPS

__all__ = ["CONTRACT", "SCENARIOS", "WORKLOADS", "Workload", "get"]

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
    "wide_steps",
    "loop_overhead",
    "long_run",
    "crash",
    "fidelity",
)
WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (CONTRACT, STARTUP, HIGH_FREQUENCY, MANY_RUNS_WORKLOAD, ARRAYS_WORKLOAD,
              LARGE_ARRAY, READBACK, CONCURRENCY_WORKLOAD, TRAINING_LOOP, WIDE_STEPS,
              LOOP_OVERHEAD, LONG_RUN, CRASH, FIDELITY)
}  # fmt: skip


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
