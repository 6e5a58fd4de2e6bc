"""The benchmark grids as data: which scenarios at which sizes, how often, within what limits.

A grid lists, per scenario, its configurations (the scenario's own parameters) from the
smallest to the largest. The runner runs all cells of a smaller configuration before any of
a larger one, so that a grid's `cell_cap` and `framework_budget` can stop a framework from
climbing, and `slow_repeat` can stop repeating a slow cell (the rule is
`scenarios/limits.py`); cells stopped that way are stored as `skipped`, with the reason.
`timeout` is the hard per-cell limit (the worker's whole process group is killed).

Standard library only: the manager imports this.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from results.schema import RUN_ONCE

# Registered frameworks no grid includes unless named: the null adapter measures the
# harness itself (`trackbench bench-harness`), not a tracker.
NOT_IN_GRIDS = frozenset({"null"})


class Grid(NamedTuple):
    """A named set of scenario configurations with repetitions and limits."""

    name: str
    doc: str
    # scenario -> configurations, smallest first (each: the scenario's own parameters)
    scenarios: Mapping[str, Sequence[Mapping[str, Any]]]
    repeat: int
    timeout: float  # seconds: a cell is killed after this
    cell_cap: float  # seconds: a slower cell stops its framework climbing in that scenario
    framework_budget: float  # seconds per framework; past it, no larger configurations
    exclude: frozenset[str] = NOT_IN_GRIDS
    # roles (adapters' declarations) the grid leaves out unless named with --frameworks
    exclude_roles: frozenset[str] = frozenset()
    # (seconds, n): a configuration whose cells take longer repeats only n times
    slow_repeat: tuple[float, int] | None = None

    def includes(self, name: str, declared: Mapping[str, Any]) -> bool:
        """Whether the grid runs framework `name` (what its adapter declares) by default."""
        return name not in self.exclude and declared.get("role") not in self.exclude_roles

    def cell_count(self, n_frameworks: int) -> int:
        """Cells for `n_frameworks` frameworks, repetitions included."""
        per_framework = sum(
            len(configs) * repetitions(name, self.repeat)
            for name, configs in self.scenarios.items()
        )
        return per_framework * n_frameworks


def repetitions(scenario: str, repeat: int) -> int:
    """How often a scenario's configurations run: once where the cell is a finding, not a
    sample (a fidelity matrix, memory over a long run), `repeat` times otherwise."""
    return 1 if scenario in RUN_ONCE else repeat


def product(**axes: Iterable[Any]) -> list[dict[str, Any]]:
    """Every combination of the axes' values, smallest first (the first axis varies slowest)."""
    names = list(axes)
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*axes.values())]
    return sorted(combos, key=size)


def size(config: Mapping[str, Any]) -> tuple[float, ...]:
    """A sort key: the product of the numeric parameters, then the parameters themselves."""
    total = 1.0
    for value in config.values():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            total *= max(float(value), 1.0)
    return (total, *(float(v) for v in config.values() if isinstance(v, (int, float))))


def dominates(big: Mapping[str, Any], small: Mapping[str, Any]) -> bool:
    """Whether `big` is at least `small` in every numeric parameter (and not equal to it)."""
    if big == small or set(big) != set(small):
        return False
    for name, value in small.items():
        other = big[name]
        if isinstance(value, (int, float)) and isinstance(other, (int, float)):
            if other < value:
                return False
        elif other != value:
            return False
    return True


POW10 = [10**k for k in range(0, 10)]

QUICK = Grid(
    name="quick",
    doc="every framework once over, 3 ok repetitions of each cell: the README's main job, "
    "and the fidelity matrix, the long run and the crash once",
    scenarios={
        "startup": [{}],
        "high_frequency": [{"n_values": 1000}],
        "arrays": [{"n_arrays": 1, "n_elements": 10_000}],
        "many_runs": [{"n_runs": 10, "n_values": 10}],
        "large_array": [{"n_elements": 100_000_000}],
        "readback": [{"n_runs": 2, "n_values": 10}],
        "concurrency": [{"n_processes": 4, "n_runs": 1, "n_values": 10}],
        "training_loop": [{"epochs": 2, "steps_per_epoch": 20, "n_weights": 1000}],
        "wide_steps": [{"n_steps": 10, "n_metrics": 1000}],
        "loop_overhead": [{"n_steps": 500, "step_us": 1000, "n_metrics": 10, "n_blocks": 10}],
        "long_run": [{"n_steps": 10_000}],
        "crash": [{"n_values": 1000, "flush_every": 100}],
        "fidelity": [{}],
    },
    repeat=3,
    # MLflow's long run of 10^4 steps takes about 2 minutes here (11 ms a log() call)
    timeout=300,
    cell_cap=60,
    # a guard, not a trim: every framework's 3 repetitions fit in it (MLflow, the slowest,
    # spends about 400 s of writer processes here), so nothing is ranked on fewer
    framework_budget=600,
    # variants of another framework (another setting of it) run when named
    exclude_roles=frozenset({"variant"}),
)

# Every configuration of MLtraq's published benchmark (mkdocs/benchmarks/speed.md of
# elehcimd/mltraq, 2024-04-11; its transcription is reports/published/mltraq_speed.toml)
# and every other scenario at one size a user meets: the grid of results/reference/.
MLTRAQ_ARRAYS = [
    *product(n_arrays=[1], n_elements=[1000, 10_000, 100_000, 1_000_000]),  # one array
    *product(n_arrays=[5, 10], n_elements=[10_000, 100_000, 1_000_000]),  # 1..10 of 10^4..10^6
    # 1..10^4 arrays of 1, 100, 10^3
    *product(n_arrays=[1, 10, 100, 1000, 10_000], n_elements=[1, 100]),
    *product(n_arrays=[10, 100, 1000, 10_000], n_elements=[1000]),
]
REFERENCE = Grid(
    name="reference",
    doc="the published grid (results/reference/): every configuration of MLtraq's "
    "benchmark and every scenario at one size, every framework and variant",
    scenarios={
        "startup": [{}],
        # init + 1 or 10 values; 1 run x 100, 1000, 10^4 values
        "high_frequency": product(n_values=[1, 10, 100, 1000, 10_000]),
        # 10, 100, 500, 1000 runs x 1 value; 500, 1000 runs x 500, 1000 values, reached
        # through 100 x 1000 so that a framework too slow for 10^5 values stops before more
        "many_runs": [
            *product(n_runs=[10, 100, 500, 1000], n_values=[1]),
            {"n_runs": 100, "n_values": 1000},
            *product(n_runs=[500, 1000], n_values=[500, 1000]),
        ],
        "arrays": sorted(MLTRAQ_ARRAYS, key=size),
        "large_array": [{"n_elements": 100_000_000}],
        "readback": [{"n_runs": 10, "n_values": 100}],
        "concurrency": [{"n_processes": 4, "n_runs": 1, "n_values": 100}],
        "training_loop": [{"epochs": 3, "steps_per_epoch": 100, "n_weights": 10_000}],
        "wide_steps": [{"n_steps": 10, "n_metrics": 1000}],
        # a 40 it/s loop is 25 ms a step; 10 ms steps are what users report
        "loop_overhead": [{"n_steps": 500, "step_us": 1000, "n_metrics": 10, "n_blocks": 10}],
        "long_run": [{"n_steps": 10_000}],
        "crash": [{"n_values": 1000, "flush_every": 100}],
        "fidelity": [{}],
    },
    repeat=5,
    slow_repeat=(10.0, 3),
    timeout=600,
    cell_cap=10,  # a cell over 10 s is slow: 3 repetitions, and no larger configuration
    # no budget: every framework runs every configuration it can within the cell cap
    framework_budget=math.inf,
)

FULL = Grid(
    name="full",
    doc="the largest sizes: up to 10^5 values, 1000 x 1000 runs, 100 arrays of 10^6, 1 GB",
    scenarios={
        "startup": [{}],
        "high_frequency": product(n_values=[1, 10, 100, 1000, 10_000, 100_000]),
        "many_runs": product(n_runs=[10, 100, 1000], n_values=[1, 10, 100, 1000]),
        "arrays": product(n_arrays=[1, 10, 100], n_elements=[1000, 10_000, 100_000, 1_000_000]),
        "large_array": product(n_elements=[100_000_000, 300_000_000, 1_000_000_000]),
        "readback": product(n_runs=[10, 100, 1000], n_values=[10, 100, 1000]),
        "concurrency": product(n_processes=[4], n_runs=[1, 10, 100], n_values=[100, 1000]),
        "training_loop": [
            {"epochs": 3, "steps_per_epoch": 100, "n_weights": 10_000},
            {"epochs": 10, "steps_per_epoch": 1000, "n_weights": 1_000_000},
            {"epochs": 100, "steps_per_epoch": 1000, "n_weights": 10_000_000},
        ],
        "wide_steps": product(n_steps=[100, 1000], n_metrics=[1000]),
        "loop_overhead": product(
            n_steps=[1000], step_us=[100, 1000, 10_000], n_metrics=[10, 100], n_blocks=[10]
        ),
        "long_run": product(n_steps=[10_000, 100_000, 1_000_000, 10_000_000]),
        "crash": product(n_values=[1000, 10_000, 100_000], flush_every=[100, 1000]),
        "fidelity": [{}],
    },
    repeat=10,
    timeout=1800,
    cell_cap=600,
    framework_budget=4 * 3600,
)

GRIDS: dict[str, Grid] = {g.name: g for g in (QUICK, REFERENCE, FULL)}


def get(name: str) -> Grid:
    """The grid called `name`; KeyError naming the known ones otherwise."""
    try:
        return GRIDS[name]
    except KeyError:
        raise KeyError(f"unknown grid {name!r}; known: {', '.join(GRIDS)}") from None
