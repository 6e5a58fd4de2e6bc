"""Does tracking slow my loop? A training loop doing real CPU work, tracked and untracked.

Each step does `step_us` microseconds of pure-Python CPU work (a fixed count of iterations,
calibrated in `prepare`, so a tracker that takes the GIL or a core makes the step slower,
which a busy-wait on the clock would hide), then one `log()` of `n_metrics` values. The
steps run in `n_blocks` blocks, each once tracked and once untracked in the same process,
the order alternating (ABBA) after one untracked block of warm-up, so that the machine's
noise hits both. Both loops time each step's log() slot the same way; only the tracked one
calls log(). The cell's fields: log() percentiles and the largest call, the slowdown as a
whole and its least and most over the pairs of blocks, and the CPU time the writer's other
threads and processes took over the loop (a framework's background work runs on through
both kinds of block). Asynchronous trackers look cheap per call and pay in finish() or in
stolen CPU: finish_ns is the cell's.
"""

from __future__ import annotations

import itertools
import math
import time
from typing import Any, NamedTuple

from adapters.base import STEPS, Adapter
from results import schema as S
from scenarios.workloads.base import Workload, log_rows, named_rows
from scenarios.workloads.own_tree import others_cpu_ns


class LoopInputs(NamedTuple):
    """The values of every step, the work per step, and the block boundaries."""

    rows: list[dict[str, float]]
    spins: int
    blocks: list[range]
    step_us: float


def work(spins: int) -> int:
    """`spins` iterations of pure-Python arithmetic: the step's own CPU work."""
    total = 0
    for i in range(spins):
        total += i * i
    return total


def calibrate(step_us: float, trials: int = 5) -> int:
    """The iterations of `work` that take about `step_us` microseconds here (the fastest of
    a few trials, so that a noisy moment does not make every step longer)."""
    probe = 20_000
    best = math.inf
    for _ in range(trials):
        started = time.perf_counter_ns()
        work(probe)
        best = min(best, time.perf_counter_ns() - started)
    return max(round(step_us * 1000 * probe / best), 1)


def _prepare(params: dict[str, Any]) -> LoopInputs:
    n_steps, n_metrics, n_blocks = params["n_steps"], params["n_metrics"], params["n_blocks"]
    if n_steps < 1 or n_metrics < 1 or not 1 <= n_blocks <= n_steps:
        raise ValueError("loop_overhead needs n_steps >= n_blocks >= 1 and n_metrics >= 1")
    rows = named_rows(7, n_steps, n_metrics, width=3)
    edges = [round(b * n_steps / n_blocks) for b in range(n_blocks + 1)]
    blocks = [range(lo, hi) for lo, hi in itertools.pairwise(edges)]
    return LoopInputs(rows, calibrate(params["step_us"]), blocks, params["step_us"])


def _block(t: Adapter | None, inputs: LoopInputs, steps: range, slots: Any) -> int:
    """Run one block (tracked when `t` is given); its wall time. Each step's log() slot is
    timed into `slots` either way, so both loops do the same work but the log() call."""
    now, rows, spins = time.perf_counter_ns, inputs.rows, inputs.spins
    started = now()
    if t is None:
        for step in steps:
            work(spins)
            began = now()
            slots[step] = now() - began
    else:
        log = t.log
        for step in steps:
            work(spins)
            began = now()
            log(rows[step], step)
            slots[step] = now() - began
    return now() - started


def _run(t: Adapter, inputs: LoopInputs) -> dict[str, Any]:
    from array import array

    n_steps = len(inputs.rows)
    tracked_slots = array("q", bytes(8 * n_steps))  # preallocated: nothing grows meanwhile
    plain_slots = array("q", bytes(8 * n_steps))
    tracked, plain = [], []
    t.start_run("loop_overhead", "run-0", {"step_us": inputs.step_us})
    _block(None, inputs, inputs.blocks[0], plain_slots)  # a warm-up, so neither loop is cold
    cpu_before = others_cpu_ns()
    for index, steps in enumerate(inputs.blocks):
        order = (True, False) if index % 2 else (False, True)
        for is_tracked in order:
            if is_tracked:
                tracked.append(_block(t, inputs, steps, tracked_slots))
            else:
                plain.append(_block(None, inputs, steps, plain_slots))
    # a few microseconds below zero are the two clocks' resolution, not work
    stolen = max(others_cpu_ns() - cpu_before, 0)
    t.end_run()
    calls = sorted(tracked_slots)
    pairs = [100 * (a / b - 1) for a, b in zip(tracked, plain, strict=True) if b > 0]
    return {
        S.LOG_P50_NS: _percentile(calls, 0.50),
        S.LOG_P99_NS: _percentile(calls, 0.99),
        S.LOG_MAX_NS: calls[-1],
        S.OVERHEAD_PCT: 100 * (sum(tracked) / sum(plain) - 1),
        S.OVERHEAD_MIN_PCT: min(pairs),
        S.OVERHEAD_MAX_PCT: max(pairs),
        S.STOLEN_CPU_NS: stolen,
    }


def _percentile(ordered: Any, share: float) -> int:
    """The nearest-rank percentile of the ascending `ordered`."""
    return int(ordered[max(math.ceil(share * len(ordered)) - 1, 0)])


def _expected(t: Adapter, inputs: LoopInputs) -> None:
    log_rows(t, "loop_overhead", inputs.rows, {"step_us": inputs.step_us})


LOOP_OVERHEAD = Workload(
    name="loop_overhead",
    doc="1 run: n_steps steps of step_us microseconds of CPU work and one log() of "
    "n_metrics values, in n_blocks blocks each also run untracked; log() percentiles, "
    "the loop's slowdown and the CPU taken in the background",
    run=_run,
    prepare=_prepare,
    defaults={"n_steps": 1000, "step_us": 1000, "n_metrics": 10, "n_blocks": 10},
    param_docs={
        "n_steps": "steps of the loop, tracked and untracked alike",
        "step_us": "microseconds of CPU work each step",
        "n_metrics": "values logged by the one log() call of each step",
        "n_blocks": "blocks the steps are cut into, each also run untracked (at most n_steps)",
    },
    least={"n_steps": 1, "n_metrics": 1, "n_blocks": 1},
    needs=frozenset({STEPS}),
    expected=_expected,
)
