"""What a workload is, and the pieces several workloads share.

A workload has default parameters (data), a `prepare(params)` that builds its inputs before
anything is timed, and a `run(adapter, inputs)` that the worker times as the `log` phase
(less the summed `start_run` and `end_run`). What it should have stored is `run` replayed
into a recorder after the timed phases (see `recorder.py`), or `expected` when `run` does
more than log (reads back, starts writer processes).

Standard library only; NumPy is imported by the workloads that build arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

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


def named_rows(seed: int, n_steps: int, n_metrics: int, width: int) -> list[dict[str, float]]:
    """`n_steps` rows of `n_metrics` seeded floats, named metric_0.. (`width` digits)."""
    names = [f"metric_{i:0{width}d}" for i in range(n_metrics)]
    flat = floats(seed, n_steps * n_metrics)
    return [dict(zip(names, flat[s * n_metrics : (s + 1) * n_metrics], strict=True))
            for s in range(n_steps)]  # fmt: skip


def log_series(t: Adapter, experiment: str, values: Iterable[float]) -> None:
    """One run, one value per step."""
    t.start_run(experiment, "run-0", {})
    for step, value in enumerate(values):
        t.log({"value": value}, step)
    t.end_run()


def log_rows(
    t: Adapter, experiment: str, rows: Iterable[dict[str, float]], params: dict[str, Any]
) -> None:
    """One run with `params`, one row of values per step."""
    t.start_run(experiment, "run-0", params)
    for step, row in enumerate(rows):
        t.log(row, step)
    t.end_run()


def log_runs(t: Adapter, experiment: str, values: list[list[float]], prefix: str = "") -> None:
    """One run per list, one value per step; the run index as the run's only param."""
    for index, series in enumerate(values):
        t.start_run(experiment, f"{prefix}run-{index}", {"index": index})
        for step, value in enumerate(series):
            t.log({"value": value}, step)
        t.end_run()
