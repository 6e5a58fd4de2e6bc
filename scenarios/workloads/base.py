"""What a workload is, and the pieces several workloads share.

A workload has default parameters (data), a `prepare(params)` that builds its inputs before
anything is timed, and a `run(adapter, inputs)` that the worker times as the `log` phase
(less the summed `start_run` and `end_run`). What it should have stored is `run` replayed
into a recorder after the timed phases (see `recorder.py`), or `expected` when `run` does
more than log (reads back, starts writer processes).

Standard library only; NumPy is imported by the workloads that build arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, cast

from adapters.base import Adapter, RunData


# NamedTuple rather than a dataclass: `dataclasses` pulls in `inspect`, ~10 ms of every
# worker's start-up, which is the harness's own cost in every cell.
class Workload(NamedTuple):
    """A named workload: default parameters, an untimed `prepare` and the timed `run`."""

    name: str
    doc: str
    # what it returns (a dict, JSON) is handed to the reader as notes (e.g. refused values)
    run: Callable[[Adapter, Any], Any]
    prepare: Callable[[dict[str, Any]], Any]
    defaults: Mapping[str, Any] = {}
    # capabilities the adapter must declare, or the cell is `unsupported`
    needs: frozenset[str] = frozenset()
    # the calls that log what `run` stores, when `run` does more than log (None: `run`)
    expected: Callable[[Adapter, Any], None] | None = None
    # untimed, after open(): what a user's launcher does before the timed work starts
    setup: Callable[[Adapter, Any], None] | None = None
    # the reader's own judgement of what it read, given the writer's notes: fields of the
    # cell (fidelity, reason and the scenario's own); None: the usual fidelity check. Runs
    # are None where the reader could not open the store (only for a killed writer).
    examine: Callable[[Adapter, list[RunData] | None, dict[str, Any]], dict[str, Any]] | None = None
    # (params, the cell's seed) -> after how many logged values the worker kills itself
    # with SIGKILL (the crash scenario); None: it is never killed
    kill_point: Callable[[dict[str, Any], int], int] | None = None
    # params -> after how many logged values the writer pauses while a second process reads
    # the store in use (the pause is not in log_ns); None: no live reader
    live_read_after: Callable[[dict[str, Any]], int] | None = None
    # one line per parameter (every default has one): `trackbench list` and the README
    param_docs: Mapping[str, str] = {}
    # the smallest value a parameter can take where it is more than 0 (e.g. n_metrics counts
    # the workload's own metrics); a spec or --set below it is refused before any cell runs
    least: Mapping[str, int] = {}

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

    def missing(self, supports: Iterable[str]) -> list[str]:
        """What this workload needs that `supports` (an adapter's declaration) lacks, sorted."""
        return sorted(self.needs - set(supports))

    def why_unsupported(self, name: str, declared: Mapping[str, Any]) -> str:
        """Why framework `name` (what its adapter declares) cannot run this workload, from
        its own `lacks` reasons; "" when it can."""
        lacks = declared.get("lacks") or {}
        return "; ".join(
            f"{name} has no {need}: {lacks[need]}" if lacks.get(need)
            else f"{name} does not declare {need} (and gives no reason)"
            for need in self.missing(declared.get("supports", ()))
        )  # fmt: skip


def floats(seed: int, count: int) -> list[float]:
    """`count` seeded random floats in [0, 1): every framework logs exactly the same data."""
    import random  # only where values are generated: keeps `startup` free of it

    rng = random.Random(seed)
    return [rng.random() for _ in range(count)]


def named_rows(
    seed: int, n_steps: int, n_metrics: int, width: int, first: int = 0
) -> list[dict[str, float]]:
    """`n_steps` rows of seeded floats named metric_FIRST .. metric_{n_metrics - 1} (`width`
    digits): metrics `first` and on, after a workload's own first ones."""
    names = [f"metric_{i:0{width}d}" for i in range(first, n_metrics)]
    n = len(names)
    flat = floats(seed, n_steps * n)
    return [dict(zip(names, flat[s * n : (s + 1) * n], strict=True))
            for s in range(n_steps)]  # fmt: skip


def metric_width(n_metrics: int) -> int:
    """Digits of the extra metrics' names (metric_01 ..): they sort as they were logged."""
    return max(2, len(str(n_metrics - 1)))


# One run's steps: a plain list of floats, each logged as {"value": v}, or (with more metrics
# a step) one prepared row a step. One metric a step stays the plain list it was before
# n_metrics existed, so that cell logs, holds in memory and times exactly what it did.
Steps = Sequence[float] | Sequence[dict[str, float]]


def with_metrics(seed: int, values: Sequence[float], n_metrics: int) -> Steps:
    """`values` one a step as "value", and n_metrics - 1 more seeded floats a step."""
    if n_metrics < 1:
        raise ValueError(f"n_metrics counts the metric named value: at least 1, got {n_metrics}")
    if n_metrics == 1:
        return values
    extra = named_rows(seed, len(values), n_metrics, metric_width(n_metrics), first=1)
    return [{"value": value, **row} for value, row in zip(values, extra, strict=True)]


def log_steps(t: Adapter, steps: Steps) -> None:
    """Log one run's steps (the branch outside the loop: the timed loop is the one it was)."""
    if steps and isinstance(steps[0], dict):
        for step, row in enumerate(cast("Sequence[dict[str, float]]", steps)):
            t.log(row, step)
    else:
        for step, value in enumerate(cast("Sequence[float]", steps)):
            t.log({"value": value}, step)


def log_series(t: Adapter, experiment: str, steps: Steps) -> None:
    """One run, one value (or one row) per step."""
    t.start_run(experiment, "run-0", {})
    log_steps(t, steps)
    t.end_run()


def log_rows(
    t: Adapter, experiment: str, rows: Iterable[dict[str, float]], params: dict[str, Any]
) -> None:
    """One run with `params`, one row of values per step."""
    t.start_run(experiment, "run-0", params)
    for step, row in enumerate(rows):
        t.log(row, step)
    t.end_run()


def log_runs(t: Adapter, experiment: str, values: Sequence[Steps], prefix: str = "") -> None:
    """One run per list, one value (or row) per step; the run index as the run's only param."""
    for index, series in enumerate(values):
        t.start_run(experiment, f"{prefix}run-{index}", {"index": index})
        log_steps(t, series)
        t.end_run()
