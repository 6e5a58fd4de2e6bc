"""The top of a section: a verdict computed from the data, then the overview matrix.

The matrix has a row per framework and a column per timed scenario, each cell the median
ratio to the reference tracker in one representative configuration of the scenario (the
largest every framework ran with every cell ok, else the median one), marked when the data
came back lossy or wrong, or when the cell failed, was unsupported or skipped, with the
reason. Then durability, the fidelity check's count of kept value kinds, crash survival and
p99 log() latency, where those scenarios exist. Frameworks are ordered by the geometric mean
of their ratios over the scenarios where they have one; a framework whose data came back
wrong anywhere is not ranked, and floors are the limit: their own rows at the bottom.

Also the scenarios' fixed order and what each measures: data here, since reports never
import scenarios (a test checks they agree with scenarios.workloads).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reports import analysis, stats, untimed
from reports.analysis import KindsRow, Row, Section
from reports.untimed import Measured
from results import schema as S

FIDELITY = "fidelity"
# Each scenario: a readable title, and one sentence on what it measures (its workload's doc,
# reworded for a reader), in the order of DESIGN.md and `trackbench list`.
SCENARIOS: dict[str, tuple[str, str]] = {
    "startup": ("Start-up", "The cost of tracking almost nothing: one run with one value, the "
                "framework's import included."),
    "high_frequency": ("High-frequency logging", "One run logging n_values float values, one "
                       "per step."),
    "many_runs": ("Many runs", "n_runs runs in one process, n_values float values each."),
    "arrays": ("Arrays", "One run storing n_arrays float64 arrays of n_elements each."),
    "large_array": ("A large array", "One run storing one int8 array of n_elements (100 MB "
                    "to 1 GB)."),
    "readback": ("Reading back", "A new process reading everything that n_runs runs of "
                 "n_values logged back into one table, and a reader during the writing."),
    "concurrency": ("Concurrent writers", "n_processes writer processes logging into one "
                    "store at once, timed as the whole concurrent phase."),
    "training_loop": ("A training loop", "A realistic run: parameters, per-step loss and "
                      "learning rate, per-epoch evaluation and the final float32 weights."),
    "wide_steps": ("Wide steps", "n_steps steps of n_metrics names each: the cost of many "
                   "keys."),
    # loop_overhead, long_run and crash: their own tables' opening sentence
    "loop_overhead": ("Overhead in a training loop", untimed.INTRO[untimed.LOOP_OVERHEAD]),
    "long_run": ("Memory over a long run", untimed.INTRO[untimed.LONG_RUN]),
    "crash": ("Crash survival", untimed.INTRO[untimed.CRASH]),
    FIDELITY: ("Fidelity", "The values that break trackers, each logged on its own: which "
               "value kinds come back as they were logged."),
}  # fmt: skip


def ordered(scenarios: Sequence[str]) -> list[str]:
    """The scenarios in their fixed order; any unknown ones after, as given."""
    known = list(SCENARIOS)
    return sorted(scenarios, key=lambda s: known.index(s) if s in known else len(known))


def title(scenario: str) -> str:
    """A scenario's readable title (its identifier when unknown)."""
    return SCENARIOS.get(scenario, (scenario, ""))[0]


def measures(scenario: str) -> str:
    """One sentence on what a scenario measures ("" when unknown)."""
    return SCENARIOS.get(scenario, ("", ""))[1]


# --- one representative configuration per scenario -------------------------------------------

LARGEST = "the largest every framework ran ok"
MEDIAN = "the median configuration: no configuration ran ok for every framework"
ONLY = "its only configuration"


def representative(rows: Sequence[Row]) -> tuple[str, str]:
    """(configuration, the rule that chose it): the largest configuration in which every
    framework of the scenario ran with every cell ok, else the median one. `rows` come in
    configuration order (smallest first), as analysis.rows gives them."""
    configs = list(dict.fromkeys(r.config for r in rows))
    if len(configs) == 1:
        return configs[0], ONLY
    everyone = {r.framework for r in rows}
    for config in reversed(configs):
        here = [r for r in rows if r.config == config]
        if {r.framework for r in here} == everyone and all(
            r.status() == S.OK and r.n_ok > 0 for r in here
        ):
            return config, LARGEST
    return configs[(len(configs) - 1) // 2], MEDIAN


# --- the cells -------------------------------------------------------------------------------

LOSSY = "lossy"
WRONG = S.WRONG_DATA.replace("_", " ")  # as Row.unclean names it
FAILED = "failed"
UNSUPPORTED = "unsupported"
SKIPPED = "skipped"
FEW = "too few"  # fewer ok repetitions than a ratio needs


@dataclass(frozen=True)
class Cell:
    """One cell of the matrix: its text, a mark and its reason, and what it sorts by."""

    text: str
    key: float | None = None  # the sort key (a ratio, a count); None: sorted last
    mark: str = ""
    reason: str = ""
    ratio: float | None = None  # to the reference: coloured, and in the geometric mean


NOT_RUN = Cell("-", reason="not run in this suite")


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def _why(row: Row) -> str:
    """The reasons of a row's cells, one line each (the last line of a traceback)."""
    return "; ".join(dict.fromkeys(_last_line(r) for r in row.reasons if r)) or "no reason given"


def _no_ratio(row: Row) -> Cell:
    """A cell without a ratio: failed, unsupported, skipped, wrong data or too few ok."""
    if row.summary is None:
        outcomes = [o for o in row.outcomes if o != S.OK]
        if not outcomes:
            return Cell("-", reason="no figure recorded")
        mark = {S.UNSUPPORTED: UNSUPPORTED, S.SKIPPED: SKIPPED}.get(outcomes[0], FAILED)
        if len(outcomes) > 1:
            mark = FAILED
        return Cell(mark, mark=mark, reason=f"{row.status()}: {_why(row)}")
    if row.unclean:  # wrong data, unverified, not checked
        return Cell(row.unclean, mark=row.unclean, reason=_why(row))
    status = row.status()
    if status != S.OK:
        reason = f"{row.n_ok} ok < {analysis.MIN_REPETITIONS}; {status}: {_why(row)}"
        return Cell(FAILED, mark=FAILED, reason=reason)
    return Cell(FEW, mark=FEW, reason=f"{row.n_ok} ok < {analysis.MIN_REPETITIONS} repetitions")


def ratio_cell(row: Row | None) -> Cell:
    """A framework's cell in a timed scenario: its ratio to the reference, or why none."""
    if row is None:
        return NOT_RUN
    if row.unranked:
        return _no_ratio(row)
    r = row.vs_reference
    if r is None:
        return Cell("-", reason=f"the reference ({S.REFERENCE_FRAMEWORK}) is not ranked here")
    text = "1x" if row.role == S.REFERENCE else stats.format_ratio(r)
    lossy = S.LOSSY in row.fidelities
    return Cell(
        text,
        key=r.value,
        mark=LOSSY if lossy else "",
        reason=(row.loss or "as its adapter documents") if lossy else "",
        ratio=r.value,
    )


# --- the matrix ------------------------------------------------------------------------------

DURABILITY = "durability"
KEPT = "kept kinds"
SURVIVED = "crash survived"
P99 = "log() p99"


@dataclass(frozen=True)
class Column:
    """A column: a timed scenario's ratios, or one of the columns after them."""

    key: str  # the scenario, or DURABILITY, KEPT, SURVIVED, P99
    scenario: str  # where its figures come from ("" for durability)
    config: str = ""  # the representative configuration
    rule: str = ""  # why that one

    @property
    def timed(self) -> bool:
        """Whether its cells are ratios to the reference (a timed scenario's column)."""
        return self.key == self.scenario

    def describe(self) -> str:
        """What the column holds, for a header's hover text."""
        text = title(self.scenario) if self.scenario else "what a completed flush survives"
        return f"{text}; {self.config} ({self.rule})" if self.config else text


@dataclass(frozen=True)
class Line:
    """One framework's row of the matrix."""

    framework: str
    role: str
    cells: dict[str, Cell]  # column key -> cell
    mean: float | None  # geometric mean of its ratios; None without any
    ratios: int  # how many ratios the mean is over
    unranked: str = ""  # why it is not ranked ("" when it is)

    @property
    def name(self) -> str:
        """The framework's name, with its role unless a tracker's."""
        return self.framework if self.role == S.TRACKER else f"{self.framework} ({self.role})"

    def mean_text(self) -> str:
        """The geometric mean as the matrix shows it (a floor's under its group's label: the
        limit)."""
        if self.mean is None:
            return "-"
        if self.role == S.REFERENCE:
            return "1x"  # its every ratio is to itself
        return f"{stats.format_number(self.mean)}x"


@dataclass
class Overview:
    """The matrix and the verdict of one section."""

    columns: list[Column]
    lines: list[Line]  # ranked by their mean, then the unranked, then floors
    verdict: list[str] = field(default_factory=list)

    @property
    def timed(self) -> list[Column]:
        """The columns of ratios."""
        return [c for c in self.columns if c.timed]


def geometric_mean(values: Sequence[float]) -> float | None:
    """The geometric mean of positive values; None for none."""
    good = [v for v in values if v > 0 and math.isfinite(v)]
    return math.exp(sum(math.log(v) for v in good) / len(good)) if good else None


def _here(rows: Sequence[Row], config: str) -> dict[str, Row]:
    return {r.framework: r for r in rows if r.config == config}


def _durability(section: Section, framework: str) -> Cell:
    cells = section.cells[section.cells[S.FRAMEWORK] == framework]
    found = sorted({str(d) for d in cells[S.DURABILITY] if d})
    return Cell(", ".join(found) or "-")


def _kept(row: KindsRow | None) -> Cell:
    if row is None:
        return NOT_RUN
    if row.failed:
        return Cell(FAILED, mark=FAILED, reason=_last_line(row.failed))
    kept = row.count("kept")
    lost = "; ".join(f"{k}: {v}" for k, v in row.kinds.items() if v != "kept")
    return Cell(f"{kept} / {len(row.kinds)}", key=kept, reason=lost)


def _measured_cell(m: Measured | None, value: float, text: str, reason: str) -> Cell:
    """A cell of crash or loop_overhead: its figure, or why there is none, flagged when the
    data is not clean."""
    if m is None:
        return NOT_RUN
    if m.row.summary is None or math.isnan(value):
        return _no_ratio(m.row)
    flag = m.flag()
    if flag and flag == m.row.unclean:
        return Cell(text, key=value, mark=flag, reason=_why(m.row))
    if flag:  # too few ok repetitions
        return Cell(text, key=value, mark=FEW, reason=flag)
    return Cell(text, key=value, reason=reason)


def _survived(m: Measured | None) -> Cell:
    if m is None:
        return NOT_RUN
    v = m.medians
    share = v[untimed.SURVIVED_SHARE]
    reason = (f"{untimed.count(v[S.SURVIVED_VALUES])} of {untimed.count(v[S.LOGGED_VALUES])} "
              f"logged values came back; everything flushed survived: "
              f"{untimed.flushed_survived(m)}")  # fmt: skip
    return _measured_cell(m, share, f"{untimed.percent(share)}%", reason)


def _p99(m: Measured | None) -> Cell:
    if m is None:
        return NOT_RUN
    p99 = m.medians[S.LOG_P99_NS]
    text = f"{stats.format_number(p99 / 1e3)} µs" if not math.isnan(p99) else "-"
    overhead = m.medians[S.OVERHEAD_PCT]
    reason = "the median over the ok repetitions" + (
        "" if math.isnan(overhead) else f"; the loop's overhead {stats.format_number(overhead)}%"
    )
    return _measured_cell(m, p99, text, reason)


def build(
    section: Section,
    rows: Mapping[str, list[Row]],
    measured: Mapping[str, list[Measured]],
    kinds: Mapping[str, tuple[list[str], list[KindsRow]]],
) -> Overview:
    """The overview of a section from what its tables show: the timed rows, the measured
    rows of loop_overhead and crash, the fidelity check's value-kind matrix."""
    columns = []
    for scenario in ordered(list(rows)):
        config, rule = representative(rows[scenario])
        columns.append(Column(scenario, scenario, config, rule))
    if any(d for d in section.cells[S.DURABILITY]):
        columns.append(Column(DURABILITY, ""))
    kind_rows = {r.framework: r for r in kinds.get(FIDELITY, ([], []))[1]}
    if FIDELITY in kinds:
        columns.append(Column(KEPT, FIDELITY))
    chosen: dict[str, dict[str, Measured]] = {}
    for key, scenario in ((SURVIVED, untimed.CRASH), (P99, untimed.LOOP_OVERHEAD)):
        if measured.get(scenario):
            config, rule = representative([m.row for m in measured[scenario]])
            chosen[key] = {m.framework: m for m in measured[scenario] if m.config == config}
            columns.append(Column(key, scenario, config, rule))
    cells_of = section.cells
    roles = {str(f): str(r) for f, r in zip(cells_of[S.FRAMEWORK], cells_of[S.ROLE], strict=True)}
    lines = []
    for framework in section.frameworks():
        cells: dict[str, Cell] = {}
        for col in columns:
            if col.timed:
                cells[col.key] = ratio_cell(_here(rows[col.key], col.config).get(framework))
            elif col.key == DURABILITY:
                cells[col.key] = _durability(section, framework)
            elif col.key == KEPT:
                cells[col.key] = _kept(kind_rows.get(framework))
            elif col.key == SURVIVED:
                cells[col.key] = _survived(chosen[col.key].get(framework))
            else:
                cells[col.key] = _p99(chosen[col.key].get(framework))
        ratios = [c.ratio for c in cells.values() if c.ratio is not None]
        # its times are not claimed where its data came back wrong (crash and loop_overhead
        # say so in their own columns: not times)
        wrong = [col.key for col in columns if col.timed and cells[col.key].mark == WRONG]
        mean = geometric_mean(ratios)
        unranked = ""
        if wrong:
            unranked = f"wrong data in {', '.join(wrong)}"
        elif mean is None:
            unranked = "no ratio to the reference"
        lines.append(Line(framework, roles.get(framework, S.TRACKER), cells, mean,
                          len(ratios), unranked))  # fmt: skip
    lines.sort(key=lambda ln: (ln.role == S.FLOOR, bool(ln.unranked), ln.mean or math.inf))
    out = Overview(columns, lines)
    out.verdict = verdict(out, rows, chosen)
    return out


# --- the verdict -----------------------------------------------------------------------------

# What the fastest framework of a scenario is fastest at.
AT = {
    "startup": "to start",
    "high_frequency": "to log at high frequency",
    "many_runs": "to log many runs",
    "arrays": "to store arrays",
    "large_array": "to store a large array",
    "readback": "to read back",
    "concurrency": "with concurrent writers",
    "training_loop": "in a training loop",
    "wide_steps": "to log wide steps",
}
# The scenarios the verdict names when present; a suite with none of them (a user's spec)
# gets a sentence for each of its timed scenarios.
HEADLINE = ("startup", "high_frequency", "arrays")


def _times(ratio: float) -> str:
    return f"{stats.format_number(ratio)}x"


def _fastest(col: Column, here: dict[str, Row]) -> str:
    """Who is fastest in a scenario's representative configuration, and the ratios."""
    racing = sorted(
        (r for r in here.values() if not r.unranked and r.role != S.FLOOR and r.summary),
        key=lambda r: r.summary.median if r.summary else math.inf,
    )
    where = f"`{col.key}`, {col.config}"
    if not racing:
        return f"No tracker is ranked {AT.get(col.key, 'in ' + col.key)} ({where})."
    first, *rest = racing
    who = f"{first.framework} (the reference)" if first.role == S.REFERENCE else first.framework
    if first.role != S.REFERENCE and first.vs_reference is not None:
        who += f", {_times(first.vs_reference.value)} the reference"
    text = f"Fastest {AT.get(col.key, 'in ' + col.key)} ({where}): {who}"
    then = [f"{r.framework} {ratio_cell(r).text}" for r in rest[:3] if r.vs_reference]
    if then:
        text += f"; then {', '.join(then)} the reference's time"
    floors = [r for r in here.values() if r.role == S.FLOOR and r.vs_reference]
    if floors:
        limit = ", ".join(f"{r.framework} {ratio_cell(r).text}" for r in floors)
        text += f"; the limit: {limit}"
    return text + "."


def _listed(names: Sequence[str], most: int = 5) -> str:
    """Names joined, the first `most` of them and how many more."""
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])} and {len(names) - most} more"


# Marks of data that was not checked against what was logged (Row.unclean's names).
UNSURE = frozenset(f.replace("_", " ") for f in (S.UNVERIFIED, S.NOT_CHECKED))


def _fidelity(lines: Sequence[Line], timed: Sequence[Column]) -> str:
    """Whose data came back exact in every ratio cell, lossy, unchecked or wrong."""
    exact, lossy, unsure, wrong = [], [], [], []
    for line in lines:
        marks = {line.cells[c.key].mark for c in timed}
        if WRONG in marks:
            wrong.append(line.framework)
        elif marks & UNSURE:
            unsure.append(line.framework)
        elif LOSSY in marks:
            lossy.append(line.framework)
        elif any(line.cells[c.key].ratio is not None for c in timed):
            exact.append(line.framework)
    if not (exact or lossy or unsure or wrong):  # no ratio anywhere: nothing to sum up
        return (
            "Whose data came back as logged is not summed up: no framework has a ratio to the "
            f"reference (fewer than {analysis.MIN_REPETITIONS} ok repetitions, or none of the "
            "reference's)."
        )
    if len(exact) <= 5:
        who = ", ".join(exact) or "no framework"
    elif lossy or unsure or wrong:
        who = f"{len(exact)} of the {len(exact) + len(lossy) + len(unsure) + len(wrong)} frameworks"
    else:
        who = f"all {len(exact)} frameworks"
    parts = [f"Every value came back as logged from {who}"]
    if lossy:
        parts.append(f"with a loss its adapter documents from {_listed(lossy)}")
    if unsure:
        parts.append(f"not verified from {_listed(unsure)}")
    if wrong:
        parts.append(f"wrong from {_listed(wrong)} (not ranked)")
    return "; ".join(parts) + "."


def _kinds(lines: Sequence[Line]) -> str:
    counted = [(ln.framework, ln.cells[KEPT]) for ln in lines if ln.cells[KEPT].key is not None]
    if not counted:
        return "No framework's fidelity check came back."
    best = max(c.key or 0 for _, c in counted)
    total = counted[0][1].text.split(" / ")[1]
    top = [name for name, c in counted if c.key == best]
    if str(best) == total:
        return f"Every value kind of the fidelity check ({total}) kept by {', '.join(top)}."
    return (f"No framework keeps every value kind of the fidelity check; the most, {best} of "
            f"{total}: {', '.join(top)}.")  # fmt: skip


def _crash(col: Column, chosen: Mapping[str, Measured]) -> str:
    yes: list[str] = []
    no: list[str] = []
    unflushed: list[str] = []  # nothing flushed before the kill: nothing to keep or lose
    for m in chosen.values():
        if m.row.summary is None:
            continue
        name = f"{m.framework} (floor)" if m.row.role == S.FLOOR else m.framework
        share = f"{name} {untimed.percent(m.medians[untimed.SURVIVED_SHARE])}%"
        said = untimed.flushed_survived(m)
        (yes if said == "yes" else unflushed if said.startswith("nothing") else no).append(share)
    text = f"A writer killed mid-run (`crash`, {col.config}): everything flushed survived for "
    text += _listed(yes) or "no framework"
    if no:
        text += f"; not for {_listed(no)}"
    if unflushed:
        text += f"; nothing flushed before the kill: {_listed(unflushed)}"
    return text + "."


def _latency(col: Column, chosen: Mapping[str, Measured]) -> str:
    clean = sorted(
        (m for m in chosen.values() if m.row.summary and not m.flag()
         and m.row.role != S.FLOOR and not math.isnan(m.medians[S.LOG_P99_NS])),
        key=lambda m: m.medians[S.LOG_P99_NS],
    )  # fmt: skip
    if not clean:
        return f"No log() latency is ranked (`loop_overhead`, {col.config})."
    listed = ", ".join(f"{m.framework} {_p99(m).text}" for m in clean[:3])
    return f"Lowest p99 log() latency (`loop_overhead`, {col.config}): {listed}."


def verdict(
    ov: Overview, rows: Mapping[str, list[Row]], chosen: Mapping[str, Mapping[str, Measured]]
) -> list[str]:
    """A few sentences from the data: who is fastest where, with ratios; whose data comes
    back as logged; who survives a crash; whose log() is quickest."""
    timed = ov.timed
    named = [c for c in timed if c.key in HEADLINE] or timed
    out = [_fastest(c, _here(rows[c.key], c.config)) for c in named]
    if timed:
        out.append(_fidelity(ov.lines, timed))
    by_key = {c.key: c for c in ov.columns}
    if KEPT in by_key:
        out.append(_kinds(ov.lines))
    if SURVIVED in by_key:
        out.append(_crash(by_key[SURVIVED], chosen[SURVIVED]))
    if P99 in by_key:
        out.append(_latency(by_key[P99], chosen[P99]))
    ranked = [ln for ln in ov.lines if not ln.unranked and ln.role != S.FLOOR]
    if len(timed) > 1 and ranked:
        listed = ", ".join(f"{ln.framework} {ln.mean_text()}" for ln in ranked[:4])
        out.append(f"Over every scenario (the geometric mean of the ratios): {listed}.")
    return out


# --- the colour of a ratio -------------------------------------------------------------------

# A ratio's colour on a log scale: green at the reference or faster, to red at this or slower.
WORST = 100.0


def colour(ratio: float) -> str:
    """A CSS background for a ratio to the reference, on a log scale."""
    share = min(max(math.log10(ratio) / math.log10(WORST), 0.0), 1.0) if ratio > 0 else 0.0
    return f"hsl({120 * (1 - share):.0f}, 60%, 85%)"
