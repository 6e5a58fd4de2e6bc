"""Two suites side by side: per configuration the ratio NEW/OLD with its interval.

For tracker authors checking a change: regressions and improvements beyond the noise come
first, then what stayed within the noise, then what only one side has. Suites from different
machines are refused unless the caller forces the comparison (and then it says so).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from reports import analysis, stats
from reports.analysis import Row, Section
from results import schema as S
from results.cells import HEADLINE_NS, Results, load
from results.database import to_url
from results.errors import UsageError

REGRESSION = "regression"
NEW_FAILURE = "new failure"
IMPROVEMENT = "improvement"
FIXED = "fixed"
NOISE = "within noise"
ONLY_OLD = "only in OLD"
ONLY_NEW = "only in NEW"
FAILING = "failing in both"
# The order changes are listed in.
ORDER = (REGRESSION, NEW_FAILURE, IMPROVEMENT, FIXED, NOISE, FAILING, ONLY_OLD, ONLY_NEW)

# Metrics one may compare, and how to show their values.
TIMES = (S.TRACKING_NS, *S.TRACKED_PHASES, S.READ_NS, S.READ_IMPORT_NS, S.HARNESS_NS,
         S.PREPARE_NS, S.SERVICE_START_NS, S.PROCESS_NS, S.CPU_NS, S.WALL_NS)  # fmt: skip
METRICS = {
    HEADLINE_NS: ("s", 1e9),  # tracking_ns, read_ns for reading scenarios, wall_ns in schema 1
    **dict.fromkeys(TIMES, ("s", 1e9)),
    S.PEAK_RSS_BYTES: ("MB", 1e6),
    S.DISK_BYTES: ("MB", 1e6),
}


@dataclass(frozen=True)
class Change:
    """One (scenario, configuration, framework) in OLD and NEW."""

    scenario: str
    config: str
    framework: str
    kind: str
    old: Row | None
    new: Row | None
    ratio: stats.Ratio | None  # NEW / OLD

    def sort_key(self) -> tuple[int, float, str, str, str]:
        """Listing order: by kind, then the largest change first within a kind."""
        value = self.ratio.value if self.ratio else 1.0
        size = -abs(math.log(value)) if value > 0 and math.isfinite(value) else -math.inf
        return (ORDER.index(self.kind), size, self.scenario, self.config, self.framework)


def is_database(spec: str) -> bool:
    """Whether a compare argument names a database (URL or existing file), not a suite id."""
    return "://" in spec or os.path.exists(spec) or spec.endswith(".db")


def resolve(spec: str, default_db: str) -> tuple[Results, Section]:
    """The section an argument names: a suite id in `default_db`, or a database's latest suite."""
    if is_database(spec):
        results = load(spec)
        ids = results.suite_ids()
        with_cells = [s for s in ids if (results.cells[S.SUITE_ID] == s).any()]
        if not with_cells:
            raise UsageError(f"{to_url(spec)} holds no results yet")
        suite = with_cells[-1]
    else:
        results = load(default_db)
        suite = spec
    found = analysis.sections(results, [suite])
    if len(found) > 1:
        machines = ", ".join(s.machine for s in found)
        raise UsageError(
            f"suite {suite} ran on several machines ({machines}); compare shards apart"
        )
    return results, found[0]


def compare(old: Section, new: Section, metric: str = HEADLINE_NS, seed: int = 0) -> list[Change]:
    """Every (scenario, configuration, framework) of either side, changes first."""
    if metric == HEADLINE_NS:
        for scenario in set(old.timed_scenarios()) & set(new.timed_scenarios()):
            before, after = analysis.headlines(old, scenario), analysis.headlines(new, scenario)
            if before != after:
                raise UsageError(
                    f"{scenario}: OLD's figures are {', '.join(before)} and NEW's "
                    f"{', '.join(after)} (other results schemas): compare a field both have, "
                    "e.g. --metric import_ns"
                )
    old_rows = {
        (r.scenario, r.config, r.framework): r
        for sc in old.timed_scenarios()
        for r in analysis.rows(old, sc, metric, seed)
    }
    new_rows = {
        (r.scenario, r.config, r.framework): r
        for sc in new.timed_scenarios()
        for r in analysis.rows(new, sc, metric, seed)
    }
    changes = []
    for key in dict.fromkeys([*old_rows, *new_rows]):
        o, n = old_rows.get(key), new_rows.get(key)
        ratio = None
        if o is None:
            kind = ONLY_NEW
        elif n is None:
            kind = ONLY_OLD
        elif o.summary is None and n.summary is None:
            kind = FAILING
        elif n.summary is None:
            kind = NEW_FAILURE
        elif o.summary is None:
            kind = FIXED
        else:
            ratio = stats.ratio(n.summary, o.summary)
            kind = NOISE if ratio.within_noise else REGRESSION if ratio.value > 1 else IMPROVEMENT
            # fewer ok cells than before is a regression too, whatever the times say
            if n.n_ok * o.n < o.n_ok * n.n and kind != REGRESSION:
                kind = NEW_FAILURE
        changes.append(Change(*key, kind=kind, old=o, new=n, ratio=ratio))
    return sorted(changes, key=Change.sort_key)


def _value(row: Row | None, metric: str) -> str:
    if row is None:
        return "-"
    if row.summary is None:
        return row.status()
    unit, scale = METRICS.get(metric, ("", 1.0))
    text = f"{stats.format_number(row.summary.median / scale)} {unit}".strip()
    if row.n_ok < row.n:
        text += f" ({row.status()})"
    return text


def format_changes(
    old: Section, new: Section, changes: list[Change], metric: str, forced: bool
) -> str:
    """The comparison as Markdown: a header per side, then one table."""

    def side(label: str, s: Section) -> str:
        commits = ", ".join(dict.fromkeys(r.commit_label for r in s.runs)) or "unknown"
        date = s.runs[0].date if s.runs else "unknown date"
        return f"- {label}: suite {s.suite_id} on {s.machine}, commit {commits}, {date}"

    lines = ["# trackbench compare", "", side("OLD", old), side("NEW", new)]
    if old.machine != new.machine:
        because = "because of --force" if forced else "without --force"
        lines.append(
            f"- DIFFERENT MACHINES ({old.machine} vs {new.machine}), compared {because}: "
            "the ratios mix machine and code differences"
        )
    lines += [
        f"- metric: median {metric} over ok cells; NEW/OLD ratio with the interval spanned by "
        "both intervals; `~` marks a ratio within the noise (the intervals overlap)",
        "",
    ]
    counts = {k: sum(c.kind == k for c in changes) for k in ORDER}
    lines.append(", ".join(f"{k}: {v}" for k, v in counts.items() if v) or "nothing to compare")
    lines.append("")
    head = ["change", "scenario", "configuration", "framework", "OLD", "NEW", "NEW/OLD", "interval"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for c in changes:
        ratio = stats.format_ratio(c.ratio) if c.ratio else "-"
        interval = (
            f"{stats.format_number(c.ratio.low)} to {stats.format_number(c.ratio.high)}"
            if c.ratio
            else "-"
        )
        cells = [
            c.kind,
            c.scenario,
            c.config,
            c.framework,
            _value(c.old, metric),
            _value(c.new, metric),
            ratio,
            interval,
        ]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines) + "\n"


def check_machines(old: Section, new: Section, force: bool) -> None:
    """Refuse suites from different machines unless forced."""
    if old.machine != new.machine and not force:
        raise UsageError(
            f"OLD ran on {old.machine} and NEW on {new.machine}: results from different "
            "machines are not comparable (pass --force to compare anyway)"
        )
