"""A long run: one run of n_steps steps, the writer's memory sampled all along.

What people report after hours of training: the tracker's process grows. The writer's own
processes' resident memory (scenarios/workloads/own_tree.py) is sampled every
RSS_EVERY_SECONDS by a thread that sleeps in between, with the step the loop had reached;
the cell keeps the memory just before the first step and after the last, and the series
for a plot of memory over steps.
"""

from __future__ import annotations

from typing import Any

from adapters.base import STEPS, Adapter
from results import schema as S
from scenarios.workloads.base import Workload, floats, log_series
from scenarios.workloads.own_tree import MemorySampler, rss_bytes

# the loop tells the sampler where it is once per this many steps: no cost per step
CHUNK = 1000


def _prepare(params: dict[str, Any]) -> Any:
    from array import array

    return array("d", floats(9, params["n_steps"]))  # 8 bytes a value, not a float object


def _run(t: Adapter, values: Any) -> dict[str, Any]:
    n_steps = len(values)
    where = [0]
    sampler = MemorySampler(where, S.RSS_EVERY_SECONDS)
    t.start_run("long_run", "run-0", {})
    start = rss_bytes()
    sampler.start()
    log = t.log
    for first in range(0, n_steps, CHUNK):
        where[0] = first
        for step in range(first, min(first + CHUNK, n_steps)):
            log({"value": values[step]}, step)
    where[0] = n_steps
    sampler.stop()
    end = rss_bytes()
    t.end_run()
    return {
        S.RSS_START_BYTES: start,
        S.RSS_END_BYTES: end,
        S.RSS_SERIES: sampler.series(S.RSS_POINTS),
    }


def _expected(t: Adapter, values: Any) -> None:
    log_series(t, "long_run", values)


LONG_RUN = Workload(
    name="long_run",
    doc="1 run of n_steps steps of one value; the writer's memory over the run, sampled "
    "every 0.1 s",
    run=_run,
    prepare=_prepare,
    defaults={"n_steps": 10_000},
    param_docs={"n_steps": "steps of one value each, the writer's memory sampled throughout"},
    needs=frozenset({STEPS}),
    expected=_expected,
)
