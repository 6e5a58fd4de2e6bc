"""The report: one HTML page that opens offline, one Markdown page, and the images beside them.

Layout of the output directory:

    index.html   every table and figure; images by relative path, no network (a few lines of
                 inline script sort a table by the column header clicked)
    report.md    the same tables and figures, for a repository
    img/         each figure as PNG and SVG

Each section (one suite on one machine) opens with its verdict and overview matrix
(reports/overview.py), then its scenarios in a fixed order, then its provenance: machine,
OS, CPU, Python, framework versions, date, commit and the commands that reproduce the
results and the page.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from reports import (
    analysis,
    frameworks,
    overview,
    plots,
    reproduction,
    stats,
    untimed,
    untimed_plots,
    workload,
)
from reports.analysis import Failure, FidelityNote, KindsRow, Leftover, Row, Section
from reports.frameworks import FailureGroup, Profile
from reports.plots import Image
from reports.provenance import (
    Provenance,
    now,
    provenance,
    public_command,
    public_url,
    published,
)
from reports.untimed import Measured
from reports.workload import Cost
from results import schema as S
from results.cells import Results

IMG_DIR = "img"
HTML_NAME = "index.html"
MARKDOWN_NAME = "report.md"

HOW_TO_READ = [
    "Each cell is a fresh writer process in the framework's own environment. Its time is "
    "`tracking_ns`, what a program pays to track: the framework's import, init, start_run, "
    "log, end_run, finish (the data readable by a new process) and the process's exit. "
    "Interpreter start-up and the harness, input generation and a local server's start "
    "(its own column) are measured apart and never in it. `readback` is timed as `read_ns`: "
    "a new process opening the store and reading everything into one table. The fidelity "
    "check reads back in a new process too. Only cells whose outcome is ok are timed; every "
    "other outcome is counted beside them and listed with its reason under Failures.",
    "median, IQR (interquartile range), and an interval: a 95% bootstrap interval of the "
    f"median ({stats.RESAMPLES} resamples, seeded) with {stats.MIN_FOR_INTERVAL} or more ok "
    "repetitions, the range (min to max) with fewer.",
    "Ratios are medians divided by the fastest framework's, and by the reference tracker's "
    f"(`{S.REFERENCE_FRAMEWORK}`). A ratio written `~1.04x` is within the noise: the two "
    "intervals overlap, so no difference is claimed. Only frameworks whose data came back "
    f"exact, or with the loss their adapter documents, and with {analysis.MIN_REPETITIONS} or "
    "more ok repetitions are ranked; floors (raw sqlite3, numpy.save) are the limit, never "
    "the fastest.",
    "A cell was measured under load when other processes took more than "
    f"{analysis.LOADED_SHARE:.0%} of a core while its writer ran (`other_cpu_ns`); the "
    '"other outcomes" column counts them.',
    "Durability is what each completed flush or commit during a run survives, as the "
    "adapter declares it: `power` (fsync reached the disk), `process` (the OS has it: a killed "
    "process loses nothing, a power cut may), `none` (memory only until finish()).",
    "Each section is one suite on one machine: results from different machines or suites "
    "are never pooled.",
]


@dataclass
class SectionReport:
    """Everything shown for one section."""

    section: Section
    prov: Provenance
    rows: dict[str, list[Row]]  # the timed scenarios
    untimed: dict[str, list[Measured]]  # loop_overhead, long_run, crash: their own tables
    kinds: dict[str, tuple[list[str], list[KindsRow]]]  # the others: their value-kind matrix
    images: list[Image]
    failures: list[Failure]
    notes: list[FidelityNote]
    leftovers: list[Leftover]
    live: list[Measured] = field(default_factory=list)  # readback's live reader, if recorded
    costs: list[Cost] = field(default_factory=list)  # a spec suite's "your workload" summary
    profiles: list[Profile] = field(default_factory=list)  # one per framework
    top: overview.Overview | None = None  # the verdict and the overview matrix
    # MLtraq's published benchmark beside this section's cells of the same configurations
    reproduced: list[reproduction.Table] = field(default_factory=list)

    def scenarios(self) -> list[str]:
        """The scenarios in the order their sections are shown: the fixed order of
        overview.SCENARIOS (startup first)."""
        return overview.ordered([*self.rows, *self.untimed, *self.kinds])


@dataclass
class Report:
    """The files a report wrote."""

    html: Path
    markdown: Path
    images: list[Image] = field(default_factory=list)


def build(
    results: Results,
    sections: Sequence[Section],
    out: Path,
    report_command: str,
    seed: int = 0,
) -> Report:
    """Write index.html, report.md and img/ for the given sections into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    generated = now()
    # a page meant to be published names nothing of this machine's file system
    results = replace(results, url=public_url(results.url))
    report_command = public_command(report_command)
    parts = []
    mltraq = reproduction.load()
    for section in map(published, sections):
        prov = provenance(section, report_command, generated)
        rows = {sc: analysis.rows(section, sc, seed=seed) for sc in section.timed_scenarios()}
        present = section.scenarios()
        own = {
            sc: untimed.measured(section, sc, seed=seed)
            for sc in untimed.SCENARIOS
            if sc in present
        }
        kinds = {
            sc: analysis.value_kinds(section, sc)
            for sc in present
            if sc in S.NOT_TIMED and sc not in own
        }
        images = plots.all_images(section, rows, out / IMG_DIR, prov)
        images += untimed_plots.images(section, own, out / IMG_DIR, prov)
        parts.append(
            SectionReport(
                section,
                prov,
                rows,
                own,
                kinds,
                images,
                analysis.failures(section),
                analysis.fidelity_notes(section),
                analysis.leftovers(section),
                live=untimed.live_reads(section, seed=seed) if untimed.READBACK in rows else [],
                costs=workload.costs(section, seed) if workload.is_spec(section) else [],
                profiles=frameworks.profiles(section),
                top=overview.build(section, rows, own, kinds),
                reproduced=reproduction.tables(section, mltraq, seed),
            )
        )
    html_path = out / HTML_NAME
    md_path = out / MARKDOWN_NAME
    html_path.write_text(to_html(results, parts, report_command, generated, out), "utf-8")
    md_path.write_text(to_markdown(results, parts, report_command, generated, out), "utf-8")
    return Report(html_path, md_path, [im for p in parts for im in p.images])


# --- cells of the tables, shared by both formats -----------------------------------------------


def _s(ns: float) -> str:
    return stats.format_number(ns / 1e9)


# One sentence per headline field: what a scenario's seconds hold.
HEADLINE_TEXT = {
    S.TRACKING_NS: "Seconds are tracking_ns: import, init, start_run, log, end_run, finish and "
    "the writer process's exit.",
    S.READ_NS: "Seconds are read_ns: a new process opening the store and reading everything "
    "into one table (its import apart).",
    S.WALL_NS: "Seconds are wall_ns (results schema 1): the worker process from its start to "
    "the end of finish(), input generation and a local server's start included.",
}


def headline_text(section: Section, scenario: str) -> str:
    """What the seconds of a scenario's table are, in one sentence (or one per schema); for
    a reading scenario, whose data is read by something other than its framework's reader."""
    heads = analysis.headlines(section, scenario)
    text = " ".join(HEADLINE_TEXT.get(h, f"Seconds are {h}.") for h in heads)
    others = analysis.readers(section) if S.READ_NS in heads else {}
    if others:
        listed = "; ".join(f"{name}: {reader}" for name, reader in others.items())
        text += f" Not read by the framework's own reader: {listed}."
    past = analysis.historical(section)
    if past:
        listed = "; ".join(f"{name}: {why}" for name, why in past.items())
        text += f" Historical baselines, marked so in the table: {listed}."
    return text


TABLE_HEAD = [
    "configuration",
    "framework",
    "version",
    "ok / cells",
    "median s",
    "IQR s",
    "interval s",
    "vs fastest",
    f"vs {S.REFERENCE_FRAMEWORK}",
    "server start s",
    "durability",
    "fidelity",
    "other outcomes",
]


def _framework_cell(row: Row) -> str:
    """The framework's name, with its role unless a tracker's, and a historical mark."""
    marks = [] if row.role == S.TRACKER else [row.role]
    if row.historical:
        marks.append("historical")
    return f"{row.framework} ({', '.join(marks)})" if marks else row.framework


def table_cells(row: Row) -> list[str]:
    """One row of a scenario table, as text."""
    s = row.summary
    if s is None:
        numbers = ["-", "-", "-"]
    else:
        kind = "95% CI" if s.kind == stats.CI95 else "range"
        numbers = [_s(s.median), _s(s.iqr), f"{_s(s.low)} to {_s(s.high)} ({kind})"]
    return [
        row.config,
        _framework_cell(row),
        row.version or "unknown",
        f"{row.n_ok} / {row.n}",
        *numbers,
        analysis.ratio_text(row, "fastest"),
        analysis.ratio_text(row, "reference"),
        "-" if math.isnan(row.service_start_ns) else _s(row.service_start_ns),
        row.durability or "-",
        row.fidelity(),
        ", ".join(_other_outcomes(row)) or "-",
    ]


def _other_outcomes(row: Row) -> list[str]:
    """The outcomes other than ok with their counts, and how many ok cells ran under load."""
    status = row.status()
    other = [] if status == S.OK else [status]
    if row.loaded:
        other.append(f"under load {row.loaded}/{row.n_ok}")
    return other


WORKLOAD_TITLE = "Your workload"
WORKLOAD_HEAD = [
    "configuration",
    "rank",
    "framework",
    "s per run",
    "per day",
    "disk per run",
    "peak memory",
    "fidelity",
    "ok / cells",
]


def workload_text(section: Section) -> str:
    """What the workload table holds, in a sentence or two."""
    per_day = workload.runs_per_day(section)
    day = (
        f"per day at the spec's {per_day:g} runs a day"
        if per_day
        else "per day: none (the spec sets no runs_per_day)"
    )
    return (
        "What the spec's workload costs on this machine, per run: the tracker's seconds from "
        f"import to finish in the writer process (median over ok repetitions), {day}, the work "
        "directory's size after the run, and the peak memory of the writer's process tree. "
        "Ranked by seconds per run among frameworks whose data came back exact or with the "
        f"loss their adapter documents, with at least {analysis.MIN_REPETITIONS} ok "
        "repetitions; the others say why they are not ranked."
    )


def _duration(seconds: float) -> str:
    """`12.3 s`, `4.1 min` or `2.35 h`."""
    if seconds >= 3600:
        return f"{stats.format_number(seconds / 3600)} h"
    if seconds >= 60:
        return f"{stats.format_number(seconds / 60)} min"
    return f"{stats.format_number(seconds)} s"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{stats.format_number(value / 1e6)} MB"


def workload_cells(cost: Cost, per_day: float | None) -> list[str]:
    """One row of the workload table, as text."""
    row, seconds = cost.row, cost.seconds_per_run
    if cost.rank is not None:
        rank = str(cost.rank)
    elif row.role == S.FLOOR:
        rank = "floor (the limit)"
    else:
        rank = f"not ranked ({row.unranked or 'no ok cell'})"
    return [
        row.config,
        rank,
        _framework_cell(row),
        "-" if seconds is None else _duration(seconds),
        "-" if seconds is None or not per_day else _duration(seconds * per_day),
        _mb(cost.disk_per_run),
        _mb(cost.peak_rss),
        row.fidelity(),
        f"{row.n_ok} / {row.n}" + "".join(f" ({x})" for x in _other_outcomes(row)),
    ]


VERDICTS = ("kept", "changed", "dropped", "refused")
KINDS_TEXT = (
    "Not timed: each value kind logged by a call of its own and read back by the framework's "
    "reader in a new process. kept: bit for bit; changed: something else came back; dropped: "
    "nothing came back; refused: the framework raised. Concurrent start: whether 4 processes "
    "may create one new experiment at the same moment."
)


def kinds_head(kinds: Sequence[str]) -> list[str]:
    """The head of a value-kind matrix: framework, kinds kept, each kind, concurrent start."""
    return ["framework", "kept", *kinds, "concurrent start"]


def kinds_cells(row: KindsRow, kinds: Sequence[str]) -> list[tuple[str, str]]:
    """One framework's row of the matrix: (short text, the whole verdict) per column."""
    if row.failed:
        return [(row.framework, ""), (row.failed.split(":")[0], row.failed),
                *(("-", "") for _ in kinds), ("-", "")]  # fmt: skip
    cells = [(row.framework, ""), (f"{row.count('kept')} / {len(row.kinds)}", "")]
    for kind in kinds:
        verdict = row.kinds.get(kind, "not logged")
        short = next((v for v in VERDICTS if verdict.startswith(v)), verdict)
        cells.append((short, verdict))
    start = row.concurrent_start
    cells.append(("safe" if start == "safe" else start.split(":")[0][:24], start))
    return cells


def kinds_details(rows: Sequence[KindsRow]) -> list[str]:
    """Every verdict other than kept, and every failed cell, one line each."""
    lines = []
    for row in rows:
        if row.failed:
            lines.append(f"{row.framework}: {row.failed}")
        lines.extend(f"{row.framework} {k}: {v}" for k, v in row.kinds.items() if v != "kept")
        if row.concurrent_start not in ("", "safe"):
            lines.append(f"{row.framework} concurrent start: {row.concurrent_start}")
    return lines


# The heading of each of readback's live reader tables (before its configuration).
LIVE_TITLE = "live reader"

FAILURES_TITLE = "Failures, skips and their reasons"
FAILURES_TEXT = (
    "One row per framework, outcome and reason, across configurations and repetitions: how "
    "many cells, where, and the reason's last line (a traceback's exception)."
)
FAILURES_NONE = "None: every cell's outcome is ok and no data came back wrong."
FAILURE_HEAD = ["framework", "outcome", "cells", "where", "reason (last line)"]
# More places than this in a failure's row are counted, not listed.
MAX_WHERE = 6


def failure_cells(g: FailureGroup) -> list[str]:
    """One row of the failures table, as text (the reason by its last line)."""
    where = ", ".join(g.where[:MAX_WHERE])
    if len(g.where) > MAX_WHERE:
        where += f" and {len(g.where) - MAX_WHERE} more"
    return [g.framework, g.outcome, str(g.cells), where, g.last_line]


NOTE_HEAD = ["framework", "fidelity", "reason", "scenarios", "cells"]


def note_cells(n: FidelityNote) -> list[str]:
    """One row of the fidelity notes, as text."""
    return [
        n.framework,
        n.fidelity,
        n.reason or "(no reason given)",
        ", ".join(n.scenarios),
        str(n.cells),
    ]


LEFTOVER_HEAD = [
    "framework",
    "cells",
    "most processes left running",
    "most files outside",
    "examples",
]


def leftover_cells(x: Leftover) -> list[str]:
    """One row of the leftovers table, as text."""
    return [
        x.framework,
        f"{x.cells} / {x.of}",
        str(x.max_processes),
        str(x.max_files),
        ", ".join(x.paths) or "-",
    ]


LEFTOVERS_NONE = "None: no cell left a process running or a file outside its work directory."


# --- the top of a section: the verdict and the overview matrix -------------------------------

OVERVIEW_LEGEND = (
    "Each cell is a scenario's median time divided by the reference tracker's "
    f"(`{S.REFERENCE_FRAMEWORK}`) in one configuration (listed below), coloured on a log "
    f"scale from 1x (green) to {overview.WORST:g}x or more (red); `~` marks a ratio within "
    "the noise. Marked: lossy (the loss its adapter documents), wrong data, failed, "
    f"unsupported, skipped, too few (under {analysis.MIN_REPETITIONS} ok repetitions), each "
    "with its reason. Rows are ordered by the geometric mean of their ratios; a framework "
    "whose data came back wrong, or without a ratio, is not ranked; floors are the limit, "
    "never ranked. Then durability, the fidelity check's value kinds kept, the share of "
    "values that survived a crash and the p99 latency of log(), where those scenarios ran."
)
NOT_RANKED = "not ranked"
FLOORS = "floors: the limit, never ranked"


def overview_head(top: overview.Overview) -> list[str]:
    """The matrix's head: framework, geometric mean, then each column by its identifier."""
    return ["framework", "geo. mean", *(c.key for c in top.columns)]


def overview_groups(top: overview.Overview) -> list[tuple[str, list[overview.Line]]]:
    """The matrix's rows in groups: the ranked (no label), the not ranked, the floors."""
    floors = [ln for ln in top.lines if ln.role == S.FLOOR]
    rest = [ln for ln in top.lines if ln.role != S.FLOOR]
    groups = [("", [ln for ln in rest if not ln.unranked]),
              (NOT_RANKED, [ln for ln in rest if ln.unranked]), (FLOORS, floors)]  # fmt: skip
    return [(label, lines) for label, lines in groups if lines]


def overview_cells(top: overview.Overview, line: overview.Line) -> list[overview.Cell]:
    """One framework's row of the matrix: its name, its geometric mean, then each column."""
    if line.unranked and line.role != S.FLOOR:
        mean = overview.Cell(NOT_RANKED, reason=line.unranked)
    else:
        over = f"over {line.ratios} scenario{'s' if line.ratios != 1 else ''}"
        mean = overview.Cell(line.mean_text(), key=line.mean, reason=over, ratio=line.mean)
    return [overview.Cell(line.name), mean, *(line.cells[c.key] for c in top.columns)]


def cell_text(cell: overview.Cell) -> str:
    """A matrix cell's text with its mark, unless the mark is the text."""
    return f"{cell.text} {cell.mark}" if cell.mark and cell.mark != cell.text else cell.text


def configurations(top: overview.Overview) -> str:
    """Which configuration each column shows, and by which rule."""
    listed = "; ".join(
        (f"`{c.key}`" if c.timed else f"{c.key} (`{c.scenario}`)") + f" {c.config} ({c.rule})"
        for c in top.columns
        if c.config
    )
    return f"Configurations: {listed}." if listed else ""


def environment(p: Provenance, results: Results) -> list[tuple[str, str]]:
    """The provenance of a section as (label, value) pairs: the machine, then the suite."""
    return [
        ("machine", p.machine),
        ("OS", p.os),
        ("CPU", p.cpu),
        ("memory", p.memory),
        ("file system of the cells' work directories", p.filesystem),
        ("Python", p.python),
        ("suite", p.suite_id),
        ("grid, seed", f"{p.grid}, seed {p.seed}"),
        ("suite started", p.date),
        ("commit", p.commit),
        ("page made", p.generated),
        ("trackbench", f"{p.trackbench} (results schema {S.SCHEMA_VERSION})"),
        ("database", results.url),
    ]


REPRODUCE_TITLE = "Reproduce it"
# What a framework's section says where the suite kept no declarations of its adapter.
NOT_DECLARED = "not recorded (the suite kept no declarations of its adapter)"
CONFIGURED_TITLE = "Framework versions and configuration"
CONFIGURED_HEAD = [
    "framework",
    "version",
    "environment",
    "configured (its adapter's environment variables)",
]


def configured_cells(part: SectionReport) -> list[list[str]]:
    """Per framework: its version and the environment variables its adapter set."""
    return [
        [p.name, p.version, environment_text(p), "; ".join(f"{k}={v}" for k, v in p.env.items())
         or ("nothing set" if p.declared else NOT_DECLARED)]
        for p in part.profiles
    ]  # fmt: skip


def environment_text(p: Profile) -> str:
    """A framework's environment: its size and whether its requirements were locked."""
    size = "size not recorded" if p.env_bytes is None else _mb(p.env_bytes)
    return f"{size}, {p.env_lock}" if p.env_lock else size


FRAMEWORKS_TITLE = "Frameworks"
FRAMEWORKS_TEXT = (
    "One section per framework, from what its adapter declared when the suite ran and what "
    "its cells recorded: its version and environment, where its time goes, how it stores "
    "arrays, what a completed flush survives, what it documents losing, what it leaves "
    "behind, and why any of its cells is unsupported or failed."
)
TIME_TEXT = (
    "Where its time goes: the median of each phase over the ok cells, and its share, in the "
    "largest configuration of each writing scenario it ran."
)


def profile_facts(p: Profile) -> list[tuple[str, str]]:
    """What a framework's section says of it, as (label, value) pairs."""
    role = {S.FLOOR: "floor (the limit, never ranked)", S.REFERENCE: "the reference tracker"}
    unknown = "not declared" if p.declared else NOT_DECLARED
    durability = p.durability or unknown
    if p.flush_note:
        durability += f"; its flush() misses: {p.flush_note}"
    facts = [
        ("role", role.get(p.role, p.role)),
        ("version", p.version),
        ("environment", environment_text(p)),
        ("arrays stored as", p.arrays or unknown),
        ("durability", durability),
        ("documented losses", "; ".join(p.losses) or ("none" if p.declared else unknown)),
    ]
    if p.time:
        facts.insert(3, ("time mostly spent on", mostly(p)))
    x = p.leftover
    if x is None:
        measured = "no cell left a process running or a file outside its work directory"
    else:
        measured = (
            f"{x.cells} / {x.of} cells left something (at most {x.max_processes} processes, "
            f"{x.max_files} files), e.g. {', '.join(x.paths) or '-'}"
        )
    said = p.leaves_behind or ("nothing" if p.declared else "not recorded")
    facts.append(("leaves behind", f"declared: {said}; seen: {measured}"))
    if p.lacks:
        facts.append(("lacks", "; ".join(f"{cap}: {why}" for cap, why in p.lacks.items())))
    if p.unsupported:
        unsupported = (f"{sc} ({n} cells): {why}" for sc, n, why in p.unsupported)
        facts.append(("unsupported cells", "; ".join(unsupported)))
    if p.broken:
        facts.append(("broken here", p.broken))
    if p.other_outcomes:
        counted = ", ".join(f"{o} {n}" for o, n in p.other_outcomes.items())
        facts.append(("other outcomes", f"{counted} (reasons under {FAILURES_TITLE})"))
    if p.historical:
        facts.append(("historical baseline", p.historical))
    if p.reader:
        facts.append(("read back by", p.reader))
    return facts


def time_table(p: Profile) -> tuple[list[str], list[list[str]]]:
    """A framework's phases per writing scenario: (head, body); body empty when none ran."""
    labels = list(dict.fromkeys(k for t in p.time for k in t.phases))
    body = []
    for t in p.time:
        total = sum(t.phases.values())
        shares = [
            f"{_ms(t.phases[k])} ({t.phases[k] / total:.0%})" if k in t.phases and total else "-"
            for k in labels
        ]
        body.append([t.scenario, t.config, stats.format_number(t.seconds), *shares])
    return ["scenario", "configuration", "median s", *labels], body


def _ms(ns: float) -> str:
    return "<0.01 ms" if ns < 1e4 else f"{stats.format_number(ns / 1e6)} ms"


def mostly(p: Profile) -> str:
    """The phase most of a framework's time goes to, per writing scenario."""
    parts = []
    for t in p.time:
        total = sum(t.phases.values())
        if total:
            top = max(t.phases, key=lambda k: t.phases[k])
            parts.append(f"{top} ({t.phases[top] / total:.0%} in {t.scenario})")
    return "; ".join(parts)


def framework_anchor(section: Section, name: str) -> str:
    """The HTML id of a framework's section (for links to it from elsewhere in the page)."""
    return f"{section.slug}-framework-{re.sub(r'[^A-Za-z0-9_-]', '_', name)}"


def _other_suites(results: Results, parts: Sequence[SectionReport]) -> list[str]:
    shown = {p.section.suite_id for p in parts}
    lines = []
    for sid in results.suite_ids():
        if sid in shown:
            continue
        runs = results.runs_of(sid)
        where = ", ".join(sorted({r.machine for r in runs})) or "unknown machine"
        when = runs[0].date if runs else "unknown date"
        lines.append(f"{sid} on {where}, {when}")
    return lines


# --- HTML ------------------------------------------------------------------------------------

CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 80em; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.failed td { background: #fff3f3; }
.scroll { overflow-x: auto; } .scroll td { white-space: nowrap; }
td.kept { background: #e8f5e9; } td.changed { background: #fff3e0; }
td.dropped, td.refused { background: #ffebee; }
details { margin: 0 0 1.5em; font-size: 0.9em; }
td details { margin: 0; } td details pre { white-space: pre-wrap; max-width: 60em; }
code { background: #f5f5f5; padding: 0 0.2em; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85em; color: #555; }
.noise { color: #777; }
th { cursor: pointer; } th[aria-sort=ascending]::after { content: " \\25B2"; }
th[aria-sort=descending]::after { content: " \\25BC"; }
tr.group th { background: #e8eef7; text-align: left; cursor: default; font-weight: normal; }
ul.verdict { margin: 0.3em 0 0.6em; padding-left: 1.2em; } ul.verdict li { margin: 0.15em 0; }
table.overview { font-size: 0.8em; margin-bottom: 0.4em; }
table.overview td { padding: 0.1em 0.4em; white-space: nowrap; }
table.overview th { padding: 0.1em 0.4em; vertical-align: bottom; }
table.overview small { color: #a33; } table.overview td.off { background: #eee; color: #555; }
p.legend { font-size: 0.8em; color: #555; margin: 0 0 1.5em; }
h3 .title, h2 .title { font-weight: normal; color: #555; }
"""

# Sorts a table by the column whose header is clicked: numerically by a cell's data-sort,
# else by its text, the cells without a number last; each <tbody> (a configuration, a group
# of the matrix) sorts on its own, its header row staying first.
SORT_SCRIPT = """
document.querySelectorAll("table").forEach(function (table) {
  var heads = table.querySelectorAll("thead th");
  heads.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      table.querySelectorAll("tbody").forEach(function (body) {
        var rows = Array.from(body.rows).filter(function (r) {
          return !r.classList.contains("group"); });
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          if (typeof x !== typeof y) return typeof x === "number" ? -1 : 1;
          return dir * (typeof x === "number" ? x - y : x.localeCompare(y));
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
});
function key(cell) {
  if (!cell) return "";
  var s = cell.getAttribute("data-sort");
  return s === null ? cell.textContent.trim() : Number(s);
}
"""

NUMERIC = {
    "rank",
    "ok / cells",
    "median s",
    "IQR s",
    "vs fastest",
    f"vs {S.REFERENCE_FRAMEWORK}",
    "server start s",
    "s per run",
    "per day",
    "disk per run",
    "peak memory",
    *untimed.NUMERIC,
    *reproduction.HEAD[2:],
}


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _e_code(text: str) -> str:
    """Escaped text with `code spans` as <code> (the How-to-read lines are shared with MD)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", _e(text))


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")
_UNITS = {"min": 60.0, "h": 3600.0}  # durations (_duration) sort in seconds


def sort_key(text: str) -> float | None:
    """The number a cell of a numeric column sorts by (`~1.31x`, `3 / 3`, `4.1 min`); None
    when it holds none (`-`, `not ranked (...)`)."""
    bare = text.lstrip("~≈<>+ ")
    found = _NUMBER.match(bare)
    if not found:
        return None
    unit = bare[found.end() :].split()[:1]
    return float(found.group().replace(",", "")) * (_UNITS.get(unit[0], 1.0) if unit else 1.0)


def _sort_attr(key: float | None) -> str:
    return "" if key is None else f' data-sort="{key:g}"'


def _html_table(
    head: Sequence[str],
    body: Sequence[Sequence[str]],
    failed: Sequence[bool] = (),
    titles: Sequence[Sequence[str]] = (),
    grouped: bool = False,
) -> str:
    """A table sorted by a click on a column header (SORT_SCRIPT); a row marked `failed` is
    tinted; a cell with a title (the whole of a text cut short) shows it on hover. `grouped`:
    the first column (the configuration) is shown once, as a header row over its rows, and
    a sort keeps within it."""
    shown = head[1:] if grouped else head
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in shown) + "</tr></thead>"]
    group: str | None = None
    for i, cells in enumerate(body):
        if i == 0 or (grouped and cells[0] != group):
            out.append("</tbody><tbody>" if i else "<tbody>")
            group = cells[0]
            if grouped:
                label = f"{head[0]}: {group}"
                out.append(f'<tr class="group"><th colspan="{len(shown)}">{_e(label)}</th></tr>')
        cls = ' class="failed"' if i < len(failed) and failed[i] else ""
        whole = titles[i] if i < len(titles) else [""] * len(cells)
        tds = []
        for h, c, title in list(zip(head, cells, whole, strict=True))[1 if grouped else 0 :]:
            attr = f' class="num"{_sort_attr(sort_key(c))}' if h in NUMERIC else ""
            if title:
                attr += f' title="{_e(title)}"'
            text = _e(c)
            if c.startswith("~"):
                text = f'<span class="noise" title="within the noise">{text}</span>'
            tds.append(f"<td{attr}>{text}</td>")
        out.append(f"<tr{cls}>" + "".join(tds) + "</tr>")
    out.append("</tbody></table>" if body else "</table>")
    return "\n".join(out)


def _html_kinds(kinds: Sequence[str], rows: Sequence[KindsRow]) -> str:
    """The value-kind matrix, each verdict coloured, its whole text on hover."""
    out = ['<div class="scroll"><table>']
    out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in kinds_head(kinds)))
    out.append("</tr></thead><tbody>")
    for row in rows:
        tds = []
        for i, (short, whole) in enumerate(kinds_cells(row, kinds)):
            cls = f' class="{short}"' if short in VERDICTS else ""
            title = f' title="{_e(whole)}"' if whole else ""
            key = _sort_attr(sort_key(short)) if i == 1 else ""  # kept: `9 / 12`
            tds.append(f"<td{cls}{title}{key}>{_e(short)}</td>")
        out.append(('<tr class="failed">' if row.failed else "<tr>") + "".join(tds) + "</tr>")
    out.append("</tbody></table></div>")
    lines = kinds_details(rows)
    if lines:
        out.append("<details><summary>What was not kept, and why</summary><ul>")
        out.extend(f"<li>{_e(line)}</li>" for line in lines)
        out.append("</ul></details>")
    return "\n".join(out)


def _html_untimed(scenario: str, rows: list[Measured]) -> str:
    """How loop_overhead, long_run or crash is shown (what it measures opens its section),
    then one table per configuration."""
    out = [f"<p>{_e(untimed.HOW[scenario])}</p>"]
    for config, here in untimed.by_config(rows).items():
        head, body, marked = untimed.table(scenario, here)
        out += [f"<h4>{_e(config)}</h4>", _html_table(head, body, marked)]
    return "\n".join(out)


def _html_live(rows: list[Measured]) -> str:
    """readback's live reader: what it measures, then one table per configuration."""
    out = [f"<p>{_e_code(untimed.LIVE_INTRO)}</p>"]
    for config, here in untimed.by_config(rows).items():
        head, body, whole, marked = untimed.live_table(here)
        out += [f"<h4>{_e(LIVE_TITLE)}, {_e(config)}</h4>", _html_table(head, body, marked, whole)]
    return "\n".join(out)


def _html_overview(top: overview.Overview) -> str:
    """The verdict, then the overview matrix: colours on a log scale, reasons on hover."""
    out = ['<ul class="verdict">', *(f"<li>{_e_code(s)}</li>" for s in top.verdict), "</ul>"]
    heads = ["framework and its role", "the geometric mean of its ratios to the reference",
             *(c.describe() for c in top.columns)]  # fmt: skip
    out.append('<div class="scroll"><table class="overview"><thead><tr>')
    for head, text in zip(overview_head(top), heads, strict=True):
        # a long identifier may break after its underscores: the columns stay narrow
        out.append(f'<th title="{_e(text)}">{_e(head).replace("_", "_<wbr>")}</th>')
    out.append("</tr></thead>")
    width = len(heads)
    for label, lines in overview_groups(top):
        out.append("<tbody>")
        if label:
            out.append(f'<tr class="group"><th colspan="{width}">{_e(label)}</th></tr>')
        for line in lines:
            tds = []
            for cell in overview_cells(top, line):
                attr = _sort_attr(cell.key)
                if cell.ratio is not None:
                    attr += f' style="background: {overview.colour(cell.ratio)}"'
                elif cell.mark:
                    attr += ' class="off"'
                if cell.reason:
                    attr += f' title="{_e((cell.mark + ": " if cell.mark else "") + cell.reason)}"'
                text = _e(cell.text)
                if cell.mark and cell.mark != cell.text:
                    text += f" <small>{_e(cell.mark)}</small>"
                tds.append(f"<td{attr}>{text}</td>")
            out.append("<tr>" + "".join(tds) + "</tr>")
        out.append("</tbody>")
    out.append("</table></div>")
    out.append(f'<p class="legend">{_e_code(OVERVIEW_LEGEND)} {_e_code(configurations(top))}</p>')
    return "\n".join(out)


def _heading(scenario: str) -> str:
    """A scenario's heading: its identifier, its readable title beside it."""
    return f'{_e(scenario)} <span class="title">{_e(overview.title(scenario))}</span>'


def _figure(image: Image, out: Path) -> str:
    png = image.png.relative_to(out).as_posix()
    svg = image.svg.relative_to(out).as_posix()
    return (
        f'<figure><img src="{_e(png)}" alt="{_e(image.title)}">'
        f'<figcaption>{_e(image.title)} (<a href="{_e(svg)}">SVG</a>, '
        f'<a href="{_e(png)}">PNG</a>)</figcaption></figure>'
    )


def _html_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    return _html_table(["", "value"], [list(kv) for kv in pairs])


def _html_frameworks(part: SectionReport) -> str:
    """One section per framework: its facts, then where its time goes."""
    sec = part.section
    out = [f'<h3 id="{_e(sec.slug)}-frameworks">{FRAMEWORKS_TITLE}</h3>',
           f"<p>{_e(FRAMEWORKS_TEXT)}</p>"]  # fmt: skip
    for p in part.profiles:
        out += [f'<h4 id="{_e(framework_anchor(sec, p.name))}">{_e(p.name)}</h4>',
                _html_pairs(profile_facts(p))]  # fmt: skip
        head, body = time_table(p)
        if body:
            out += [
                f"<p>{_e(TIME_TEXT)}</p>",
                f'<div class="scroll">{_html_table(head, body)}</div>',
            ]
    return "\n".join(out)


def _html_failures(part: SectionReport) -> str:
    """The failures collapsed, each reason's full text a click away."""
    out = [f"<h3>{FAILURES_TITLE}</h3>"]
    groups = frameworks.failure_groups(part.failures)
    if not groups:
        return "\n".join([*out, f"<p>{_e(FAILURES_NONE)}</p>"])
    out += [f"<p>{_e(FAILURES_TEXT)}</p>", "<table>",
            "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in FAILURE_HEAD) + "</tr>"]  # fmt: skip
    for g in groups:
        *cells, last = failure_cells(g)
        tds = [f'<td class="num">{_e(c)}</td>' if h == "cells" else f"<td>{_e(c)}</td>"
               for h, c in zip(FAILURE_HEAD[:-1], cells, strict=True)]  # fmt: skip
        reason = (
            f"<details><summary>{_e(last)}</summary><pre>{_e(g.reason)}</pre></details>"
            if g.cut
            else _e(last)
        )
        out.append('<tr class="failed">' + "".join(tds) + f"<td>{reason}</td></tr>")
    out.append("</table>")
    return "\n".join(out)


def _html_reproduce(part: SectionReport, results: Results) -> str:
    """The commands that make the results and this page, the machine and the frameworks."""
    prov = part.prov
    return "\n".join(
        [
            f'<h3 id="{_e(part.section.slug)}-reproduce">{REPRODUCE_TITLE}</h3>',
            "<p>The results were made by</p>",
            f"<pre><code>{_e(prov.results_command)}</code></pre>",
            "<p>and this page by</p>",
            f"<pre><code>{_e(prov.report_command)}</code></pre>",
            "<p>on this machine:</p>",
            _html_pairs(environment(prov, results)),
            f"<h4>{CONFIGURED_TITLE}</h4>",
            _html_table(CONFIGURED_HEAD, configured_cells(part)),
        ]
    )


def _html_scenario(part: SectionReport, scenario: str, out: Path) -> list[str]:
    """One scenario's section: its heading and anchor, what it measures, its tables and
    figures."""
    sec = part.section
    h = [f'<section id="{_e(sec.slug)}-{_e(scenario)}">', f"<h3>{_heading(scenario)}</h3>"]
    if overview.measures(scenario):
        h.append(f"<p>{_e(overview.measures(scenario))}</p>")
    if scenario in part.untimed:
        h.append(_html_untimed(scenario, part.untimed[scenario]))
        h.extend(_figure(im, out) for im in part.images if im.scenario == scenario)
    elif scenario in part.kinds:
        h.append(f"<p>{_e(KINDS_TEXT)}</p>")
        h.append(_html_kinds(*part.kinds[scenario]))
    else:
        rows = part.rows[scenario]
        h.append(f"<p>{_e(headline_text(sec, scenario))}</p>")
        failed = [r.n_ok < r.n for r in rows]
        h.append(_html_table(TABLE_HEAD, [table_cells(r) for r in rows], failed, grouped=True))
        h.extend(_figure(im, out) for im in part.images if im.scenario == scenario)
        if scenario == untimed.READBACK and part.live:
            h.append(_html_live(part.live))
    return [*h, "</section>"]


REPRODUCED_TITLE = "MLtraq's published benchmark, reproduced"


def _html_reproduced(part: SectionReport) -> list[str]:
    """One table per MLtraq experiment this section measured, its sentences below it."""
    if not part.reproduced:
        return []
    h = [f"<h3>{REPRODUCED_TITLE}</h3>",
         f"<p>{_e(reproduction.source_text(part.reproduced[0].published))}</p>"]  # fmt: skip
    for table in part.reproduced:
        h.append(f"<p>{_e(reproduction.caption(table))}</p>")
        h.append(_html_table(reproduction.HEAD, reproduction.cells(table), grouped=True))
        h.append("<ul>" + "".join(f"<li>{_e(s)}</li>" for s in table.sentences) + "</ul>")
    return h


def to_html(
    results: Results, parts: Sequence[SectionReport], report_command: str, generated: str, out: Path
) -> str:
    """The report as one self-contained HTML page (images by relative path): each section's
    verdict and overview matrix first, its evidence below."""
    h = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>trackbench report, {_e(generated)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>trackbench report</h1>",
    ]
    if len(parts) > 1:
        h.append("<p>Sections (never pooled):</p><ul>")
        h.extend(
            f'<li><a href="#{_e(p.section.slug)}">{_e(p.section.title)}</a></li>' for p in parts
        )
        h.append("</ul>")
    for part in parts:
        sec = part.section
        h.append(f'<h2 id="{_e(sec.slug)}">{_e(sec.title)}</h2>')
        if part.top is not None:
            h.append(_html_overview(part.top))
        if part.costs:
            per_day = workload.runs_per_day(sec)
            h.append(f"<h3>{WORKLOAD_TITLE}</h3><p>{_e(workload_text(sec))}</p>")
            body = [workload_cells(c, per_day) for c in part.costs]
            h.append(_html_table(WORKLOAD_HEAD, body, grouped=True))
        for scenario in part.scenarios():
            h.extend(_html_scenario(part, scenario, out))
        h.extend(_html_reproduced(part))
        h.append("<h3>Fidelity and outcomes</h3>")
        h.extend(_figure(im, out) for im in part.images if im.kind == "fidelity")
        if part.notes:
            h.append("<p>Results that ran but whose data is not known to be exact:</p>")
            h.append(_html_table(NOTE_HEAD, [note_cells(n) for n in part.notes]))
        h.append(_html_frameworks(part))
        h.append(_html_failures(part))
        h.append("<h3>Left behind</h3>")
        if part.leftovers:
            h.append(_html_table(LEFTOVER_HEAD, [leftover_cells(x) for x in part.leftovers]))
        else:
            h.append(f"<p>{_e(LEFTOVERS_NONE)}</p>")
        h.append(_html_reproduce(part, results))
    h += [
        "<h2>How to read it</h2>",
        f"<p>Made {_e(generated)} from <code>{_e(results.url)}</code> by "
        f"<code>{_e(report_command)}</code>.</p><ul>",
        *(f"<li>{_e_code(line)}</li>" for line in HOW_TO_READ),
        "</ul>",
    ]
    others = _other_suites(results, parts)
    if others:
        h.append("<h2>Other suites in this database</h2>")
        h.append("<p>Not shown here; pass <code>--suite ID</code> to report them.</p><ul>")
        h.extend(f"<li>{_e(line)}</li>" for line in others)
        h.append("</ul>")
    h.append(f"<script>{SORT_SCRIPT}</script></body></html>")
    return "\n".join(h) + "\n"


# --- Markdown --------------------------------------------------------------------------------


def _md(text: object) -> str:
    # `~` escaped: GitHub reads a lone tilde pair in a row as strikethrough; a `<` opening a
    # tag too, or the `<cell>` of a reason would be taken for HTML and dropped
    escaped = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("~", "\\~")
    return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", escaped).replace("\n", " ")


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_table(
    head: Sequence[str], body: Sequence[Sequence[str]], grouped: bool = False
) -> list[str]:
    """A table; `grouped`: the first column (the configuration) only on its first row."""
    lines = ["| " + " | ".join(_md(h) for h in head) + " |"]
    lines.append("|" + "|".join("---:" if h in NUMERIC else "---" for h in head) + "|")
    previous = None
    for cells in body:
        shown = list(cells)
        if grouped and cells and cells[0] == previous:
            shown[0] = ""
        previous = cells[0] if cells else None
        lines.append("| " + " | ".join(_md(c) for c in shown) + " |")
    return [*lines, ""]


def _footnoted(
    body: Sequence[Sequence[str]], whole: Sequence[Sequence[str]]
) -> tuple[list[list[str]], list[str]]:
    """The cells with a note (a full text, a reason) marked [n], and the notes, one per
    distinct text, as list items to put under the table."""
    notes: dict[str, int] = {}  # the text -> its number
    shown = []
    for cells, full in zip(body, whole, strict=True):
        shown.append(list(cells))
        for i, text in enumerate(full):
            if text:
                shown[-1][i] += f" [{notes.setdefault(text, len(notes) + 1)}]"
    return shown, [f"- [{n}] {_md(text)}" for text, n in notes.items()]


def _note(cell: overview.Cell) -> str:
    """A matrix cell's footnote: a mark and its reason, or why a framework is not ranked."""
    if cell.mark:
        return f"{cell.mark}: {cell.reason}"
    return cell.reason if cell.text == NOT_RANKED else ""


def _md_overview(top: overview.Overview) -> list[str]:
    """The verdict, then the overview matrix, its marks' reasons as footnotes."""
    out = [*(f"- {line}" for line in top.verdict), ""]
    body, whole = [], []
    for label, lines in overview_groups(top):
        for line in lines:
            cells = overview_cells(top, line)
            name = f"{cells[0].text} ({NOT_RANKED})" if label == NOT_RANKED else cells[0].text
            body.append([name, *(cell_text(c) for c in cells[1:])])
            whole.append(["", *(_note(c) for c in cells[1:])])
    shown, notes = _footnoted(body, whole)
    out += _md_table(overview_head(top), shown)
    if notes:
        out += [*notes, ""]
    return [*out, OVERVIEW_LEGEND, "", configurations(top), ""]


def _md_untimed(scenario: str, rows: list[Measured]) -> list[str]:
    """How loop_overhead, long_run or crash is shown (what it measures opens its section),
    then one table per configuration."""
    out = [untimed.HOW[scenario], ""]
    for config, here in untimed.by_config(rows).items():
        head, body, _ = untimed.table(scenario, here)
        out += [f"#### {config}", "", *_md_table(head, body)]
    return out


def _md_live(rows: list[Measured]) -> list[str]:
    """readback's live reader: what it measures, then one table per configuration, a text
    cut short in the table marked [n] and given whole below it."""
    out = [untimed.LIVE_INTRO, ""]
    for config, here in untimed.by_config(rows).items():
        head, body, whole, _ = untimed.live_table(here)
        shown, notes = _footnoted(body, whole)
        out += [f"#### {LIVE_TITLE}, {config}", "", *_md_table(head, shown)]
        if notes:
            out += [*notes, ""]
    return out


def _md_figure(image: Image, out: Path) -> str:
    png = image.png.relative_to(out).as_posix()
    svg = image.svg.relative_to(out).as_posix()
    return f"![{_md(image.title)}]({png})  \n[SVG]({svg})\n"


def _md_pairs(pairs: Sequence[tuple[str, str]]) -> list[str]:
    return _md_table(["", "value"], [list(kv) for kv in pairs])


def _md_frameworks(part: SectionReport) -> list[str]:
    """One section per framework: its facts, then where its time goes."""
    out = [f"### {FRAMEWORKS_TITLE}", "", FRAMEWORKS_TEXT, ""]
    for p in part.profiles:
        out += [f"#### {p.name}", "", *_md_pairs(profile_facts(p))]
        head, body = time_table(p)
        if body:
            out += [TIME_TEXT, "", *_md_table(head, body)]
    return out


def _md_failures(part: SectionReport, texts: list[tuple[str, FailureGroup]]) -> list[str]:
    """The failures collapsed; a reason cut to its last line is marked [Fn], its full text
    added to `texts` for the page's end."""
    groups = frameworks.failure_groups(part.failures)
    out = [f"### {FAILURES_TITLE}", ""]
    if not groups:
        return [*out, FAILURES_NONE, ""]
    body = []
    for g in groups:
        cells = failure_cells(g)
        if g.cut:
            texts.append((f"F{len(texts) + 1}", g))
            cells[-1] += f" [{texts[-1][0]}]"
        body.append(cells)
    return [*out, FAILURES_TEXT + " A reason marked [Fn] is given whole at the page's end.",
            "", *_md_table(FAILURE_HEAD, body)]  # fmt: skip


def _md_failure_texts(texts: Sequence[tuple[str, FailureGroup]]) -> list[str]:
    """The failures' full texts, collapsed (GitHub renders <details>)."""
    if not texts:
        return []
    out = ["<details><summary>The failures' full texts</summary>", ""]
    for mark, g in texts:
        fence = "```"
        while fence in g.reason:
            fence += "`"
        out += [f"[{mark}] {_md(g.framework)}, {g.outcome}, {g.cells} cells:", "",
                f"{fence}text", g.reason, fence, ""]  # fmt: skip
    return [*out, "</details>", ""]


def _md_reproduce(part: SectionReport, results: Results) -> list[str]:
    """The commands that make the results and this page, the machine and the frameworks."""
    prov = part.prov
    return [
        f"### {REPRODUCE_TITLE}",
        "",
        "The results were made by",
        "",
        "```sh",
        prov.results_command,
        "```",
        "",
        "and this page by",
        "",
        "```sh",
        prov.report_command,
        "```",
        "",
        "on this machine:",
        "",
        *_md_pairs(environment(prov, results)),
        f"#### {CONFIGURED_TITLE}",
        "",
        *_md_table(CONFIGURED_HEAD, configured_cells(part)),
    ]


def _md_scenario(part: SectionReport, scenario: str, out: Path) -> list[str]:
    """One scenario's section: its heading, what it measures, its tables and figures."""
    sec = part.section
    m = [f"### {scenario}: {overview.title(scenario)}", ""]
    if overview.measures(scenario):
        m += [overview.measures(scenario), ""]
    if scenario in part.untimed:
        m += _md_untimed(scenario, part.untimed[scenario])
        m += [_md_figure(im, out) for im in part.images if im.scenario == scenario]
    elif scenario in part.kinds:
        kinds, kind_rows = part.kinds[scenario]
        m += [KINDS_TEXT, ""]
        body = [[short for short, _ in kinds_cells(r, kinds)] for r in kind_rows]
        m += _md_table(kinds_head(kinds), body)
        m += [f"- {line}" for line in kinds_details(kind_rows)] + [""]
    else:
        m += [headline_text(sec, scenario), ""]
        m += _md_table(TABLE_HEAD, [table_cells(r) for r in part.rows[scenario]], grouped=True)
        m += [_md_figure(im, out) for im in part.images if im.scenario == scenario]
        if scenario == untimed.READBACK and part.live:
            m += _md_live(part.live)
    return m


def _md_reproduced(part: SectionReport) -> list[str]:
    """The Markdown of _html_reproduced."""
    if not part.reproduced:
        return []
    m = [f"### {REPRODUCED_TITLE}", "",
         reproduction.source_text(part.reproduced[0].published), ""]  # fmt: skip
    for table in part.reproduced:
        m += [reproduction.caption(table), ""]
        m += _md_table(reproduction.HEAD, reproduction.cells(table), grouped=True)
        m += [f"- {s}" for s in table.sentences] + [""]
    return m


def to_markdown(
    results: Results, parts: Sequence[SectionReport], report_command: str, generated: str, out: Path
) -> str:
    """The report as a Markdown page (GitHub-flavoured tables): each section's verdict and
    overview matrix first, its evidence below."""
    m = ["# trackbench report", ""]
    texts: list[tuple[str, FailureGroup]] = []  # the failures' full texts, for the page's end
    for part in parts:
        sec = part.section
        m += [f"## {sec.title}", ""]
        if part.top is not None:
            m += _md_overview(part.top)
        if part.costs:
            per_day = workload.runs_per_day(sec)
            m += [f"### {WORKLOAD_TITLE}", "", workload_text(sec), ""]
            body = [workload_cells(c, per_day) for c in part.costs]
            m += _md_table(WORKLOAD_HEAD, body, grouped=True)
        for scenario in part.scenarios():
            m += _md_scenario(part, scenario, out)
        m += _md_reproduced(part)
        m += ["### Fidelity and outcomes", ""]
        m += [_md_figure(im, out) for im in part.images if im.kind == "fidelity"]
        if part.notes:
            m += ["Results that ran but whose data is not known to be exact:", ""]
            m += _md_table(NOTE_HEAD, [note_cells(n) for n in part.notes])
        m += _md_frameworks(part)
        m += _md_failures(part, texts)
        m += ["### Left behind", ""]
        if part.leftovers:
            m += _md_table(LEFTOVER_HEAD, [leftover_cells(x) for x in part.leftovers])
        else:
            m += [LEFTOVERS_NONE, ""]
        m += _md_reproduce(part, results)
    m += [
        "## How to read it",
        "",
        f"Made {generated} from {_code(results.url)} by {_code(report_command)}.",
        "",
        *(f"- {line}" for line in HOW_TO_READ),
        "",
    ]
    others = _other_suites(results, parts)
    if others:
        m += ["## Other suites in this database", "", "Not shown here; pass `--suite ID`.", ""]
        m += [f"- {line}" for line in others] + [""]
    m += _md_failure_texts(texts)
    return "\n".join(m)
