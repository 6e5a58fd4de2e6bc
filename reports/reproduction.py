"""MLtraq's published speed benchmark beside ours: one table per experiment, a sentence a claim.

Their figures are a transcription kept as data, with its source
(`reports/published/mltraq_speed.toml`): means of 10 runs in one Jupyter process with imports
excluded, on their versions and machine; values read off a chart are marked approximate.
Ours come from the section's cells of the same configuration: medians of fresh processes,
once with imports counted (the headline, `tracking_ns`) and once without (`tracking_ns` less
`import_ns`, their method's), for today's version and, where the suite measured it
(`run --with name==version`, label `name@version`), for theirs. Where their chart shows
only means over configurations (`mean_over`), ours is the same mean of our medians, given only
when every configuration of it is ranked. A claim is judged only between rows the report ranks
(enough ok repetitions, data that came back right).
"""

from __future__ import annotations

import itertools
import math
import statistics
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from reports import analysis, stats
from reports.analysis import Row, Section
from results import schema as S

PUBLISHED = Path(__file__).with_name("published") / "mltraq_speed.toml"
LESS_IMPORT_NS = "tracking_less_import_ns"  # their method: the import not counted
NOT_IN_SUITE = "not in this suite"
# A claim holds when our ratio is within this factor of theirs, either way.
HOLDS_WITHIN = 2.0


@dataclass(frozen=True)
class Claim:
    """A ratio the page's text states: `faster` took `ratio` times less than `slower`."""

    text: str
    faster: str
    slower: str
    ratio: float
    at: dict[str, Any]
    at_note: str = ""
    mean_over: dict[str, list[Any]] = field(default_factory=dict)  # at the mean over these


@dataclass(frozen=True)
class Figure:
    """One published mean: a framework at one configuration, or over several (`mean_over`
    holds the values of the other parameters it averages, each with each)."""

    framework: str
    params: dict[str, Any]
    seconds: float
    approximate: bool
    source: str
    mean_over: dict[str, list[Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Experiment:
    """One experiment of the page: its configurations, claims and figures."""

    id: str
    title: str
    scenario: str
    configurations: list[dict[str, Any]]
    claims: list[Claim]
    figures: list[Figure]


@dataclass(frozen=True)
class Published:
    """The whole transcription: where it comes from, their versions, the experiments."""

    source: dict[str, str]
    versions: dict[str, str]
    experiments: list[Experiment]


def load(path: Path = PUBLISHED) -> Published:
    """The transcription at `path`."""
    data = tomllib.loads(path.read_text("utf-8"))
    experiments = [
        Experiment(
            id=e["id"],
            title=e["title"],
            scenario=e["scenario"],
            configurations=list(e["configurations"]),
            claims=[
                Claim(
                    c["text"],
                    c["faster"],
                    c["slower"],
                    float(c["ratio"]),
                    dict(c["at"]),
                    c.get("at_note", ""),
                    dict(c.get("mean_over", {})),
                )
                for c in e.get("claim", [])
            ],
            figures=[
                Figure(
                    f["framework"],
                    dict(f["params"]),
                    float(f["seconds"]),
                    bool(f["approximate"]),
                    f["from"],
                    dict(f.get("mean_over", {})),
                )
                for f in e.get("figure", [])
            ],
        )
        for e in data["experiment"]
    ]
    return Published(dict(data["source"]), dict(data["versions"]), experiments)


@dataclass(frozen=True)
class Line:
    """One framework at one configuration: theirs beside ours."""

    config: str  # our label of the configuration
    framework: str
    theirs: Figure | None
    today: Row | None  # today's version, imports counted
    today_less_import: Row | None
    at_their_version: Row | None  # `name@their version`, imports counted
    at_their_version_less_import: Row | None
    missing: str = ""  # why a mean over configurations has no value of ours today


@dataclass(frozen=True)
class Table:
    """One experiment: its lines, then a sentence per claim."""

    experiment: Experiment
    lines: list[Line]
    sentences: list[str]
    published: Published


def matches(scenario: str, values: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Whether our configuration `values` is the published one `params` (parameters they did
    not vary at the value they had: one metric a step)."""
    implied = S.IMPLIED_PARAMS.get(scenario, {})
    for name, value in values.items():
        expected = params.get(name, implied.get(name))
        if expected is None or value != expected:
            return False
    return set(params) <= set(values)


def _less_import(section: Section) -> Section:
    cells = section.cells.assign(**{LESS_IMPORT_NS: section.cells[S.TRACKING_NS]
                                    - section.cells[S.IMPORT_NS]})  # fmt: skip
    return replace(section, cells=cells)


def _by_framework(rows: Sequence[Row]) -> dict[tuple[str, str], Row]:
    return {(r.config, r.framework): r for r in rows}


def tables(section: Section, published: Published, seed: int = 0) -> list[Table]:
    """The experiments of which the section measured at least one configuration."""
    less = _less_import(section)
    out = []
    for exp in published.experiments:
        if exp.scenario not in section.timed_scenarios():
            continue
        configs = {
            label: section.config_values(exp.scenario, label)
            for label in section.configs(exp.scenario)
        }
        mine = {
            label: next(p for p in exp.configurations if matches(exp.scenario, values, p))
            for label, values in configs.items()
            if any(matches(exp.scenario, values, p) for p in exp.configurations)
        }
        if not mine:
            continue
        today = _by_framework(analysis.rows(section, exp.scenario, seed=seed))
        without = _by_framework(analysis.rows(less, exp.scenario, LESS_IMPORT_NS, seed=seed))
        # a configuration of theirs is a line when a figure or claim stands at it, not only
        # inside a mean (the scenario's own table shows all of ours)
        shown = [f.params for f in exp.figures if not f.mean_over]
        shown += [c.at for c in exp.claims if not c.mean_over]
        lines = []
        for label, params in mine.items():
            if params not in shown:
                continue
            for name, version in published.versions.items():
                theirs = next(
                    (f for f in exp.figures if f.framework == name and f.params == params), None
                )
                pinned = f"{name}@{version}"
                line = Line(label, name, theirs, today.get((label, name)),
                            without.get((label, name)), today.get((label, pinned)),
                            without.get((label, pinned)))  # fmt: skip
                if line.theirs or line.today or line.at_their_version:
                    lines.append(line)
        lines += _mean_lines(exp, published, mine, today, without)
        sentences = [_judge(claim, lines, published, mine) for claim in exp.claims]
        out.append(Table(exp, lines, sentences, published))
    return out


def expand(params: Mapping[str, Any], mean_over: Mapping[str, list[Any]]) -> list[dict[str, Any]]:
    """The configurations a mean covers: `params` with each combination of `mean_over`."""
    return [
        {**params, **dict(zip(mean_over, values, strict=True))}
        for values in itertools.product(*mean_over.values())
    ]


def mean_label(params: Mapping[str, Any], mean_over: Mapping[str, list[Any]]) -> str:
    """Our label of a mean: `n_runs=1000, mean of n_values=500|1000`."""
    over = " x ".join(f"{k}={'|'.join(str(v) for v in vs)}" for k, vs in mean_over.items())
    fixed = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{fixed}, mean of {over}" if fixed else f"mean of {over}"


def _mean_lines(
    exp: Experiment,
    published: Published,
    mine: Mapping[str, dict[str, Any]],
    today: Mapping[tuple[str, str], Row],
    without: Mapping[tuple[str, str], Row],
) -> list[Line]:
    """A line per framework and mean over configurations that a figure or claim stands at."""
    ours = {tuple(sorted(p.items())): label for label, p in mine.items()}
    points = [(f.params, f.mean_over) for f in exp.figures if f.mean_over]
    points += [(c.at, c.mean_over) for c in exp.claims if c.mean_over]
    lines = []
    for label, (params, over) in {mean_label(*p): p for p in points}.items():
        parts = [(c, ours.get(tuple(sorted(c.items())))) for c in expand(params, over)]
        for name, version in published.versions.items():
            theirs = next(
                (f for f in exp.figures
                 if f.framework == name and f.params == params and f.mean_over == over),
                None,
            )  # fmt: skip
            pinned = f"{name}@{version}"
            now, missing = _mean(today, parts, name, label)
            line = Line(label, name, theirs, now, _mean(without, parts, name, label)[0],
                        _mean(today, parts, pinned, label)[0],
                        _mean(without, parts, pinned, label)[0], missing)  # fmt: skip
            if line.theirs or line.at_their_version or missing != NOT_IN_SUITE:
                lines.append(line)
    return lines


def _mean(
    rows: Mapping[tuple[str, str], Row],
    parts: Sequence[tuple[dict[str, Any], str | None]],
    framework: str,
    label: str,
) -> tuple[Row | None, str]:
    """A framework's mean row over the configurations `parts` (each with our label, if the
    suite ran it): None, and why, unless every one of them is ranked. Its interval is the mean
    of theirs, as wide as if their errors went together."""
    found = [(params, rows.get((ours, framework)) if ours else None) for params, ours in parts]
    if all(row is None for _, row in found):
        return None, NOT_IN_SUITE
    why = [
        f"{', '.join(f'{k}={v}' for k, v in params.items())}: "
        + (row.unranked if row else NOT_IN_SUITE)
        for params, row in found
        if row is None or row.unranked
    ]
    if why:
        return None, "; ".join(why)
    got = [row for _, row in found if row is not None]
    summaries = [r.summary for r in got if r.summary is not None]
    kinds = {x.kind for x in summaries}

    def avg(name: str) -> float:
        return statistics.fmean(getattr(x, name) for x in summaries)

    mean = stats.Summary(sum(x.n for x in summaries), avg("median"), avg("q1"), avg("q3"),
                         avg("low"), avg("high"),
                         kinds.pop() if len(kinds) == 1 else stats.RANGE)  # fmt: skip
    return replace(got[0], config=label, n=sum(r.n for r in got), summary=mean,
                   outcomes=_sum(r.outcomes for r in got),
                   fidelities=_sum(r.fidelities for r in got)), ""  # fmt: skip


def _sum(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for each in counts:
        for key, n in each.items():
            out[key] = out.get(key, 0) + n
    return out


def _ratio(slower: Row | None, faster: Row | None) -> stats.Ratio | None:
    """slower / faster, or None when either is not ranked (too few ok, wrong data)."""
    if slower is None or faster is None or slower.unranked or faster.unranked:
        return None
    assert slower.summary is not None and faster.summary is not None
    return stats.ratio(slower.summary, faster.summary)


def holds(claimed: float, measured: stats.Ratio) -> str:
    """`holds`, `holds in direction only` or `does not hold`: our ratio against theirs."""
    if measured.value <= 1 or (measured.within_noise and measured.low <= 1):
        return "does not hold"
    if claimed / HOLDS_WITHIN <= measured.value <= claimed * HOLDS_WITHIN:
        return "holds"
    return "holds in direction only"


def _judge(
    claim: Claim, lines: Sequence[Line], published: Published, mine: Mapping[str, dict[str, Any]]
) -> str:
    """One sentence: the claim, what we measured for it, and which way the method and the
    version move it."""
    if claim.mean_over:
        label: str | None = mean_label(claim.at, claim.mean_over)
        where = f" (at the {label}"
    else:
        label = next((lb for lb, p in mine.items() if p == claim.at), None)
        where = f" (at {', '.join(f'{k}={v}' for k, v in claim.at.items())}"
    where += f"; {claim.at_note})" if claim.at_note else ")"
    said = f"“{claim.text}”{where}: {claim.faster} vs {claim.slower}, {claim.ratio:g}x."
    if label is None:
        return f"{said} Not measured here: the suite has no cells of that configuration."
    of = {ln.framework: ln for ln in lines if ln.config == label}
    fast, slow = of.get(claim.faster), of.get(claim.slower)
    today = _ratio(slow.today if slow else None, fast.today if fast else None)
    if today is None:
        missing = [
            f"{n} ({_why_not(ln)})"
            for n, ln in ((claim.slower, slow), (claim.faster, fast))
            if ln is None or ln.today is None or ln.today.unranked
        ]
        return f"{said} Not judged here: {', '.join(missing)}."
    parts = [f"Here {stats.format_ratio(today)} with imports counted"]
    less = _ratio(
        slow.today_less_import if slow else None, fast.today_less_import if fast else None
    )
    if less is not None:
        parts.append(f"{stats.format_ratio(less)} without them")
    old = [n for n in (claim.slower, claim.faster) if of.get(n) and of[n].at_their_version]
    theirs = _ratio(_pinned(slow), _pinned(fast)) if old else None
    if theirs is not None:
        versions = " and ".join(f"{n} {published.versions[n]}" for n in old)
        parts.append(f"{stats.format_ratio(theirs)} without imports at {versions}")
    verdict = holds(claim.ratio, today)
    why = _why(claim.ratio, today, less, theirs)
    text = f"{said} {'; '.join(parts)}: it {verdict}"
    text += f" ({why})." if why and verdict != "holds" else "."
    if not old:
        versions = ", ".join(f"{n} {published.versions[n]}" for n in (claim.slower, claim.faster))
        text += f" Their versions ({versions}) were not measured here."
    return text


def _why_not(line: Line | None) -> str:
    """Why a line has no ranked value of ours today."""
    if line is None:
        return NOT_IN_SUITE
    if line.today is None:
        return line.missing or NOT_IN_SUITE
    return line.today.unranked


def _pinned(line: Line | None) -> Row | None:
    """A line's figure without imports at their version if measured, else today's."""
    if line is None:
        return None
    return line.at_their_version_less_import or line.today_less_import


def _distance(claimed: float, measured: stats.Ratio | None) -> float:
    if measured is None or measured.value <= 0 or not math.isfinite(measured.value):
        return math.inf
    return abs(math.log(measured.value / claimed))


def _why(
    claimed: float,
    today: stats.Ratio,
    less: stats.Ratio | None,
    theirs: stats.Ratio | None,
) -> str:
    """Which change of method or version brings our ratio nearest theirs."""
    steps = [
        ("counting the import", _distance(claimed, today), _distance(claimed, less)),
        ("the versions", _distance(claimed, less), _distance(claimed, theirs)),
    ]
    moved = [what for what, with_it, without_it in steps if without_it < with_it]
    if not moved:
        return (
            "neither leaving imports out nor their versions bring it nearer: the machine, "
            "fresh processes and what was measured differ"
        )
    return (
        f"{' and '.join(moved)} {'account' if len(moved) > 1 else 'accounts'} for part of the gap"
    )


# --- cells of the tables, shared by the HTML and the Markdown report --------------------------

APPROXIMATE = "≈"  # `~` is the report's mark of a ratio within the noise
HEAD = [
    "configuration", "framework", "theirs, s", "theirs x fastest", "ours, s", "ours x fastest",
    "ours less import, s", "ours at their version, s",
]  # fmt: skip


def _seconds(row: Row | None) -> str:
    if row is None:
        return "-"
    if row.summary is None or row.unranked:
        shown = stats.format_number(row.summary.median / 1e9) if row.summary else ""
        return f"{shown} ({row.unranked})".strip()
    return stats.format_number(row.summary.median / 1e9)


def _fastest(values: Mapping[str, float]) -> float | None:
    finite = [v for v in values.values() if v > 0 and math.isfinite(v)]
    return min(finite) if finite else None


def cells(table: Table) -> list[list[str]]:
    """The table's rows as text: per configuration, theirs beside ours."""
    out = []
    for label in dict.fromkeys(ln.config for ln in table.lines):
        here = [ln for ln in table.lines if ln.config == label]
        theirs = {ln.framework: ln.theirs.seconds for ln in here if ln.theirs}
        ours = {
            ln.framework: ln.today.summary.median / 1e9
            for ln in here
            if ln.today and ln.today.summary and not ln.today.unranked
        }
        best_theirs, best_ours = _fastest(theirs), _fastest(ours)
        for ln in here:
            mark = APPROXIMATE if ln.theirs and ln.theirs.approximate else ""
            their_s = f"{mark}{stats.format_number(ln.theirs.seconds)}" if ln.theirs else "-"
            their_x = (
                f"{stats.format_number(theirs[ln.framework] / best_theirs)}x"
                if ln.theirs and best_theirs
                else "-"
            )
            our_x = (
                f"{stats.format_number(ours[ln.framework] / best_ours)}x"
                if ln.framework in ours and best_ours
                else "-"
            )
            ours_s = f"- ({ln.missing})" if ln.missing else _seconds(ln.today)
            out.append([label, ln.framework, their_s, their_x, ours_s, our_x,
                        _seconds(ln.today_less_import), _seconds(ln.at_their_version)])  # fmt: skip
    return out


def caption(table: Table) -> str:
    """What the table compares, in a sentence."""
    published = table.published
    theirs = ", ".join(f"{n} {v}" for n, v in published.versions.items())
    return (
        f"{table.experiment.title} Theirs: means of 10 runs in one process, imports excluded, "
        f"on {published.source['machine']} ({theirs}); {APPROXIMATE} marks a value read off "
        "the chart. "
        "Ours: medians of fresh processes on this section's machine, today's versions, "
        "imports counted, then without them, then at their version where it was measured."
    )


def source_text(published: Published) -> str:
    """Where the transcription comes from."""
    src = published.source
    return (
        f"Published figures: {src['title']} ({src['url']}, updated {src['updated']}), "
        f"transcribed in reports/published/{PUBLISHED.name}."
    )
