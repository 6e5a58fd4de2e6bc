"""Results databases for report tests: one suite's cells written through the real store."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from results import schema as S
from results.store import Store

# scenario -> framework -> [(config, [fields of each repetition])]
Cells = Mapping[str, Mapping[str, list[tuple[dict[str, Any], list[Any]]]]]
ROLES = {"tracker": S.REFERENCE, "sqlite": S.FLOOR}


def write_suite(
    path: Path,
    suite_id: str,
    cells: Cells,
    result: Callable[[Any], dict[str, Any]],
    declared: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    grid: str = "quick",
) -> Path:
    """A results database at `path` holding one suite of `cells` (beside any suites it holds
    already), each repetition's entry turned into a worker's result by `result`; `declared`:
    the adapters' declarations; `params`: more suite params (provenance, e.g. the CPU);
    `grid`: the suite's grid (S.SPEC_GRID: a user's spec)."""
    info = {S.DECLARATIONS: json.dumps(declared)} if declared is not None else {}
    suite_params = {S.MACHINE: "m", S.GRID: grid, S.SEED: 1, **(params or {})}
    with Store(f"sqlite:///{path}") as store:
        suite = store.begin_suite(suite_id, suite_params, info)
        for scenario, frameworks in cells.items():
            for framework, configs in frameworks.items():
                for config, repetitions in configs:
                    for rep, fields in enumerate(repetitions):
                        store.write_cell(
                            scenario, f"{suite_id}/{framework}/{scenario}/{rep}",
                            suite_id=suite_id, machine="m", framework=framework,
                            role=ROLES.get(framework, S.TRACKER), config=config,
                            repetition=rep, result=result(fields),
                        )  # fmt: skip
        store.end_suite(suite, {}, interrupted=False)
    return path
