"""What a user's own workload costs: the summary that opens the report of a spec suite.

Per configuration of each scenario timed from import to finish, and per framework: seconds
per run (the cell's tracking_ns over the runs it holds), the same at the spec's
`runs_per_day`, disk per run, peak memory of the writer's process tree, and what came back
(fidelity). Frameworks are ranked as everywhere in the report: by median seconds, only where
the data came back exact or with the loss its adapter documents, with enough ok repetitions;
the others are listed with why they are not ranked, never dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from reports import analysis
from reports.analysis import Row, Section
from results import schema as S

# Parameters whose product is how many runs one cell of a scenario logs.
RUN_COUNTS = ("n_runs", "n_processes")


@dataclass(frozen=True)
class Cost:
    """One framework's cost in one configuration of the user's workload."""

    row: Row  # the headline row: status, fidelity, ranking
    rank: int | None  # 1 = cheapest; None when not ranked
    runs: int  # runs one cell logs
    seconds_per_run: float | None
    disk_per_run: float | None  # bytes
    peak_rss: float | None  # bytes


def is_spec(section: Section) -> bool:
    """Whether the section's suite ran a user's spec file."""
    return any(run.params.get(S.GRID) == S.SPEC_GRID for run in section.runs)


def runs_per_day(section: Section) -> float | None:
    """The spec's runs a day, as the suite recorded it; None when it gave none."""
    for run in section.runs:
        value = run.fields.get(S.RUNS_PER_DAY)
        if isinstance(value, (int, float)) and value > 0:
            return float(value)
    return None


def _median(row: Row | None) -> float | None:
    return row.summary.median if row is not None and row.summary is not None else None


def costs(section: Section, seed: int = 0) -> list[Cost]:
    """Every framework in every configuration of the scenarios timed from import to finish,
    cheapest first within a configuration, floors last."""
    out: list[Cost] = []
    for scenario in section.timed_scenarios():
        if analysis.headlines(section, scenario) != [S.TRACKING_NS]:
            continue  # readback's seconds are a reader's, not a run's
        by = {
            metric: {
                (r.config, r.framework): r for r in analysis.rows(section, scenario, metric, seed)
            }
            for metric in (S.DISK_BYTES, S.PEAK_RSS_BYTES)
        }
        ranks: dict[str, int] = {}
        for row in analysis.rows(section, scenario, seed=seed):
            ranked = not row.unranked and row.role != S.FLOOR
            if ranked:
                ranks[row.config] = ranks.get(row.config, 0) + 1
            values = section.config_values(scenario, row.config)
            runs = math.prod(int(values.get(p) or 1) for p in RUN_COUNTS)
            seconds, disk = _median(row), _median(by[S.DISK_BYTES].get((row.config, row.framework)))
            out.append(
                Cost(
                    row=row,
                    rank=ranks[row.config] if ranked else None,
                    runs=runs,
                    seconds_per_run=None if seconds is None else seconds / 1e9 / runs,
                    disk_per_run=None if disk is None else disk / runs,
                    peak_rss=_median(by[S.PEAK_RSS_BYTES].get((row.config, row.framework))),
                )
            )
    # floors are the limit, shown under the frameworks of their configuration
    order = {config: i for i, config in enumerate(dict.fromkeys(c.row.config for c in out))}
    return sorted(out, key=lambda c: (order[c.row.config], c.row.role == S.FLOOR))
