"""Planning a suite: its cells (framework x scenario x parameters x repetition), in their order.

Order: all cells of a scenario's smaller configurations run before any of its larger ones
(so that the limits can stop a framework from climbing); within each size round the order is
shuffled with a recorded seed. A shard (`--shard i/n`) keeps every repetition of a
configuration together.

Standard library only; no adapter module is imported (the registry's names only).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from results.errors import UsageError
from scenarios import grids, workloads


class Cell(NamedTuple):
    """One cell: a framework running one configuration of a scenario, one repetition."""

    framework: str
    scenario: str
    params: tuple[tuple[str, Any], ...]  # the scenario's own parameters, defaults applied
    repetition: int
    rank: int  # the configuration's size round: smaller configurations run first

    @property
    def config(self) -> dict[str, Any]:
        """The scenario parameters as a dict."""
        return dict(self.params)

    def key(self) -> str:
        """The cell's identity within a suite (framework, scenario, parameters, repetition)."""
        return identity(self.framework, self.scenario, self.config, self.repetition)

    def config_key(self) -> str:
        """The identity of the cell's configuration: every repetition alike."""
        return identity(self.framework, self.scenario, self.config, -1)

    def label(self) -> str:
        """`mlflow many_runs n_runs=10 n_values=10 #2` (repetitions counted from 0)."""
        config = " ".join(f"{k}={v}" for k, v in self.params)
        return (
            f"{self.framework} {self.scenario}{' ' + config if config else ''} #{self.repetition}"
        )


def identity(framework: str, scenario: str, config: Mapping[str, Any], repetition: int) -> str:
    """A canonical text key of a cell's identity (the suite id aside)."""
    return json.dumps([framework, scenario, sorted(config.items()), repetition])


def shard_of(cell: Cell, count: int) -> int:
    """The shard (0-based) a cell belongs to: every repetition of a configuration alike."""
    text = json.dumps([cell.framework, cell.scenario, sorted(cell.params)])
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % count


def parse_shard(text: str) -> tuple[int, int]:
    """`i/n` (1-based) as (i - 1, n); UsageError if malformed."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = 0
    if not sep or n < 1 or not 1 <= i <= n:
        raise UsageError(f"--shard wants i/n with 1 <= i <= n (e.g. 2/3), got {text!r}")
    return i - 1, n


def resolve_frameworks(
    names: Sequence[str] | None, grid: grids.Grid, described: Mapping[str, Any]
) -> list[str]:
    """The frameworks a suite runs: `names`, or every registered one the grid does not exclude."""
    if not names:
        return [n for n, info in described.items() if grid.includes(n, info)]
    from adapters.registry import ADAPTERS  # names only: no adapter module is imported

    out = []
    for name in names:
        info = described.get(name)
        if info is None or (":" not in name and name not in ADAPTERS):
            raise UsageError(f"unknown framework {name!r}; known: {', '.join(ADAPTERS)}")
        if "error" in info:
            raise UsageError(f"framework {name!r}: {info['error']}")
        if name not in out:
            out.append(name)
    return out


def check_scenario(name: str) -> workloads.Workload:
    """The workload of a benchmark scenario; UsageError naming the known ones otherwise."""
    if name not in workloads.SCENARIOS:
        raise UsageError(f"unknown scenario {name!r}; known: {', '.join(workloads.SCENARIOS)}")
    return workloads.get(name)


def scenario_configs(
    grid: grids.Grid,
    scenarios: Sequence[str] | None = None,
    spec: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    overrides: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Each scenario's configurations, defaults applied, smallest first.

    `spec` (a user's own workload) replaces the grid's scenarios; `overrides` (from
    `--set scenario.param=value[,value]`) replace one parameter in every configuration of
    a scenario, adding the scenario with its defaults if it was not there.
    """
    base: dict[str, list[Mapping[str, Any]]] = {
        name: list(configs) for name, configs in (spec or grid.scenarios).items()
    }
    for name in overrides or {}:
        base.setdefault(name, [{}])
    if scenarios:
        for name in scenarios:
            check_scenario(name)
        base = {name: base.get(name, [{}]) for name in scenarios}
    out: dict[str, list[dict[str, Any]]] = {}
    for name, configs in base.items():
        workload = check_scenario(name)
        expanded: list[dict[str, Any]] = []
        for config in configs:
            for changed in _apply(config, (overrides or {}).get(name, {})):
                try:
                    full = workload.params(changed)
                except KeyError as exc:
                    raise UsageError(str(exc.args[0])) from None
                if full not in expanded:
                    expanded.append(full)
        out[name] = sorted(expanded, key=grids.size)
    return out


def _apply(config: Mapping[str, Any], changes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    out = [dict(config)]
    for name, values in changes.items():
        out = [{**c, name: v} for c in out for v in values]
    return out


def plan_cells(
    frameworks: Sequence[str],
    configs: Mapping[str, Sequence[Mapping[str, Any]]],
    repeat: int,
    shard: tuple[int, int] | None = None,
) -> list[Cell]:
    """Every cell, in a fixed (unshuffled) order, optionally only those of one shard."""
    cells = []
    for framework in frameworks:
        for scenario, scenario_configs_ in configs.items():
            for rank, config in enumerate(scenario_configs_):
                for repetition in range(grids.repetitions(scenario, repeat)):
                    cells.append(Cell(framework, scenario, tuple(config.items()), repetition, rank))
    if shard is not None:
        index, count = shard
        cells = [c for c in cells if shard_of(c, count) == index]
    return cells


def order(cells: Sequence[Cell], seed: int) -> list[Cell]:
    """Round by round, each shuffled with `seed`: smaller sizes first, and within a size every
    configuration's first repetition before any second (so a budget trims repetitions last,
    and an interrupted suite has measured every configuration once)."""
    rng = random.Random(seed)
    rounds: dict[tuple[int, int], list[Cell]] = defaultdict(list)
    for cell in cells:
        rounds[(cell.rank, cell.repetition)].append(cell)
    out: list[Cell] = []
    for rank in sorted(rounds):
        group = sorted(rounds[rank], key=Cell.key)  # shuffled from a canonical order
        rng.shuffle(group)
        out.extend(group)
    return out
