"""The scenarios with sections of their own, never timed against each other: loop_overhead
(each log() call's latency and the slowdown of a loop doing real work), long_run (memory
over a long run) and crash (what a new process reads back after the writer is killed);
and readback's live reader, shown under readback's timed table.

A row is one framework in one configuration: the medians of the scenario's own fields over
its ok cells, beside the analysis.Row that counts its outcomes and fidelities, so that a
framework whose data came back wrong is shown with its figures and flagged, as in the timed
tables.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from reports import analysis, stats
from reports.analysis import Row, Section
from results import schema as S
from results.cells import CONFIG, SCENARIO, is_missing

LOOP_OVERHEAD = "loop_overhead"
LONG_RUN = "long_run"
CRASH = "crash"
# The scenarios shown here, in the order of their sections.
SCENARIOS = (LOOP_OVERHEAD, LONG_RUN, CRASH)

LOOP_FIELDS = (S.LOG_P50_NS, S.LOG_P99_NS, S.LOG_MAX_NS, S.OVERHEAD_PCT, S.OVERHEAD_MIN_PCT,
               S.OVERHEAD_MAX_PCT, S.STOLEN_CPU_NS, S.FINISH_NS)  # fmt: skip
MEMORY_FIELDS = (S.RSS_START_BYTES, S.RSS_END_BYTES, S.PEAK_RSS_BYTES)
GROWTH = "growth_bytes"  # derived: rss_end_bytes - rss_start_bytes
MB = 1e6
CRASH_FIELDS = (S.LOGGED_VALUES, S.FLUSHED_VALUES, S.SURVIVED_VALUES)
SURVIVED_SHARE = "survived_share"  # derived: survived_values / logged_values
FLUSHED_SHARE = "flushed_share"  # derived: flushed_values / logged_values
# Each scenario's own fields (their medians are a row's figures) and the field rows() sorts by.
FIELDS = {LOOP_OVERHEAD: LOOP_FIELDS, LONG_RUN: MEMORY_FIELDS, CRASH: CRASH_FIELDS}
METRIC = {LOOP_OVERHEAD: S.OVERHEAD_PCT, LONG_RUN: S.RSS_END_BYTES, CRASH: S.SURVIVED_VALUES}
# readback's live reader: of the values logged when the writer paused (live_logged_values),
# the median not seen (live_lag_values) a row shows.
READBACK = "readback"
# The longest live reader's answer a table shows whole; longer ones are cut, in full beside.
LIVE_WIDTH = 40
# The capability of a framework with a flush() (adapters.base.FLUSH, as declarations name it).
FLUSH = "flush"
T = TypeVar("T")

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Measured:
    """One framework in one configuration of loop_overhead, long_run or crash."""

    row: Row  # outcomes, fidelities and role, as the timed tables count them
    medians: dict[str, float]  # field -> median over the ok cells (NaN when none)
    series: tuple[tuple[float, float], ...] = ()  # long_run: (step, bytes) of the last ok cell
    # crash: whether a new process could open the killed writer's store (the last ok cell's
    # answer; None when not checked), and why the framework has no flush() as its adapter
    # declares ("" when it has one, or nothing was declared)
    store_opens: bool | None = None
    no_flush: str = ""
    # readback: what the live reader got in each ok cell that recorded it ("ok", or
    # "unsupported: " and why)
    live_reads: tuple[str, ...] = ()

    @property
    def config(self) -> str:
        """The configuration's label."""
        return self.row.config

    @property
    def framework(self) -> str:
        """The framework's name."""
        return self.row.framework

    def flag(self) -> str:
        """Why the figures are not a clean result ("" when they are): data not exact or
        not declared lossy, or (repeated scenarios) fewer ok repetitions than a rank needs."""
        row = self.row
        if row.summary is None:
            return ""  # no figure to flag: the outcomes say why
        return row.unclean if row.scenario in S.RUN_ONCE else row.unranked


def series(value: Any) -> tuple[tuple[float, float], ...]:
    """rss_series as stored (a list of [step, bytes] pairs, or its JSON text) as pairs; ()
    when absent or not such a list."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    if not isinstance(value, (list, tuple)):
        return ()
    out = []
    for pair in value:
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            step, size = pair
            if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in pair):
                out.append((float(step), float(size)))
    return tuple(out)


def store_opens(value: Any) -> bool | None:
    """store_opens as stored (a bool, or 0 / 1) as a bool; None when absent or not checked."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    return None


def _last(values: Iterable[Any], read: Callable[[Any], T | None]) -> T | None:
    """The last value `read` makes something of (run once: a resume keeps its last), or None."""
    for value in reversed(list(values)):
        found = read(value)
        if found is not None:
            return found
    return None


def measured(section: Section, scenario: str, seed: int = 0) -> list[Measured]:
    """The rows of loop_overhead (least overhead first), long_run (least growth first) or
    crash (most survived first), configuration by configuration; frameworks without an ok
    cell last."""
    cells = section.cells[section.cells[SCENARIO] == scenario]
    no_flush = analysis.lacking(section, FLUSH) if scenario == CRASH else {}
    out = []
    for row in analysis.rows(section, scenario, metric=METRIC[scenario], seed=seed):
        medians = {
            f: analysis.median_of(section, scenario, row.config, row.framework, f)
            for f in FIELDS[scenario]
        }
        mine = _ok_cells(cells, row)
        found: tuple[tuple[float, float], ...] = ()
        opens = None
        if scenario == LONG_RUN:
            medians[GROWTH] = medians[S.RSS_END_BYTES] - medians[S.RSS_START_BYTES]
            found = _last(mine[S.RSS_SERIES], lambda v: series(v) or None) or ()
        if scenario == CRASH:
            logged = medians[S.LOGGED_VALUES]
            medians[SURVIVED_SHARE] = _share(medians[S.SURVIVED_VALUES], logged)
            medians[FLUSHED_SHARE] = _share(medians[S.FLUSHED_VALUES], logged)
            opens = _last(mine[S.STORE_OPENS], store_opens)
        out.append(Measured(row, medians, found, opens, no_flush.get(row.framework, "")))
    order = {c: i for i, c in enumerate(section.configs(scenario))}
    if scenario == LONG_RUN:
        out.sort(key=lambda m: (order[m.config], *_least(m.medians[GROWTH])))
    if scenario == CRASH:
        out.sort(key=lambda m: (order[m.config], *_least(-m.medians[SURVIVED_SHARE])))
    return out


def _ok_cells(cells: pd.DataFrame, row: Row) -> pd.DataFrame:
    """The ok cells of a row's framework and configuration, among one scenario's cells."""
    return cells[
        (cells[CONFIG] == row.config)
        & (cells[S.FRAMEWORK] == row.framework)
        & (cells[S.OUTCOME] == S.OK)
    ]


def live_reads(section: Section, seed: int = 0) -> list[Measured]:
    """readback's live reader, configuration by configuration: per framework what it got and
    the median values it did not see (least first; none seen last); [] when no cell recorded
    a live read (results from before it)."""
    cells = section.cells[section.cells[SCENARIO] == READBACK]
    if all(is_missing(v) for v in cells[S.LIVE_READ]):
        return []
    out = []
    for row in analysis.rows(section, READBACK, metric=S.LIVE_LAG_VALUES, seed=seed):
        lag = row.summary.median if row.summary else math.nan
        ok = _ok_cells(cells, row)
        logged = float(ok[S.LIVE_LOGGED_VALUES].median()) if len(ok) else math.nan
        reads = tuple(str(v) for v in ok[S.LIVE_READ] if not is_missing(v))
        out.append(
            Measured(row, {S.LIVE_LAG_VALUES: lag, S.LIVE_LOGGED_VALUES: logged}, live_reads=reads)
        )
    return out


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else math.nan  # NaN stays NaN


def _least(value: float) -> tuple[bool, float]:
    return (math.isnan(value), 0.0 if math.isnan(value) else value)


def by_config(rows: list[Measured]) -> dict[str, list[Measured]]:
    """Rows grouped by configuration, in their order."""
    out: dict[str, list[Measured]] = {}
    for m in rows:
        out.setdefault(m.config, []).append(m)
    return out


# --- the tables, as text for both formats ----------------------------------------------------

INTRO = {
    LOOP_OVERHEAD: "How much tracking slows a training loop that does real work: each "
    "tracked log() call's duration (its median, 99th percentile and slowest over every call "
    "of a cell) and the tracked loop's wall time against the same loop untracked in the same "
    "process, blocks interleaved (overhead %, with the least and most of any pair of blocks "
    "as its spread), with the CPU time the framework's other threads and processes took "
    "meanwhile (stolen CPU) and finish().",
    LONG_RUN: "How a writer's memory grows over a long run: the resident memory (RSS) of its "
    "processes just before the first step and after the last, the growth between them and "
    "the peak of the whole process tree, in MB (10^6 bytes).",
    CRASH: "What survives a writer killed mid-run: it logs one value a step, calls the "
    "framework's flush() every flush_every values where it has one, and kills itself with "
    "SIGKILL at a seeded point; a new process then opens the store and counts the values "
    "that came back as they were logged (survived), against those logged before the kill "
    "and those logged before the last flush() that returned (flushed).",
}
HOW = {
    LOOP_OVERHEAD: "Medians over the ok repetitions. Not a timed comparison: the loop's own "
    "work is in its time by design, so no ratio is taken. Only frameworks whose data came "
    f"back exact, or with the loss their adapter documents, and with "
    f"{analysis.MIN_REPETITIONS} or more ok repetitions are ranked; the others are shown "
    "with the reason they are not.",
    LONG_RUN: "Each configuration runs once: a finding, not a sample. Memory over the steps "
    "is in the figure.",
    CRASH: "Each configuration runs once: a finding, not a sample. Everything flushed "
    "survived: at least as many values came back as were flushed (a flushed value lost, or "
    "any value that came back different, is wrong_data, its reason under Failures). "
    "Durability is what a completed flush survives, as the adapter declares it.",
}

LOOP_HEAD = [
    "framework",
    "ranked",
    "ok / cells",
    "log() p50 µs",
    "log() p99 µs",
    "log() max µs",
    "overhead %",
    "spread %",
    "stolen CPU ms",
    "finish ms",
    "fidelity",
    "other outcomes",
]
MEMORY_HEAD = [
    "framework",
    "ok / cells",
    "RSS start MB",
    "RSS end MB",
    "growth MB",
    "peak MB",
    "fidelity",
    "other outcomes",
]
CRASH_HEAD = [
    "framework",
    "ok / cells",
    "logged",
    "flushed",
    "survived",
    "survived %",
    "everything flushed survived",
    "store opens",
    "durability",
    "fidelity",
    "other outcomes",
]
NUMERIC = {*LOOP_HEAD[2:10], *MEMORY_HEAD[1:6], *CRASH_HEAD[1:6]}


def _n(value: float, scale: float) -> str:
    return "-" if math.isnan(value) else stats.format_number(value / scale)


def _name(row: Row) -> str:
    return row.framework if row.role == S.TRACKER else f"{row.framework} ({row.role})"


def _others(row: Row) -> str:
    status = row.status()
    return "-" if status == S.OK else status


def ranked_text(m: Measured) -> str:
    """Whether a loop_overhead row is ranked: `least overhead`, `yes`, the floor, or why not."""
    row = m.row
    if row.summary is None:
        return "-"
    flag = m.flag()
    if flag:
        return f"not ranked ({flag})"
    if row.role == S.FLOOR:
        return "floor (the limit)"
    return "least overhead" if row.is_fastest else "yes"


def loop_cells(m: Measured) -> list[str]:
    """One framework's row of a loop_overhead table, as text."""
    v, row = m.medians, m.row
    low, high = v[S.OVERHEAD_MIN_PCT], v[S.OVERHEAD_MAX_PCT]
    spread = "-" if math.isnan(low) or math.isnan(high) else f"{_n(low, 1)} to {_n(high, 1)}"
    return [
        _name(row),
        ranked_text(m),
        f"{row.n_ok} / {row.n}",
        _n(v[S.LOG_P50_NS], 1e3),
        _n(v[S.LOG_P99_NS], 1e3),
        _n(v[S.LOG_MAX_NS], 1e3),
        _n(v[S.OVERHEAD_PCT], 1),
        spread,
        _n(v[S.STOLEN_CPU_NS], 1e6),
        _n(v[S.FINISH_NS], 1e6),
        row.fidelity(),
        _others(row),
    ]


def memory_cells(m: Measured) -> list[str]:
    """One framework's row of a long_run table, as text (sizes in MB, 10^6 bytes)."""
    v, row = m.medians, m.row
    growth = v[GROWTH]
    return [
        _name(row),
        f"{row.n_ok} / {row.n}",
        _n(v[S.RSS_START_BYTES], MB),
        _n(v[S.RSS_END_BYTES], MB),
        ("+" if growth > 0 else "") + _n(growth, MB),
        _n(v[S.PEAK_RSS_BYTES], MB),
        row.fidelity(),
        _others(row),
    ]


def count(value: float) -> str:
    """A number of values: `1,000` (`2.5`, a median of two); `-` for none."""
    if math.isnan(value):
        return "-"
    return f"{value:,.0f}" if value.is_integer() else f"{value:,.1f}"


def percent(share: float) -> str:
    """A share as a percentage to one decimal, never rounded to 0 or 100 when it is not."""
    if math.isnan(share):
        return "-"
    text = f"{100 * share:.1f}"
    if text == "100.0" and share < 1:
        return ">99.9"
    if text == "0.0" and share > 0:
        return "<0.1"
    return text


def flushed_survived(m: Measured) -> str:
    """`yes`, `no`, or `nothing flushed` (saying when the framework has no flush())."""
    v = m.medians
    logged, flushed, survived = (v[f] for f in CRASH_FIELDS)
    if any(math.isnan(x) for x in (logged, flushed, survived)):
        return "-"
    if flushed == 0:
        return "nothing flushed (no flush())" if m.no_flush else "nothing flushed"
    if survived < flushed:
        return "no"
    flag = m.flag()
    return f"yes by count ({flag})" if flag else "yes"


def opens_text(m: Measured) -> str:
    """Whether the killed writer's store opened: yes, no, not checked; `-` without an ok cell."""
    if m.row.n_ok == 0:
        return "-"
    return {True: "yes", False: "no", None: "not checked"}[m.store_opens]


def crash_cells(m: Measured) -> list[str]:
    """One framework's row of a crash table, as text."""
    v, row = m.medians, m.row
    return [
        _name(row),
        f"{row.n_ok} / {row.n}",
        *(count(v[f]) for f in CRASH_FIELDS),
        percent(v[SURVIVED_SHARE]),
        flushed_survived(m),
        opens_text(m),
        row.durability or "-",
        row.fidelity(),
        _others(row),
    ]


CELLS = {LOOP_OVERHEAD: (LOOP_HEAD, loop_cells), LONG_RUN: (MEMORY_HEAD, memory_cells),
         CRASH: (CRASH_HEAD, crash_cells)}  # fmt: skip


def table(scenario: str, rows: list[Measured]) -> tuple[list[str], list[list[str]], list[bool]]:
    """The head, the rows as text, and which rows are marked (not every cell ok, or flagged)."""
    head, cells = CELLS[scenario]
    body = [cells(m) for m in rows]
    marked = [m.row.n_ok < m.row.n or bool(m.flag()) for m in rows]
    return head, body, marked


LIVE_INTRO = (
    "Half way through the writing, the writer pauses while another process reads the store "
    "in use, as a dashboard does during training: the live reader gets `ok`, with how many "
    "of the values logged by then it did not see (the median over the ok cells), or why the "
    "framework's reader cannot read a store in use."
)
LIVE_HEAD = ["framework", "live reader", "not seen", "ok / cells", "fidelity", "other outcomes"]


def shorten(text: str, width: int = LIVE_WIDTH) -> str:
    """Text's first line, cut at a word to at most `width` characters with `…` when longer."""
    line = text.splitlines()[0] if text.strip() else text
    if len(line) <= width and line == text:
        return text
    cut = line[: width - 1]
    if line[width - 1 : width] not in (" ", "") and " " in cut[width // 2 :]:
        cut = cut.rsplit(" ", 1)[0]  # not inside a word
    return cut.rstrip(" :;,.") + "…"


def live_text(m: Measured) -> tuple[str, str]:
    """What the live reader got, shortened, and in full ("" when nothing was cut): `ok`, the
    unsupported reason, or each answer with its count when the cells differ."""
    reads = m.live_reads
    if not reads:
        return ("-" if m.row.n_ok == 0 else "not recorded"), ""
    counts = Counter(reads)
    if len(counts) == 1:
        short, whole = shorten(reads[0]), reads[0]
    else:
        short = "; ".join(f"{shorten(r)} ({c} of {len(reads)})" for r, c in counts.items())
        whole = "; ".join(f"{r} ({c} of {len(reads)})" for r, c in counts.items())
    return short, ("" if whole == short else whole)


def lag_text(m: Measured) -> str:
    """The median values the live reader did not see: `sees all`, `N of M not seen`, flagged
    when the readback data is not clean; `-` without an ok live read."""
    lag, logged = m.medians[S.LIVE_LAG_VALUES], m.medians[S.LIVE_LOGGED_VALUES]
    if math.isnan(lag):
        return "-"
    text = "sees all" if lag == 0 else f"{count(lag)} of {count(logged)} not seen"
    if math.isnan(logged) and lag != 0:
        text = f"{count(lag)} not seen"
    flag = m.row.unclean
    return f"{text} ({flag})" if flag else text


def live_table(
    rows: list[Measured],
) -> tuple[list[str], list[list[str]], list[list[str]], list[bool]]:
    """The head, the rows as text, each cell's full text where it was cut ("" elsewhere), and
    which rows are marked (not every cell ok, or the data not clean)."""
    body, whole, marked = [], [], []
    for m in rows:
        row = m.row
        short, full = live_text(m)
        body.append([_name(row), short, lag_text(m), f"{row.n_ok} / {row.n}", row.fidelity(),
                     _others(row)])  # fmt: skip
        whole.append(["", full, "", "", "", ""])
        marked.append(row.n_ok < row.n or bool(row.unclean))
    return LIVE_HEAD, body, whole, marked
