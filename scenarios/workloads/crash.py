"""What survives a crash: the writer is killed with SIGKILL mid-run; a new process reads.

The writer logs `n_values` values, one per step, and calls the framework's own flush() every
`flush_every` values where it has one (a careful user's habit; a framework without one
declares so). The worker kills itself with SIGKILL once `kill_point` values are logged (a
point chosen by the cell's seed), first leaving the counts logged and flushed beside the
cell. A new process then opens the store with the framework's reader: how many values came
back as they were logged, whether everything flushed did, and whether the store opens at
all. Nothing here is timed.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from adapters.base import FLUSH, STEPS, Adapter, RunData
from results import schema as S
from scenarios.bitwise import same_value
from scenarios.workloads.base import Workload, floats

EXPERIMENT = "crash"


class CrashInputs(NamedTuple):
    """The values to log, one per step, and how often to flush."""

    values: list[float]
    flush_every: int


def _prepare(params: dict[str, Any]) -> CrashInputs:
    if params["n_values"] < 2 or params["flush_every"] < 1:
        raise ValueError("crash needs n_values >= 2 and flush_every >= 1")
    return CrashInputs(floats(13, params["n_values"]), params["flush_every"])


def kill_point(params: dict[str, Any], seed: int) -> int:
    """After how many logged values the writer is killed: 1 .. n_values - 1, by `seed`."""
    import random

    return random.Random(seed).randint(1, params["n_values"] - 1)


def _run(t: Adapter, inputs: CrashInputs) -> None:
    t.start_run(EXPERIMENT, "run-0", {})
    flushes = FLUSH in t.supports
    for step, value in enumerate(inputs.values):
        t.log({"value": value}, step)
        if flushes and (step + 1) % inputs.flush_every == 0:
            t.flush()
    t.end_run()  # never reached in a crash cell: the worker is killed first


def examine(adapter: Adapter, runs: list[RunData] | None, notes: dict[str, Any]) -> dict[str, Any]:
    """What survived, from what the reader got (None: the store did not open) and the
    counts the killed writer left (`notes`): fidelity, reason and the crash fields."""
    logged = int(notes.get(S.LOGGED_VALUES) or 0)
    flushed = int(notes.get(S.FLUSHED_VALUES) or 0)
    if runs is None:
        why = f"the store does not open: {notes.get('open_error', 'the reader failed')}"
        out = {S.STORE_OPENS: False, S.SURVIVED_VALUES: 0}
        if flushed:
            why = f"{flushed} flushed values lost: {why}"
            return {**out, S.FIDELITY: S.WRONG_DATA, S.REASON: why}
        return {**out, S.FIDELITY: S.NOT_CHECKED, S.REASON: why}
    values = floats(13, logged)  # the writer's values: the same seeded sequence
    survived: set[int] = set()
    lossy, wrong = False, ""
    for step, value in (p for run in runs for p in run.metrics.get("value", [])):
        if not 0 <= step < logged:
            wrong = wrong or f"step {step} came back ({value!r}) but was never logged"
        elif same_value(values[step], value):
            survived.add(step)
        elif same_value(adapter.expect_scalar(values[step]), value):
            survived.add(step)
            lossy = True  # within the adapter's documented loss
        else:
            wrong = wrong or f"step {step} came back as {value!r}, logged {values[step]!r}"
    out = {S.STORE_OPENS: True, S.SURVIVED_VALUES: len(survived)}
    lost = sum(1 for step in range(flushed) if step not in survived)
    if wrong or lost:
        why = wrong or f"{lost} of {flushed} flushed values lost"
        return {**out, S.FIDELITY: S.WRONG_DATA, S.REASON: why}
    if lossy and adapter.fidelity == S.LOSSY:
        return {**out, S.FIDELITY: S.LOSSY, S.REASON: adapter.fidelity_note}
    return {**out, S.FIDELITY: S.EXACT, S.REASON: ""}


CRASH = Workload(
    name="crash",
    doc="1 run of n_values values, flush() every flush_every values where the framework has "
    "one; the writer is killed with SIGKILL at a seeded point; a new process reads what "
    "survived",
    run=_run,
    prepare=_prepare,
    defaults={"n_values": 1000, "flush_every": 100},
    param_docs={
        "n_values": "steps of one value each, the writer killed at a seeded one",
        "flush_every": "values between two flush() calls, where the framework has flush()",
    },
    least={"n_values": 2, "flush_every": 1},
    needs=frozenset({STEPS}),
    examine=examine,
    kill_point=kill_point,
)
