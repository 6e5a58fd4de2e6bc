"""From cells to what a report shows: sections (one suite on one machine), rows, failures.

A section never mixes machines or suites, so no statistic pools them. Within a section a
row is one (scenario, configuration, framework): the statistics of its `ok` cells, with every
other outcome counted beside them and listed in `failures()`.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reports import stats
from reports.stats import Ratio, Summary
from results import schema as S
from results.cells import (
    CONFIG,
    HEADLINE,
    HEADLINE_NS,
    MACHINE,
    SCENARIO,
    Results,
    SuiteRun,
    is_missing,
    plain,
)
from results.errors import UsageError

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Section:
    """The cells of one suite on one machine, and the suite runs that describe it."""

    suite_id: str
    machine: str
    runs: list[SuiteRun]
    cells: pd.DataFrame
    scenario_params: dict[str, tuple[str, ...]]

    @property
    def title(self) -> str:
        """`suite <id> on <machine>`."""
        return f"suite {self.suite_id} on {self.machine}"

    @property
    def slug(self) -> str:
        """A file-name-safe id of the section."""
        return _slug(f"{self.machine}-{self.suite_id}")

    def scenarios(self) -> list[str]:
        """Scenario names present in the section, in the order they were first recorded."""
        return list(dict.fromkeys(self.cells[SCENARIO]))

    def timed_scenarios(self) -> list[str]:
        """The scenarios whose cells are timed comparisons (tables of seconds, plots, ranks)."""
        return [s for s in self.scenarios() if s not in S.NOT_TIMED]

    def frameworks(self) -> list[str]:
        """Frameworks present, the reference tracker first, then by name."""
        names = sorted(set(self.cells[S.FRAMEWORK]))
        return sorted(names, key=lambda n: (n != S.REFERENCE_FRAMEWORK, n))

    def versions(self) -> dict[str, str]:
        """Each framework's version(s) as recorded by its cells."""
        out = {}
        for name in self.frameworks():
            seen = self.cells.loc[self.cells[S.FRAMEWORK] == name, S.FRAMEWORK_VERSION]
            out[name] = ", ".join(sorted({v for v in seen if v})) or "unknown"
        return out

    def configs(self, scenario: str) -> list[str]:
        """Configuration labels of a scenario, ordered by their parameter values."""
        cells = self.cells[self.cells[SCENARIO] == scenario]
        own = self.scenario_params.get(scenario, ())
        firsts = cells.drop_duplicates(CONFIG)
        keyed = [
            (tuple(_sort_key(rec.get(p)) for p in own), rec[CONFIG])
            for rec in firsts.to_dict("records")
        ]
        return [label for _, label in sorted(keyed)]

    def config_values(self, scenario: str, config: str) -> dict[str, Any]:
        """The scenario parameters of one configuration."""
        cells = self.cells[(self.cells[SCENARIO] == scenario) & (self.cells[CONFIG] == config)]
        record = cells.iloc[0].to_dict()
        own = self.scenario_params.get(scenario, ())
        return {p: plain(record[p]) for p in own if not is_missing(record.get(p))}


def _sort_key(value: Any) -> tuple[int, Any]:
    if is_missing(value):
        return (2, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


def sections(
    results: Results, suite_ids: list[str] | None = None, combine: bool = False
) -> list[Section]:
    """One section per (suite, machine): the given suites, or each machine's latest suite;
    with `combine`, the given suites of each machine as one (their commits must agree)."""
    cells = results.cells
    if suite_ids:
        for sid in suite_ids:
            results.check_suite(sid)
        chosen = list(dict.fromkeys(suite_ids))
    else:
        latest: dict[str, str] = {}  # machine -> its latest suite with cells
        for sid in results.suite_ids():  # oldest first, so later suites overwrite
            for machine in set(cells.loc[cells[S.SUITE_ID] == sid, MACHINE]):
                latest[machine] = sid
        order = results.suite_ids()
        chosen = sorted(set(latest.values()), key=order.index)
    if combine:
        return _combined(results, chosen)
    out = []
    for sid in chosen:
        of_suite = cells[cells[S.SUITE_ID] == sid]
        if of_suite.empty:
            raise UsageError(f"suite {sid} has no results in {results.url}")
        for machine in sorted(set(of_suite[MACHINE])):
            part = of_suite[of_suite[MACHINE] == machine].reset_index(drop=True)
            runs = [r for r in results.runs_of(sid) if r.machine == machine]
            out.append(Section(sid, machine, runs, part, results.scenario_params))
    if not out:
        raise UsageError(f"{results.url} holds no results yet: run `trackbench run` first")
    return out


def _combined(results: Results, chosen: list[str]) -> list[Section]:
    """The chosen suites pooled per machine: one section each, its id the suites' ids joined
    by `+`; refused when they ran different code (a pooled sample would mix commits)."""
    if len(chosen) < 2:
        raise UsageError("--combine needs at least two suites (--suite ID --suite ID ...)")
    cells = results.cells
    of_suites = cells[cells[S.SUITE_ID].isin(chosen)]
    out = []
    for machine in sorted(set(of_suites[MACHINE])):
        runs = [r for sid in chosen for r in results.runs_of(sid) if r.machine == machine]
        commits = sorted({r.commit_label for r in runs})
        if len(commits) > 1:
            raise UsageError(
                f"--combine: the suites ran different commits on {machine} "
                f"({', '.join(commits)}): report them apart or compare them"
            )
        part = of_suites[of_suites[MACHINE] == machine].reset_index(drop=True)
        here = [sid for sid in chosen if (part[S.SUITE_ID] == sid).any()]
        out.append(Section("+".join(here), machine, runs, part, results.scenario_params))
    return out


# No ratio is claimed, and nothing is ranked, on fewer ok repetitions than this on a side.
MIN_REPETITIONS = 3
# Only data that came back exact, or with the loss its adapter documents, is ranked.
RANKED_FIDELITIES = frozenset({S.EXACT, S.LOSSY})
# A cell was measured under load when other processes took more CPU time than this share of
# one core for as long as its writer ran.
LOADED_SHARE = 0.25


@dataclass(frozen=True)
class Row:
    """One framework in one configuration of one scenario."""

    scenario: str
    config: str
    framework: str
    version: str
    n: int  # cells, whatever their outcome
    outcomes: dict[str, int]
    fidelities: dict[str, int]  # of the ok cells
    summary: Summary | None  # of the ok cells' metric; None when none succeeded
    vs_fastest: Ratio | None = None
    vs_reference: Ratio | None = None
    reasons: tuple[str, ...] = ()
    is_fastest: bool = False
    service_start_ns: float = math.nan  # median over the ok cells with a local server
    role: str = S.TRACKER
    durability: str = ""
    loss: str = ""  # what a lossy framework loses, as its adapter documents it
    loaded: int = 0  # ok cells measured under load (LOADED_SHARE)
    historical: bool = False  # a historical baseline (its adapter says why)

    @property
    def unranked(self) -> str:
        """Why the row is not ranked (no ratio to or from it), or "" when it is."""
        if self.summary is None:
            return "no ok cell"
        if self.unclean:
            return self.unclean
        if self.n_ok < MIN_REPETITIONS:
            return f"{self.n_ok} ok < {MIN_REPETITIONS}"
        return ""

    @property
    def unclean(self) -> str:
        """Why the ok cells' data is not clean ("" when it is): the first fidelity that is
        neither exact nor declared lossy, e.g. `wrong data`."""
        bad = [f for f in self.fidelities if f not in RANKED_FIDELITIES]
        return (bad[0] or "no fidelity").replace("_", " ") if bad else ""

    @property
    def n_ok(self) -> int:
        """How many cells succeeded."""
        return self.outcomes.get(S.OK, 0)

    def status(self) -> str:
        """`ok`, or the outcomes other than ok with their counts, e.g. `crash 1/3`."""
        bad = [(o, c) for o, c in self.outcomes.items() if o != S.OK]
        if not bad:
            return S.OK
        return ", ".join(f"{o or 'no outcome'} {c}/{self.n}" for o, c in bad)

    def fidelity(self) -> str:
        """The fidelity of the ok cells, with counts when they differ; a loss says what."""
        if not self.fidelities:
            return "-"
        if len(self.fidelities) == 1:
            text = next(iter(self.fidelities))
        else:
            text = ", ".join(f"{f or 'not recorded'} {c}" for f, c in self.fidelities.items())
        return f"{text}: {self.loss}" if self.loss else text


def declared(section: Section, name: str) -> dict[str, Any]:
    """Framework -> what its adapter declared as `name` when the suite ran (the first suite
    run that declared it), for the frameworks present that declared it at all."""
    present = set(section.frameworks())
    out: dict[str, Any] = {}
    for run in section.runs:
        for framework, declarations in run.declarations().items():
            if framework in present and isinstance(declarations, dict) and name in declarations:
                out.setdefault(framework, declarations[name])
    return out


def historical(section: Section) -> dict[str, str]:
    """Frameworks kept as historical baselines, and why (as their adapters declared)."""
    return {f: str(w) for f, w in sorted(declared(section, "historical").items()) if w}


def readers(section: Section) -> dict[str, str]:
    """Frameworks whose data is read back by something other than their own reader, and
    what reads it (as their adapters declared when the suite ran)."""
    return {f: str(r) for f, r in sorted(declared(section, "reader").items()) if r}


def lacking(section: Section, capability: str) -> dict[str, str]:
    """Frameworks whose adapters declared they lack `capability`, and why (their `lacks`)."""
    lacks = declared(section, "lacks")
    out = {}
    for framework, supports in declared(section, "supports").items():
        if isinstance(supports, list) and capability not in supports:
            why = lacks.get(framework)
            reason = why.get(capability) if isinstance(why, dict) else None
            out[framework] = str(reason or "no reason declared")
    return out


def headlines(section: Section, scenario: str) -> list[str]:
    """The fields a scenario's figures are in this section (one, unless schemas were mixed)."""
    cells = section.cells[section.cells[SCENARIO] == scenario]
    return list(dict.fromkeys(str(h) for h in cells[HEADLINE]))


def _counts(values: Any, order: tuple[str, ...]) -> dict[str, int]:
    counts = Counter(str(v) for v in values)
    ranked = sorted(counts, key=lambda k: (order.index(k) if k in order else len(order), k))
    return {k: counts[k] for k in ranked}


def rows(section: Section, scenario: str, metric: str = HEADLINE_NS, seed: int = 0) -> list[Row]:
    """Rows of one scenario: per configuration, fastest first, failed frameworks last."""
    cells = section.cells[section.cells[SCENARIO] == scenario]
    past = historical(section)
    out: list[Row] = []
    for config in section.configs(scenario):
        here = cells[cells[CONFIG] == config]
        summaries: dict[str, Summary] = {}
        partial: list[Row] = []
        for framework in section.frameworks():
            mine = here[here[S.FRAMEWORK] == framework]
            if mine.empty:
                continue
            ok = mine[mine[S.OUTCOME] == S.OK]
            values = [v for v in ok[metric] if not math.isnan(v)]
            summary = stats.summarize(values, seed=seed) if values else None
            if summary is not None:
                summaries[framework] = summary
            reasons = tuple(dict.fromkeys(str(r) for r in mine[S.REASON] if r))
            starts = [v for v in ok[S.SERVICE_START_NS] if not math.isnan(v)]
            lossy = ok[ok[S.FIDELITY] == S.LOSSY]
            loaded = int((ok[S.OTHER_CPU_NS] > LOADED_SHARE * ok[S.PROCESS_NS]).sum())
            partial.append(
                Row(
                    scenario=scenario,
                    config=config,
                    framework=framework,
                    version=", ".join(sorted({v for v in mine[S.FRAMEWORK_VERSION] if v})),
                    n=len(mine),
                    outcomes=_counts(mine[S.OUTCOME], S.OUTCOMES),
                    fidelities=_counts(ok[S.FIDELITY], S.FIDELITIES),
                    summary=summary,
                    reasons=reasons,
                    service_start_ns=statistics.median(starts) if starts else math.nan,
                    role=str(mine[S.ROLE].iloc[0]),
                    durability=", ".join(sorted({d for d in mine[S.DURABILITY] if d})),
                    loss=", ".join(dict.fromkeys(str(r) for r in lossy[S.REASON] if r)),
                    loaded=loaded,
                    historical=framework in past,
                )
            )
        ranked = {r.framework: r for r in partial if not r.unranked}
        # floors are the limit, never the fastest; ties go to the first in framework order
        racing = {f: r.summary for f, r in ranked.items() if r.role != S.FLOOR and r.summary}
        fastest_name = min(racing, key=lambda f: racing[f].median) if racing else None
        fastest = racing[fastest_name] if fastest_name else None
        reference = next(
            (r.summary for r in ranked.values() if r.role == S.REFERENCE), None
        )  # fmt: skip
        done = []
        for row in partial:
            if row.summary is None or row.unranked:
                done.append(row)
                continue
            done.append(
                replace(
                    row,
                    vs_fastest=stats.ratio(row.summary, fastest)
                    if fastest and row.role != S.FLOOR
                    else None,
                    vs_reference=stats.ratio(row.summary, reference) if reference else None,
                    is_fastest=row.framework == fastest_name,
                )
            )
        done.sort(key=lambda r: (r.summary is None, r.summary.median if r.summary else 0.0))
        out.extend(done)
    return out


def ratio_text(row: Row, which: str) -> str:
    """The ratio to the fastest (`which="fastest"`) or to the reference, as tables show it."""
    if row.summary is None:
        return "-"
    if row.unranked:
        return f"not ranked ({row.unranked})"
    if which == "fastest":
        if row.role == S.FLOOR:
            return "floor (the limit)"
        return "1x (fastest)" if row.is_fastest else _ratio_or_dash(row.vs_fastest)
    if row.role == S.REFERENCE:
        return "1x (reference)"
    if row.vs_reference is None:
        return "- (reference not ranked)"
    return stats.format_ratio(row.vs_reference)


def _ratio_or_dash(ratio: Ratio | None) -> str:
    return "-" if ratio is None else stats.format_ratio(ratio)


@dataclass(frozen=True)
class Failure:
    """Cells of one framework and configuration that share an outcome other than ok."""

    scenario: str
    config: str
    framework: str
    outcome: str
    reason: str
    repetitions: tuple[Any, ...]


def failures(section: Section) -> list[Failure]:
    """Every cell whose outcome is not ok, or whose data came back wrong, grouped by reason."""
    cells = section.cells
    bad = cells[(cells[S.OUTCOME] != S.OK) | (cells[S.FIDELITY] == S.WRONG_DATA)]
    groups: dict[tuple[str, str, str, str, str], list[Any]] = {}
    for rec in bad.to_dict("records"):
        outcome = rec[S.OUTCOME] or "no outcome recorded"
        if rec[S.OUTCOME] == S.OK:
            outcome = S.WRONG_DATA
        key = (rec[SCENARIO], rec[CONFIG], rec[S.FRAMEWORK], outcome, rec[S.REASON] or "")
        groups.setdefault(key, []).append(rec[S.REPETITION])
    order = {s: i for i, s in enumerate(section.scenarios())}
    out = [
        Failure(*key, repetitions=tuple(sorted(reps, key=_sort_key)))
        for key, reps in groups.items()
    ]
    out.sort(key=lambda f: (order.get(f.scenario, 0), f.framework, f.config, f.outcome))
    return out


@dataclass(frozen=True)
class Leftover:
    """What a framework's cells left behind: processes still running, files outside."""

    framework: str
    cells: int  # cells that left something
    of: int  # cells that ran
    max_processes: int
    max_files: int
    paths: tuple[str, ...]  # examples, as the runner recorded them


def leftovers(section: Section) -> list[Leftover]:
    """Per framework, the cells that left processes running or files outside their directory."""
    import json

    out = []
    cells = section.cells
    for framework in section.frameworks():
        mine = cells[cells[S.FRAMEWORK] == framework]
        procs = mine[S.LEFTOVER_PROCESSES].fillna(0)
        files = mine[S.OUTSIDE_FILES].fillna(0)
        left = mine[(procs > 0) | (files > 0)]
        if left.empty:
            continue
        paths: list[str] = []
        for text in left[S.OUTSIDE_PATHS]:
            try:
                found = json.loads(text) if text else []
            except ValueError:
                found = [text]
            paths.extend(str(p) for p in (found if isinstance(found, list) else [found]))
        out.append(
            Leftover(
                framework=framework,
                cells=len(left),
                of=len(mine),
                max_processes=int(procs.max()),
                max_files=int(files.max()),
                paths=tuple(dict.fromkeys(paths))[:5],
            )
        )
    return out


@dataclass(frozen=True)
class FidelityNote:
    """Ok cells of one framework whose data came back lossy or could not be verified."""

    framework: str
    fidelity: str
    reason: str
    scenarios: tuple[str, ...]
    cells: int


def fidelity_notes(section: Section) -> list[FidelityNote]:
    """Lossy and unverified results, grouped by framework and reason across scenarios."""
    cells = section.cells
    noted = cells[
        (cells[S.OUTCOME] == S.OK) & cells[S.FIDELITY].isin([S.LOSSY, S.UNVERIFIED, S.NOT_CHECKED])
    ]
    groups: dict[tuple[str, str, str], list[str]] = {}
    for rec in noted.to_dict("records"):
        key = (rec[S.FRAMEWORK], rec[S.FIDELITY], rec[S.REASON] or "")
        groups.setdefault(key, []).append(rec[SCENARIO])
    order = section.frameworks()
    return [
        FidelityNote(*key, scenarios=tuple(dict.fromkeys(scenarios)), cells=len(scenarios))
        for key, scenarios in sorted(groups.items(), key=lambda kv: (order.index(kv[0][0]), kv[0]))
    ]


def cell_status(outcome: str, fidelity: str) -> str:
    """What a fidelity matrix shows for a cell: its fidelity if ok, else its outcome."""
    if outcome == S.OK:
        return fidelity or S.NOT_CHECKED
    return outcome or "no outcome"


# Worst first: the matrix colours a group by the worst status in it.
STATUS_SEVERITY = (
    S.WRONG_DATA,
    S.CRASH,
    S.TIMEOUT,
    S.BAD_OUTPUT,
    "no outcome",
    S.UNSUPPORTED,
    S.SKIPPED,
    S.LOSSY,
    S.UNVERIFIED,
    S.NOT_CHECKED,
    S.EXACT,
)


def fidelity_matrix(section: Section) -> dict[tuple[str, str], dict[str, int]]:
    """(framework, scenario) -> counts of each cell status, worst first."""
    out: dict[tuple[str, str], dict[str, int]] = {}
    for rec in section.cells.to_dict("records"):
        key = (rec[S.FRAMEWORK], rec[SCENARIO])
        status = cell_status(rec[S.OUTCOME], rec[S.FIDELITY])
        counts = out.setdefault(key, {})
        counts[status] = counts.get(status, 0) + 1
    for key, counts in out.items():
        out[key] = dict(
            sorted(
                counts.items(),
                key=lambda kv: (
                    STATUS_SEVERITY.index(kv[0]) if kv[0] in STATUS_SEVERITY else -1
                ),  # an unknown status is shown as worst: never hidden
            )
        )
    return out


def median_of(section: Section, scenario: str, config: str, framework: str, column: str) -> float:
    """Median of one column over the ok cells of a framework in a configuration; NaN if none."""
    c = section.cells
    ok = c[
        (c[SCENARIO] == scenario)
        & (c[CONFIG] == config)
        & (c[S.FRAMEWORK] == framework)
        & (c[S.OUTCOME] == S.OK)
    ]
    values = [v for v in ok[column] if not math.isnan(v)]
    return statistics.median(values) if values else math.nan


@dataclass(frozen=True)
class KindsRow:
    """One framework's row of a scenario's value-kind matrix (the fidelity scenario)."""

    framework: str
    kinds: dict[str, str]  # value kind -> kept, changed to X, dropped or refused: E
    concurrent_start: str
    failed: str  # the outcome and reason when no matrix came back, else ""

    def count(self, verdict: str) -> int:
        """How many kinds have this verdict (kept, changed, dropped, refused)."""
        return sum(v.startswith(verdict) for v in self.kinds.values())


def value_kinds(section: Section, scenario: str) -> tuple[list[str], list[KindsRow]]:
    """The value kinds (in the order the cells wrote them) and one row per framework: the
    latest cell's matrix, or why there is none."""
    cells = section.cells[section.cells[SCENARIO] == scenario]
    kinds: list[str] = []
    out = []
    for framework in section.frameworks():
        records = cells[cells[S.FRAMEWORK] == framework].to_dict("records")
        if not records:
            continue
        rec = records[-1]  # one repetition per suite; a resumed suite keeps its last
        found = rec.get(S.FIDELITY_MATRIX)
        matrix = found if isinstance(found, dict) else {}
        kinds.extend(k for k in matrix if k not in kinds)
        failed = "" if matrix else f"{rec[S.OUTCOME]}: {rec[S.REASON] or '(no reason given)'}"
        start = rec.get(S.CONCURRENT_START)
        out.append(KindsRow(framework, matrix, "" if start is None else str(start), failed))
    return kinds, out
