"""Two suites side by side: per configuration the ratio NEW/OLD with its interval.

For tracker authors checking a change: regressions and improvements beyond the noise come
first, then what stayed within the noise, then what only one side has. Suites from different
machines are refused unless the caller forces the comparison (and then it says so).

A difference is claimed only when both sides have MIN_SAMPLES ok samples or more and the
NEW/OLD interval, spanned by the two medians' order-statistic intervals, lies wholly beyond
the minimum effect: even when every cell comes from one distribution, two suites give
disjoint 3-sample ranges one time in ten (2 of the 20 ways to split 6 ranks), so disjoint
intervals alone claim too much. A value some of whose cells ended while the machine's load
average exceeded its CPU count is marked as measured under load, and so is a claim from it.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reports import analysis, stats
from reports.analysis import Row, Section
from results import schema as S
from results.cells import CONFIG, HEADLINE_NS, SCENARIO, Results, load
from results.database import to_url
from results.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd

REGRESSION = "regression"
NEW_FAILURE = "new failure"
IMPROVEMENT = "improvement"
FIXED = "fixed"
NOISE = "within noise"
TOO_FEW = "too few samples"
ONLY_OLD = "only in OLD"
ONLY_NEW = "only in NEW"
SIDE_BY_SIDE = "side by side"  # another machine: the times are shown, no change is claimed
FAILING = "failing in both"
# The order changes are listed in.
ORDER = (REGRESSION, NEW_FAILURE, IMPROVEMENT, FIXED, SIDE_BY_SIDE, NOISE, TOO_FEW, FAILING,
         ONLY_OLD,
         ONLY_NEW)  # fmt: skip
# What a difference needs: ok samples on each side, and a change of at least this fraction.
MIN_SAMPLES = analysis.MIN_REPETITIONS
MIN_EFFECT = 0.10

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
    old: Row | None  # its summary's interval is the order-statistic one
    new: Row | None
    ratio: stats.Ratio | None  # NEW / OLD
    old_loaded: int = 0  # cells behind the value that ran under load
    new_loaded: int = 0

    @property
    def claimed(self) -> bool:
        """Whether the figures claim a difference (a regression or an improvement)."""
        return self.kind in (REGRESSION, IMPROVEMENT)

    @property
    def under_load(self) -> bool:
        """Whether either side's value was measured, at least in part, under load."""
        return bool(self.old_loaded or self.new_loaded)

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


def cpu_count(section: Section) -> int | None:
    """The machine's CPU count as its suite runs recorded it (`... x2`), or None."""
    for run in section.runs:
        found = re.search(r" x(\d+)$", run.get(S.CPU, ""))
        if found:
            return int(found.group(1))
    return None


def _measured(section: Section, row: Row, metric: str) -> pd.DataFrame:
    """The cells a row's figure comes from: its ok cells with a value of the metric."""
    c = section.cells
    mine = c[
        (c[SCENARIO] == row.scenario)
        & (c[CONFIG] == row.config)
        & (c[S.FRAMEWORK] == row.framework)
        & (c[S.OUTCOME] == S.OK)
    ]
    return mine[mine[metric].notna()]


def _rows(section: Section, metric: str) -> dict[tuple[str, str, str], tuple[Row, int]]:
    """Each row of the section with the order-statistic summary, and its cells under load."""
    cpus = cpu_count(section)
    out = {}
    for scenario in section.timed_scenarios():
        for row in analysis.rows(section, scenario, metric):
            measured = _measured(section, row, metric)
            values = list(measured[metric])
            summary = stats.summarize(values, interval=stats.ORDER_STATISTIC) if values else None
            loaded = int((measured[S.LOAD_AVERAGE] > cpus).sum()) if cpus else 0
            out[(row.scenario, row.config, row.framework)] = (replace(row, summary=summary), loaded)
    return out


def verdict(old: stats.Summary, new: stats.Summary, ratio: stats.Ratio) -> str:
    """What two summaries and their ratio (with the minimum effect applied) claim."""
    if min(old.n, new.n) < MIN_SAMPLES:
        return TOO_FEW
    if ratio.within_noise:
        return NOISE
    return REGRESSION if ratio.value > 1 else IMPROVEMENT


def compare(
    old: Section,
    new: Section,
    metric: str = HEADLINE_NS,
    min_effect: float = MIN_EFFECT,
    claim: bool = True,
) -> list[Change]:
    """Every (scenario, configuration, framework) of either side, changes first; with
    `claim` false (suites of different machines) the times are shown side by side and no
    change of time is claimed (a framework that newly fails still is)."""
    if metric == HEADLINE_NS:
        for scenario in set(old.timed_scenarios()) & set(new.timed_scenarios()):
            before, after = analysis.headlines(old, scenario), analysis.headlines(new, scenario)
            if before != after:
                raise UsageError(
                    f"{scenario}: OLD's figures are {', '.join(before)} and NEW's "
                    f"{', '.join(after)} (other results schemas): compare a field both have, "
                    "e.g. --metric import_ns"
                )
    old_rows, new_rows = _rows(old, metric), _rows(new, metric)
    changes = []
    for key in dict.fromkeys([*old_rows, *new_rows]):
        (o, o_loaded), (n, n_loaded) = old_rows.get(key, (None, 0)), new_rows.get(key, (None, 0))
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
            ratio = stats.ratio(n.summary, o.summary, min_effect)
            kind = verdict(o.summary, n.summary, ratio) if claim else SIDE_BY_SIDE
            if kind == TOO_FEW:  # shown with `~` as nothing is claimed, disjoint or not
                ratio = replace(ratio, within_noise=True)
            # fewer ok cells than before is a regression too, whatever the times say
            if n.n_ok * o.n < o.n_ok * n.n and kind != REGRESSION:
                kind = NEW_FAILURE
        changes.append(Change(*key, kind, o, n, ratio, o_loaded, n_loaded))
    return sorted(changes, key=Change.sort_key)


def _value(row: Row | None, metric: str, loaded: int) -> str:
    if row is None:
        return "-"
    if row.summary is None:
        return row.status()
    unit, scale = METRICS.get(metric, ("", 1.0))
    text = f"{stats.format_number(row.summary.median / scale)} {unit}".strip()
    notes = [row.status()] if row.n_ok < row.n else []
    if loaded:
        notes.append(f"loaded {loaded}/{row.summary.n}")
    return f"{text} ({'; '.join(notes)})" if notes else text


def _kind(c: Change) -> str:
    if c.kind == TOO_FEW:
        return f"{TOO_FEW} (< {MIN_SAMPLES})"
    return f"{c.kind}, under load" if c.claimed and c.under_load else c.kind


def _vs_fastest(row: Row | None) -> str:
    if row is None or row.vs_fastest is None:
        return "-" if row is None or not row.unranked else f"not ranked ({row.unranked})"
    return stats.format_ratio(row.vs_fastest)


def _samples(row: Row | None) -> int:
    return row.summary.n if row and row.summary else 0


def rule_text(min_effect: float) -> str:
    """The rule a difference must pass, as the header states it."""
    return (
        f"a difference is claimed only when both sides have {MIN_SAMPLES} or more ok samples, "
        "their intervals do not overlap and the NEW/OLD interval lies wholly beyond the "
        f"minimum effect of {min_effect:.0%} (above {stats.format_number(1 + min_effect)}x or "
        f"below {stats.format_number(1 / (1 + min_effect))}x, --min-effect); otherwise it is "
        f"within noise (`~`), or too few samples"
    )


def interval_text(changes: list[Change]) -> str:
    """What each median's interval is, with its coverage at the sample counts shown."""
    counts = sorted({_samples(r) for c in changes for r in (c.old, c.new)} - {0})
    coverage = ", ".join(
        f"{100 * stats.order_coverage(n, stats.order_rank(n)):.3g}% with {n}" for n in counts
    )
    return (
        "interval of each median: the order-statistic interval, the k-th smallest to the "
        "k-th largest sample for the largest k that covers the true median with "
        f"{stats.CONFIDENCE:.0%} (below 6 samples none does: it is the range, min to max)"
        + (f"; its coverage here: {coverage} samples" if coverage else "")
    )


def format_changes(
    old: Section,
    new: Section,
    changes: list[Change],
    metric: str,
    forced: bool,
    min_effect: float = MIN_EFFECT,
) -> str:
    """The comparison as Markdown: a header per side, then one table."""

    def side(label: str, s: Section) -> str:
        commits = ", ".join(dict.fromkeys(r.commit_label for r in s.runs)) or "unknown"
        date = s.runs[0].date if s.runs else "unknown date"
        return f"- {label}: suite {s.suite_id} on {s.machine}, commit {commits}, {date}"

    lines = ["# trackbench compare", "", side("OLD", old), side("NEW", new)]
    apart = old.machine != new.machine and not forced
    if apart:
        lines.append(
            f"- DIFFERENT MACHINES ({old.machine} vs {new.machine}): shown side by side, never "
            "pooled, and no change of time is claimed, since NEW/OLD mixes the machines' and "
            "the code's differences; `x fastest` is each framework against the fastest on its "
            "own machine, which reruns on different machines can check against each other "
            "(--force judges changes anyway)"
        )
    elif old.machine != new.machine:
        lines.append(
            f"- DIFFERENT MACHINES ({old.machine} vs {new.machine}), compared because of "
            "--force: the ratios mix machine and code differences"
        )
    lines += [
        f"- metric: median {metric} over ok cells; NEW/OLD ratio with the interval spanned by "
        "both medians' intervals",
        f"- {interval_text(changes)}",
        f"- rule: {rule_text(min_effect)}",
    ]
    unjudged = [label for label, s in (("OLD", old), ("NEW", new)) if cpu_count(s) is None]
    if unjudged:
        lines.append(f"- load: not judged for {' and '.join(unjudged)} (no CPU count recorded)")
    lines.append("")
    counts = {k: sum(c.kind == k for c in changes) for k in ORDER}
    listed = ", ".join(f"{k}: {v}" for k, v in counts.items() if v) or "nothing to compare"
    changed = any(counts[k] for k in (REGRESSION, NEW_FAILURE, IMPROVEMENT, FIXED))
    lines += [listed if changed or not changes else f"no change; {listed}", ""]
    head = ["change", "scenario", "configuration", "framework", "OLD", "NEW", "NEW/OLD",
            "interval", "samples"]  # fmt: skip
    if apart:
        head += ["OLD x fastest", "NEW x fastest"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---" for _ in head) + "|")
    for c in changes:
        cells = [
            _kind(c),
            c.scenario,
            c.config,
            c.framework,
            _value(c.old, metric, c.old_loaded),
            _value(c.new, metric, c.new_loaded),
            stats.format_ratio(c.ratio) if c.ratio else "-",
            f"{stats.format_number(c.ratio.low)} to {stats.format_number(c.ratio.high)}"
            if c.ratio
            else "-",
            f"{_samples(c.old)} / {_samples(c.new)}",
        ]
        if apart:
            cells += [_vs_fastest(c.old), _vs_fastest(c.new)]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    if any(c.under_load for c in changes):
        lines += [
            "",
            "loaded k/n: k of the n cells behind the value ended with the machine's 1-minute "
            "load average above its CPU count: other work competed for the CPUs, so the "
            "value may say more about the machine than about the code.",
        ]
    return "\n".join(lines) + "\n"


# Columns of the CSV and of the JSON's changes: the table's, as numbers in the metric's own
# unit (ns or bytes), with the sample and cell counts behind each side.
COLUMNS = ("change", "scenario", "configuration", "framework", "old_median", "new_median",
           "ratio", "ratio_low", "ratio_high", "claimed", "under_load", "old_samples",
           "new_samples", "old_cells", "new_cells", "old_status", "new_status", "old_low",
           "old_high", "new_low", "new_high", "old_loaded", "new_loaded", "old_vs_fastest",
           "new_vs_fastest")  # fmt: skip


def record(c: Change) -> dict[str, Any]:
    """One change as numbers: the COLUMNS, None where a side has no value."""
    r = c.ratio
    out: dict[str, Any] = {
        "change": c.kind,
        "scenario": c.scenario,
        "configuration": c.config,
        "framework": c.framework,
        "ratio": r.value if r else None,
        "ratio_low": r.low if r else None,
        "ratio_high": r.high if r else None,
        "claimed": c.claimed,
        "under_load": c.under_load,
    }
    for side, row, loaded in (("old", c.old, c.old_loaded), ("new", c.new, c.new_loaded)):
        s = row.summary if row else None
        out[f"{side}_median"] = s.median if s else None
        out[f"{side}_samples"] = s.n if s else 0
        out[f"{side}_cells"] = row.n if row else 0
        out[f"{side}_status"] = row.status() if row else None
        out[f"{side}_low"] = s.low if s else None
        out[f"{side}_high"] = s.high if s else None
        out[f"{side}_loaded"] = loaded
        out[f"{side}_vs_fastest"] = row.vs_fastest.value if row and row.vs_fastest else None
    return {k: out[k] for k in COLUMNS}


def as_csv(changes: list[Change], metric: str) -> str:
    """The comparison as CSV: one row per change, the metric named in each row."""
    out = io.StringIO()
    writer = csv.DictWriter(out, ["metric", *COLUMNS], lineterminator="\n")
    writer.writeheader()
    for c in changes:
        writer.writerow({"metric": metric, **record(c)})
    return out.getvalue()


def _finite(value: Any) -> Any:
    # JSON has no infinity or NaN (a ratio to a zero median): such a value is null
    return None if isinstance(value, float) and not math.isfinite(value) else value


def as_json(
    old: Section,
    new: Section,
    changes: list[Change],
    metric: str,
    forced: bool,
    min_effect: float = MIN_EFFECT,
) -> str:
    """The comparison as JSON: both sides, the rule's parameters, the counts and the changes."""

    def side(s: Section) -> dict[str, Any]:
        return {
            "suite_id": s.suite_id,
            "machine": s.machine,
            "commits": list(dict.fromkeys(r.commit_label for r in s.runs)),
            "date": s.runs[0].date if s.runs else None,
            "cpu_count": cpu_count(s),
        }

    document = {
        "old": side(old),
        "new": side(new),
        "forced": forced,
        "metric": metric,
        "rule": {
            "text": rule_text(min_effect),
            "min_samples": MIN_SAMPLES,
            "min_effect": min_effect,
            "interval": stats.ORDER_STATISTIC,
            "confidence": stats.CONFIDENCE,
            "loaded": "a cell's load_average above the machine's CPU count",
        },
        "counts": {k: v for k in ORDER if (v := sum(c.kind == k for c in changes))},
        "changes": [{k: _finite(v) for k, v in record(c).items()} for c in changes],
    }
    return json.dumps(document, indent=2, allow_nan=False) + "\n"


# What --out writes by the file's extension; Markdown for .md and anything not listed.
WRITERS = {".csv": "csv", ".json": "json"}
# Extensions of formats compare does not write: refused rather than filled with Markdown.
OTHER_FORMATS = frozenset({".xlsx", ".xls", ".ods", ".parquet", ".feather", ".tsv", ".html",
                           ".htm", ".pdf", ".xml", ".yaml", ".yml", ".toml", ".pkl", ".db",
                           ".sqlite", ".png", ".svg"})  # fmt: skip


def out_format(path: str) -> str:
    """What `--out path` writes (csv, json or markdown); a one-line error for another format."""
    suffix = Path(path).suffix.lower()
    if suffix in OTHER_FORMATS:
        raise UsageError(
            f"cannot write {path}: compare writes .csv, .json or Markdown (.md), not {suffix}"
        )
    return WRITERS.get(suffix, "markdown")
