"""Concurrency: several writer processes logging into one store at once, after a common start."""

from __future__ import annotations

from typing import Any, NamedTuple

from adapters.base import CONCURRENCY, MANY_RUNS, STEPS, Adapter, service_from_env
from scenarios.workloads.base import Workload, floats, log_runs


class ConcurrencyInputs(NamedTuple):
    """What each writer process logs: values[process][run] is a list of floats."""

    n_processes: int
    values: list[list[list[float]]]


def _concurrency_prepare(params: dict[str, Any]) -> ConcurrencyInputs:
    n_proc, n_runs, n_values = params["n_processes"], params["n_runs"], params["n_values"]
    values = [[floats(1000 * p + r, n_values) for r in range(n_runs)] for p in range(n_proc)]
    return ConcurrencyInputs(n_proc, values)


# The writer processes run this with the worker's interpreter in isolated mode; the adapter's
# environment variables are inherited from the worker, which set them before its own load().
_WRITER = """
import json, sys
spec = json.loads(sys.argv[1])
sys.path.append(spec["root"])
from scenarios.workloads.concurrency import writer
writer(spec)
"""


def writer(spec: dict[str, Any]) -> None:
    """One writer process: load, open the shared store, wait for the start, log, finish."""
    import sys
    from pathlib import Path

    from adapters.registry import resolve

    adapter = resolve(spec["adapter"])()
    adapter.load()
    adapter.open(Path(spec["workdir"]), service_from_env(Path(spec["workdir"])))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    sys.stdin.readline()  # the start signal: every writer logs at the same time
    inputs = _concurrency_prepare(spec["params"])
    index = spec["index"]
    log_runs(adapter, spec["experiment"], inputs.values[index], f"p{index}-")
    adapter.finish()


def _expected(t: Adapter, inputs: ConcurrencyInputs) -> None:
    """What the writers log between them."""
    for index, runs in enumerate(inputs.values):
        log_runs(t, "concurrency", runs, f"p{index}-")


def run_writers(t: Adapter, experiment: str, params: dict[str, Any]) -> list[str]:
    """Start params["n_processes"] writer processes of `t`'s framework on the cell's store,
    let them log their runs into `experiment` at once; what each failed writer said."""
    import json
    import os
    import subprocess
    import sys

    cls = type(t)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    writers = []
    for index in range(params["n_processes"]):
        spec = {
            "adapter": f"{cls.__module__}:{cls.__qualname__}",
            "root": root,
            "workdir": os.getcwd(),
            "experiment": experiment,
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
                tail = err.decode("utf-8", "replace").strip()[-2000:]
                failures.append(f"writer {index} exited {proc.returncode}: {tail}")
        return failures
    finally:
        for proc in writers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _concurrency_run(t: Adapter, inputs: ConcurrencyInputs) -> None:
    params = {
        "n_processes": inputs.n_processes,
        "n_runs": len(inputs.values[0]),
        "n_values": len(inputs.values[0][0]) if inputs.values[0] else 0,
    }
    failures = run_writers(t, "concurrency", params)
    if failures:
        first = failures[0][-600:]
        raise RuntimeError(f"{len(failures)} of {inputs.n_processes} writers failed; {first}")


CONCURRENCY_WORKLOAD = Workload(
    name="concurrency",
    doc="n_processes writer processes (each: import, open, then n_runs x n_values) logging "
    "into one store at once after a common start; timed as the whole concurrent phase",
    run=_concurrency_run,
    prepare=_concurrency_prepare,
    defaults={"n_processes": 4, "n_runs": 2, "n_values": 10},
    param_docs={
        "n_processes": "writer processes logging into one store at once",
        "n_runs": "runs each writer process logs, one after another",
        "n_values": "steps of each run, one value each",
    },
    needs=frozenset({STEPS, MANY_RUNS, CONCURRENCY}),
    expected=_expected,
    # the experiment exists before the writers start, as a launcher makes it; whether
    # creating it concurrently is safe is the fidelity scenario's concurrent_start
    setup=lambda t, inputs: t.prepare_experiment("concurrency"),
)
