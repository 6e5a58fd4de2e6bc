"""Figures of a section, each written as PNG and SVG with its provenance in a footer.

matplotlib is imported inside the functions that draw (it costs ~0.3 s) and always through
the Agg canvas, so nothing needs a display. Frameworks keep one colour across all figures,
and a framework without a successful cell still appears, labelled with its outcome.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from reports import analysis, stats
from reports.analysis import Row, Section
from reports.provenance import Provenance
from results import schema as S
from results.cells import CONFIG, SCENARIO, config_label

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
# Colours of the fidelity matrix, by cell status (analysis.cell_status).
STATUS_COLOURS = {
    S.EXACT: "#4caf50",
    S.LOSSY: "#cddc39",
    S.NOT_CHECKED: "#e0e0e0",
    S.UNVERIFIED: "#bdbdbd",
    S.SKIPPED: "#90caf9",
    S.UNSUPPORTED: "#b39ddb",
    S.BAD_OUTPUT: "#ff9800",
    S.TIMEOUT: "#ff7043",
    S.CRASH: "#e53935",
    S.WRONG_DATA: "#b71c1c",
}
UNKNOWN_STATUS_COLOUR = "#5d4037"
PHASE_LABELS = {
    S.IMPORT_NS: "import",
    S.SERVICE_START_NS: "service start",
    S.INIT_NS: "init",
    S.START_RUN_NS: "start_run",
    S.LOG_NS: "log",
    S.END_RUN_NS: "end_run",
    S.FINISH_NS: "finish",
    S.EXIT_NS: "exit",
}
REST = "rest of the process"
# What the stacked phases add up to, by results schema: schema 1's wall_ns held a local
# server's start and the rest of the process; schema 2's tracking_ns is its phases exactly.
PHASE_BASIS = {
    1: (S.WALL_NS, tuple(k for k in PHASE_LABELS if k != S.EXIT_NS)),
    2: (S.TRACKING_NS, S.TRACKED_PHASES),
}
PHASE_COLOURS = (
    "#4e79a7",
    "#9c755f",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#bab0ac",
)
LINESTYLES: tuple[Literal["-", "--", ":"], ...] = ("-", "--", ":")
FLAGGED_ALPHA = 0.3  # a bar whose data is not a clean result: pale and hatched
FAILED_COLOUR = "#b71c1c"
LIMIT_COLOUR = "#333333"  # the floors' lines: the limit, drawn like no framework
BOX = {"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1}
LABEL_GAP = 0.045  # least vertical distance between two line labels, in axes fractions
BAR_FONT = 7.5  # points, of the labels beside bars and at the ends of lines
BAR_WIDTH = 8.0  # inches of a column of bar panels
LOG_SPAN = 30  # bars whose values span more than this many times are drawn on a log axis
FOOTER_FONT = 6.5  # points
FOOTER_LINE = 0.125  # inches per footer line
FOOTER_PAD = 0.12  # inches
DPI = 110


@dataclass(frozen=True)
class Image:
    """One figure, written as PNG and SVG beside each other."""

    kind: str  # bars, scaling, phases, resources, fidelity
    scenario: str  # "" for figures of the whole section
    title: str
    png: Path
    svg: Path


@dataclass(frozen=True)
class Style:
    """How one framework is drawn: ten colours, then the same with another line and hatch."""

    colour: str
    linestyle: Literal["-", "--", ":"]
    marker: str
    hatch: str | None


def styles(section: Section) -> dict[str, Style]:
    """A fixed style per framework of a section, distinct for up to 30 frameworks."""
    out = {}
    for i, name in enumerate(section.frameworks()):
        variant = i // len(PALETTE)
        out[name] = Style(
            colour=PALETTE[i % len(PALETTE)],
            linestyle=LINESTYLES[variant % 3],
            marker=("o", "s", "^")[variant % 3],
            hatch=(None, "//", "..")[variant % 3],
        )
    return out


def _new_figure(width: float, height: float, prov: Provenance) -> Figure:
    """A figure drawn with Agg, `height` inches for the plot plus a footer with the provenance."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    # about 19 characters per inch at the footer's font size: wrap rather than cut anything
    lines = [
        wrapped
        for line in prov.lines()
        for wrapped in textwrap.wrap(line, int(width * 19), subsequent_indent="    ")
    ]
    footer = FOOTER_LINE * len(lines) + FOOTER_PAD
    # keep the bottom free for the footer, which constrained layout does not place
    bottom = footer / (height + footer)
    layout = ConstrainedLayoutEngine(rect=(0, bottom, 1, 1 - bottom))
    fig = Figure(figsize=(width, height + footer), dpi=DPI, layout=layout)
    FigureCanvasAgg(fig)  # headless: draw with Agg whatever the default backend is
    fig.text(
        0.006,
        FOOTER_PAD / 2 / (height + footer),
        "\n".join(lines),
        fontsize=FOOTER_FONT,
        color="#555555",
        ha="left",
        va="bottom",
        linespacing=1.25,
    )
    return fig


def _save(
    fig: Figure, out: Path, stem: str, prov: Provenance, kind: str, scenario: str, title: str
) -> Image:
    from matplotlib import rc_context

    out.mkdir(parents=True, exist_ok=True)
    png, svg = out / f"{stem}.png", out / f"{stem}.svg"
    described = f"{title}. {prov.as_text()}"
    # text stays text in SVG (smaller, searchable); a fixed salt keeps SVG ids reproducible
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": stem}):
        fig.savefig(
            png,
            format="png",
            metadata={"Title": title, "Description": described, "Software": "trackbench"},
        )
        # the layout is settled by the first draw; laying out again for SVG only costs time
        fig.set_layout_engine("none")
        fig.savefig(
            svg, format="svg", metadata={"Title": title, "Description": described, "Date": None}
        )
    return Image(kind, scenario, title, png, svg)


def _seconds(ns: float) -> float:
    return ns / 1e9


def _status_label(row: Row) -> str:
    bad = [o for o in row.outcomes if o != S.OK]
    return "/".join(o or "no outcome" for o in bad) or "no data"


def _by_config(section: Section, scenario: str, rows: Sequence[Row]) -> list[tuple[str, list[Row]]]:
    """The rows of each configuration that has any, in the section's order of configurations."""
    groups = [(c, [r for r in rows if r.config == c]) for c in section.configs(scenario)]
    return [(config, mine) for config, mine in groups if mine]


def bar_order(rows: Sequence[Row]) -> list[Row]:
    """One configuration's rows as its bars are drawn, top down: the ranked by median, then
    those shown but not ranked (data not clean, too few ok cells), then those without an ok
    cell. Floors are the limit, drawn as a line, never a bar."""

    def key(row: Row) -> tuple[bool, bool, float]:
        median = row.summary.median if row.summary else 0.0
        return (row.summary is None, bool(row.unranked), median)

    return sorted((r for r in rows if r.role != S.FLOOR), key=key)


class Bar(NamedTuple):
    """One horizontal bar: the framework it names, its end and whisker (NaN: none), the text
    right of it. `value` is NaN when there is no bar: the text, in `colour`, says why."""

    name: str
    value: float
    low: float
    high: float
    text: str
    colour: str
    hatch: str | None = None
    flagged: bool = False  # shown but not a clean result: pale, its text in red


class Limit(NamedTuple):
    """A floor in a panel of bars: a dashed line at `value` (none when NaN), named in `text`."""

    value: float
    text: str


def label_room(labels: Sequence[str], inches: float) -> float:
    """The share of a panel `inches` wide that labels right of its bars take: about 0.065
    inch a character, at most 0.6."""
    return min(0.6, 0.065 * max((len(t) for t in labels), default=0) / inches + 0.03)


def spans_decades(values: Sequence[float]) -> bool:
    """Whether the positive values span more than LOG_SPAN times: a log axis, else linear
    from zero (bars' lengths then compare as their values do)."""
    positive = [v for v in values if v > 0]
    return bool(positive) and max(positive) / min(positive) > LOG_SPAN


def hbars(
    ax: Axes, bars: Sequence[Bar], limits: Sequence[Limit], inches: float, xlabel: str
) -> None:
    """Bars top down, named on the left and labelled right of their whiskers, on a log axis
    when they span decades; the floors as dashed lines labelled once above them: the limit."""
    drawn = [b for b in bars if not math.isnan(b.value)]
    levels = [m.value for m in limits if not math.isnan(m.value)]
    reach = [v for b in drawn for v in (b.low, b.value, b.high) if not math.isnan(v)] + levels
    positive = [v for v in reach if v > 0] or [1.0]
    room = label_room([b.text for b in drawn], inches)
    log = spans_decades([*(b.value for b in drawn), *levels])
    if log:
        ax.set_xscale("log")
        left = min(positive) / 1.6
        right = left * (max(positive) / left) ** (1 / (1 - room))
    else:
        left, right = 0.0, max(positive) / (1 - room)
    ax.set_xlim(left, right)
    for y, b in enumerate(bars):
        if math.isnan(b.value):
            ax.text(0.01, y, b.text, transform=ax.get_yaxis_transform(), va="center",
                    fontsize=BAR_FONT, color=b.colour, bbox=BOX)  # fmt: skip
            continue
        ax.barh(
            y, b.value, height=0.7, color=b.colour, edgecolor=b.colour,
            alpha=FLAGGED_ALPHA if b.flagged else 1.0, hatch="xx" if b.flagged else b.hatch,
            xerr=None if math.isnan(b.low) else [[b.value - b.low], [b.high - b.value]], capsize=2,
            error_kw={"elinewidth": 0.8, "ecolor": "#333333"},
        )  # fmt: skip
        end = b.value if math.isnan(b.high) else b.high
        ax.annotate(b.text, (end, y), xytext=(4, 0), textcoords="offset points",
                    va="center", fontsize=BAR_FONT,
                    color=FAILED_COLOUR if b.flagged else "black")  # fmt: skip
    for level in levels:
        ax.axvline(level, color=LIMIT_COLOUR, linestyle="--", linewidth=1.1)
    if limits:  # one label for them all: floors lie close together, labels would overlap
        # beside the lines, never across one: right of them in the left half, else left
        left_half = _share(min(levels, default=left), left, right, log) < 0.5
        anchor = (max if left_half else min)(levels, default=left)
        ax.text(anchor, -0.62, " the limit: " + ", ".join(m.text for m in limits) + " ",
                ha="left" if left_half else "right", va="bottom", fontsize=BAR_FONT,
                color=LIMIT_COLOUR)  # fmt: skip
    ax.set_ylim(max(len(bars), 1) - 0.5, -0.5 - (0.75 if limits else 0.0))
    ax.set_yticks(range(len(bars)), [b.name for b in bars], fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.set_xlabel(xlabel + (" (log)" if log else ""), fontsize=8)
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.set_axisbelow(True)  # grid lines behind the bars, not across them


def _share(value: float, low: float, high: float, log: bool) -> float:
    """Where `value` sits between `low` and `high` on a linear or log axis, as a fraction."""
    if log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / ((high - low) or 1.0)


def panel_grid(
    counts: Sequence[int], cols: int, width: float, prov: Provenance
) -> tuple[Figure, list[Axes]]:
    """A figure of one panel of bars per count, `cols` panels `width` inches wide a row, each
    row as high as its most bars need; slots left over are hidden."""
    rows_n = math.ceil(len(counts) / cols)
    heights = [0.75 + 0.27 * max(max(counts[r * cols : (r + 1) * cols]), 1) for r in range(rows_n)]
    fig = _new_figure(width * cols, 0.45 + sum(heights), prov)
    grid = fig.subplots(rows_n, cols, squeeze=False, height_ratios=heights)
    for extra in range(len(counts), rows_n * cols):
        grid[extra // cols, extra % cols].set_axis_off()
    return fig, [grid[i // cols, i % cols] for i in range(len(counts))]


def _time_bar(row: Row, look: dict[str, Style]) -> Bar:
    """A framework's bar of median seconds, labelled with its ratio to the reference, or why
    it is not ranked, and its failed cells."""
    if row.summary is None:
        return Bar(row.framework, math.nan, math.nan, math.nan,
                   f"no ok cell: {_status_label(row)}", FAILED_COLOUR)  # fmt: skip
    s = row.summary
    text = f"{stats.format_number(_seconds(s.median))} s"
    if row.unranked:
        text += f"  not ranked: {row.unranked}"
    elif row.role == S.REFERENCE:
        text += "  (the reference)"
    elif row.vs_reference is not None:
        text += f"  ({stats.format_ratio(row.vs_reference)} the reference)"
    if row.n_ok < row.n:  # a bar over fewer cells than ran: say why, on the bar
        text += f" ({row.status()})" if row.unranked else f"  {row.n_ok}/{row.n} ok: {row.status()}"
    st = look[row.framework]
    return Bar(row.framework, _seconds(s.median), _seconds(s.low), _seconds(s.high), text,
               st.colour, st.hatch, bool(row.unranked))  # fmt: skip


def _limit(row: Row, value: float, unit: str) -> Limit:
    """A floor at `value` (in `unit`), or named by its outcome when it has no ok cell."""
    if row.summary is None or math.isnan(value):
        return Limit(math.nan, f"{row.framework}: {_status_label(row)}")
    return Limit(value, f"{row.framework} {stats.format_number(value)} {unit}")


def bars_figure(section: Section, scenario: str, rows: Sequence[Row], prov: Provenance) -> Figure:
    """Per configuration, one horizontal bar per framework of its median headline, fastest
    at the top, whiskers the interval the tables show, each named and labelled with its time;
    the floors are a dashed line: the limit, not a contender."""
    look = styles(section)
    what = headline_words(section, scenario)
    panels = []
    for config, mine in _by_config(section, scenario, rows):
        floors = [r for r in mine if r.role == S.FLOOR]
        limits = [
            _limit(r, _seconds(r.summary.median) if r.summary else math.nan, "s") for r in floors
        ]
        panels.append((config, [_time_bar(r, look) for r in bar_order(mine)], limits))
    cols = 2 if len(panels) > 3 else 1  # many configurations: two columns, half the height
    fig, axes = panel_grid([len(b) + bool(m) for _, b, m in panels], cols, BAR_WIDTH, prov)
    for ax, (config, shown, limits) in zip(axes, panels, strict=True):
        hbars(ax, shown, limits, BAR_WIDTH - 1.3, f"median {what} seconds per cell")
        ax.set_title(config, fontsize=9, loc="left")
    fig.suptitle(
        f"{scenario}: median {what} time per cell, fastest first\nwhiskers: 95% bootstrap "
        "interval of the median (the range when n < 5)",
        fontsize=9,
    )
    return fig


def bars(
    section: Section, scenario: str, rows: Sequence[Row], out: Path, prov: Provenance
) -> Image:
    """The figure of bars_figure, saved."""
    title = f"{scenario}: median {headline_words(section, scenario)} time per framework"
    fig = bars_figure(section, scenario, rows, prov)
    return _save(fig, out, f"{section.slug}-bars-{scenario}", prov, "bars", scenario, title)


def scaling_params(section: Section, scenario: str) -> list[str]:
    """The scenario's numeric parameters that take two or more values."""
    values: dict[str, set[float]] = {}
    for config in section.configs(scenario):
        for name, value in section.config_values(scenario, config).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                values.setdefault(name, set()).add(float(value))
    return [name for name, seen in values.items() if len(seen) >= 2]


def scaling_figure(
    section: Section, scenario: str, param: str, rows: Sequence[Row], prov: Provenance
) -> Figure:
    """The median headline against one parameter, log-log, a panel per value of the others;
    each line labelled at its end with its framework, the floors dashed grey: the limit."""
    look = styles(section)
    panels: dict[tuple[tuple[str, Any], ...], list[tuple[float, str]]] = {}
    for config in section.configs(scenario):
        values = section.config_values(scenario, config)
        if param not in values:
            continue
        others = tuple((k, v) for k, v in values.items() if k != param)
        panels.setdefault(others, []).append((float(values[param]), config))
    n = len(panels)
    cols = min(n, 2)
    rows_n = math.ceil(n / cols)
    fig = _new_figure(max(6.5, 5.6 * cols), 0.7 + 3.6 * rows_n, prov)
    by_key = {(r.config, r.framework): r for r in rows}
    for k, (others, points) in enumerate(panels.items()):
        ax: Axes = fig.add_subplot(rows_n, cols, k + 1)
        ax.set_xscale("log")
        ax.set_yscale("log")
        only = {x for x, _ in points}
        if len(only) == 1:  # one point: matplotlib cannot span it alone (scaling_params: > 0)
            ax.set_xlim(min(only) / 2, min(only) * 2)
        missing: list[str] = []
        ends: list[tuple[float, str, str, bool]] = []  # last median, label, colour, flagged
        for framework in section.frameworks():
            xs, ys, lo, hi, why = [], [], [], [], []
            floor = False
            for x, config in sorted(points):
                row = by_key.get((config, framework))
                if row is None:
                    continue
                floor = row.role == S.FLOOR
                if row.summary is None:
                    missing.append(f"{framework}: {_status_label(row)} at {x:g}")
                    continue
                s = row.summary
                xs.append(x)
                ys.append(_seconds(s.median))
                lo.append(_seconds(s.median - s.low))
                hi.append(_seconds(s.high - s.median))
                if row.unranked and not floor:
                    why.append(row.unranked)
            if not xs:
                continue
            st = look[framework]
            colour = LIMIT_COLOUR if floor else st.colour
            ax.errorbar(
                xs, ys, yerr=[lo, hi], marker=None if floor else st.marker, markersize=3.5,
                capsize=2, color=colour, linestyle="--" if floor else st.linestyle,
                linewidth=1.1 if floor else 1.4, alpha=FLAGGED_ALPHA + 0.2 if why else 1.0,
            )  # fmt: skip
            label = f"{framework} {stats.format_number(ys[-1])} s"
            if floor:
                label += " (the limit)"
            elif why:
                label += f" (not ranked: {', '.join(dict.fromkeys(why))})"
            ends.append((ys[-1], label, colour, bool(why)))
        label_ends(ax, ends, log_y=True)
        if missing:  # points that could not be drawn are named in the panel, never dropped
            ax.text(
                0.99,
                0.01,
                "no ok cell:\n" + "\n".join(missing),
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=6,
                color=FAILED_COLOUR,
                bbox=BOX,
            )
        ax.set_xlabel(f"{param} (log)", fontsize=8)
        ax.set_ylabel(f"median {headline_words(section, scenario)} seconds (log)", fontsize=8)
        ax.grid(which="both", alpha=0.25)
        ax.tick_params(labelsize=8)
        subtitle = config_label(others) if others else ""
        ax.set_title(
            f"{scenario}: time against {param}" + (f", {subtitle}" if subtitle else ""),
            fontsize=9,
            loc="left",
        )
    return fig


def scaling(
    section: Section, scenario: str, param: str, rows: Sequence[Row], out: Path, prov: Provenance
) -> Image:
    """The figure of scaling_figure, saved."""
    title = f"{scenario}: scaling with {param}"
    stem = f"{section.slug}-scaling-{scenario}-{param}"
    fig = scaling_figure(section, scenario, param, rows, prov)
    return _save(fig, out, stem, prov, "scaling", scenario, title)


class EndLabel(NamedTuple):
    """A line's label at its end, `y` in fractions of the axes' height."""

    y: float
    text: str
    colour: str
    flagged: bool


def spread(labels: Sequence[EndLabel]) -> list[EndLabel]:
    """Labels moved apart vertically (at least LABEL_GAP), in order, kept inside the axes."""
    out: list[EndLabel] = []
    for label in sorted(labels):
        if out and label.y < out[-1].y + LABEL_GAP:
            label = label._replace(y=out[-1].y + LABEL_GAP)
        out.append(label)
    overflow = (out[-1].y - 1.0) if out else 0.0
    if overflow > 0:  # pushed past the top: shift all down, never below the axis
        out = [label._replace(y=max(label.y - overflow, 0.0)) for label in out]
    return out


def label_ends(ax: Axes, ends: Sequence[tuple[float, str, str, bool]], log_y: bool) -> None:
    """Each line's label right of the axes at the height of its last value, spread apart;
    the y limits are fixed first, so the labels stay where the lines end."""
    low, high = ax.get_ylim()
    ax.set_ylim(low, high)
    labels = [EndLabel(_share(v, low, high, log_y), t, c, f) for v, t, c, f in ends]
    for y, text, colour, flagged in spread(labels):
        ax.text(1.01, y, text, transform=ax.transAxes, va="center", fontsize=BAR_FONT,
                color=FAILED_COLOUR if flagged else colour)  # fmt: skip


# How a headline field is named in a figure's labels.
HEADLINE_WORDS = {S.TRACKING_NS: "tracking", S.READ_NS: "read", S.WALL_NS: "wall"}


def headline_words(section: Section, scenario: str) -> str:
    """`tracking`, `read` or `wall` (schema 1): what a scenario's figures are."""
    return " / ".join(HEADLINE_WORDS.get(h, h) for h in analysis.headlines(section, scenario))


def phase_medians(section: Section, scenario: str, config: str, framework: str) -> dict[str, float]:
    """Median nanoseconds per phase over the ok cells, plus the rest of the process."""
    cells = section.cells
    ok = cells[
        (cells[SCENARIO] == scenario)
        & (cells[CONFIG] == config)
        & (cells[S.FRAMEWORK] == framework)
        & (cells[S.OUTCOME] == S.OK)
    ]
    out: dict[str, float] = {}
    if ok.empty:
        return out
    version = int(ok[S.SCHEMA_VERSION_PARAM].max())
    total, phases_of = PHASE_BASIS[min(max(version, 1), max(PHASE_BASIS))]
    for phase in phases_of:
        out[phase] = analysis.median_of(section, scenario, config, framework, phase)
    rest = [
        whole - sum(0.0 if math.isnan(v) else v for v in (rec[p] for p in phases_of))
        for whole, rec in zip(ok[total], ok.to_dict("records"), strict=True)
        if not math.isnan(whole)
    ]
    if rest and any(r > 0 for r in rest):  # schema 2's phases are its headline, no rest
        import statistics

        out[REST] = max(statistics.median(rest), 0.0)
    return out


def phases_figure(section: Section, scenario: str, rows: Sequence[Row], prov: Provenance) -> Figure:
    """Stacked shares of the lifecycle phases per framework, one panel per configuration,
    the frameworks in the order of the time bars and the floors after them."""
    groups = _by_config(section, scenario, rows)
    keys = [*PHASE_LABELS, REST]
    labels = [*PHASE_LABELS.values(), REST]
    cols = 2 if len(groups) > 3 else 1  # many configurations: two columns, half the height
    fig, axes = panel_grid([len(mine) for _, mine in groups], cols, BAR_WIDTH, prov)
    for ax, (config, mine) in zip(axes, groups, strict=True):
        present = [*bar_order(mine), *(r for r in mine if r.role == S.FLOOR)]
        for y, row in enumerate(present):
            medians = phase_medians(section, scenario, config, row.framework)
            if not medians or row.summary is None:
                ax.text(1, y, f"no ok cell: {_status_label(row)}", va="center", fontsize=7,
                        color=FAILED_COLOUR)  # fmt: skip
                continue
            parts = [0.0 if math.isnan(medians.get(k, math.nan)) else medians[k] for k in keys]
            total = sum(parts) or 1.0
            left = 0.0
            for i, part in enumerate(parts):
                share = 100 * part / total
                if keys[i] not in medians:  # not a phase of this schema's headline
                    continue
                ax.barh(y, share, left=left, color=PHASE_COLOURS[i], height=0.7,
                        label=labels[i] if y == 0 else None)  # fmt: skip
                left += share
            note = f"{stats.format_number(_seconds(row.summary.median))} s"
            if row.n_ok < row.n:  # a median over fewer cells than ran: say why
                note += f" ({row.status()})"
            ax.text(101, y, note, va="center", fontsize=7)
        names = [r.framework + (" (the limit)" if r.role == S.FLOOR else "") for r in present]
        ax.set_yticks(range(len(present)), names, fontsize=8)
        ax.set_ylim(max(len(present), 1) - 0.5, -0.5)
        ax.set_xlim(0, 128)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.tick_params(axis="x", labelsize=8)
        ax.set_title(f"{scenario}, {config}", fontsize=9, loc="left")
    for ax in axes[-cols:]:
        ax.set_xlabel(
            "share of the phases' median times (%); right: median "
            f"{headline_words(section, scenario)} seconds",
            fontsize=8,
        )
    handles, names = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        more_h, more_n = ax.get_legend_handles_labels()
        for h, n in zip(more_h, more_n, strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    if handles:  # the phases, in lifecycle order: the frameworks are named on the left
        fig.legend(handles, names, loc="outside upper center", ncols=len(names), fontsize=7)
    return fig


def phases(
    section: Section, scenario: str, rows: Sequence[Row], out: Path, prov: Provenance
) -> Image:
    """The figure of phases_figure, saved."""
    title = f"{scenario}: where the time goes"
    fig = phases_figure(section, scenario, rows, prov)
    return _save(fig, out, f"{section.slug}-phases-{scenario}", prov, "phases", scenario, title)


RESOURCES = (
    (S.PEAK_RSS_BYTES, "peak memory (summed RSS of the writer's tree and its server)"),
    (S.DISK_BYTES, "bytes left on disk"),
)


def _resource_bar(section: Section, row: Row, column: str, look: dict[str, Style]) -> Bar:
    """A framework's bar of a resource's median in MB, or why it has none."""
    value = analysis.median_of(section, row.scenario, row.config, row.framework, column)
    if row.summary is None or math.isnan(value):
        return Bar(row.framework, math.nan, math.nan, math.nan,
                   f"no ok cell: {_status_label(row)}", FAILED_COLOUR)  # fmt: skip
    if value <= 0:  # a log axis cannot show zero, and no bar is needed to say it
        return Bar(row.framework, math.nan, math.nan, math.nan, "0 B", "black")
    mb = value / 1e6
    st = look[row.framework]
    text = f"{stats.format_number(mb)} MB"
    return Bar(row.framework, mb, math.nan, math.nan, text, st.colour, st.hatch,
               bool(row.unranked))  # fmt: skip


def resources_figure(
    section: Section, scenario: str, rows: Sequence[Row], prov: Provenance
) -> Figure:
    """Per configuration, median peak memory and bytes left on disk side by side, one bar
    per framework in the order of the time bars, each labelled; the floors as the limit."""
    look = styles(section)
    panels = []
    for config, mine in _by_config(section, scenario, rows):
        floors = [r for r in mine if r.role == S.FLOOR]
        for column, what in RESOURCES:
            shown = [_resource_bar(section, r, column, look) for r in bar_order(mine)]
            limits = [
                _limit(r, analysis.median_of(section, scenario, config, r.framework, column)
                       / 1e6, "MB")
                for r in floors
            ]  # fmt: skip
            panels.append((f"{config}\nmedian {what}", shown, limits))
    fig, axes = panel_grid([len(b) + bool(m) for _, b, m in panels], 2, BAR_WIDTH / 2 + 1, prov)
    for ax, (heading, shown, limits) in zip(axes, panels, strict=True):
        hbars(ax, shown, limits, BAR_WIDTH / 2 - 0.3, "MB (10^6 bytes)")
        ax.set_title(heading, fontsize=8, loc="left")
    fig.suptitle(f"{scenario}: memory and disk per cell, frameworks in the order of the time "
                 "bars", fontsize=9)  # fmt: skip
    return fig


def resources(
    section: Section, scenario: str, rows: Sequence[Row], out: Path, prov: Provenance
) -> Image:
    """The figure of resources_figure, saved."""
    title = f"{scenario}: memory and disk"
    stem = f"{section.slug}-resources-{scenario}"
    fig = resources_figure(section, scenario, rows, prov)
    return _save(fig, out, stem, prov, "resources", scenario, title)


def _text_colour(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"


def fidelity(section: Section, out: Path, prov: Provenance) -> Image:
    """Frameworks x scenarios: every cell's fidelity, or its outcome when not ok, counted."""
    from matplotlib.patches import Patch, Rectangle

    matrix = analysis.fidelity_matrix(section)
    frameworks = section.frameworks()
    scenarios = section.scenarios()
    fig = _new_figure(max(6.5, 2.0 + 1.9 * len(scenarios)), 1.4 + 0.5 * len(frameworks), prov)
    ax = fig.add_subplot()
    seen: list[str] = []
    for y, framework in enumerate(frameworks):
        for x, scenario in enumerate(scenarios):
            counts = matrix.get((framework, scenario))
            if not counts:
                colour, text = "#ffffff", "no cells"
            else:
                worst = next(iter(counts))
                colour = STATUS_COLOURS.get(worst, UNKNOWN_STATUS_COLOUR)
                text = "\n".join(f"{s} {c}" for s, c in counts.items())
                seen.extend(s for s in counts if s not in seen)
            ax.add_patch(
                Rectangle(
                    (x - 0.5, y - 0.5), 1, 1, facecolor=colour, edgecolor="white", linewidth=2
                )
            )
            ax.text(x, y, text, ha="center", va="center", fontsize=7.5, color=_text_colour(colour))
    ax.set_xlim(-0.5, len(scenarios) - 0.5)
    ax.set_ylim(len(frameworks) - 0.5, -0.5)
    ax.set_xticks(range(len(scenarios)), scenarios, fontsize=8)
    ax.set_yticks(range(len(frameworks)), frameworks, fontsize=8)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(
        "cells per framework and scenario: the fidelity of what was read back\n"
        "(ok cells) and every other outcome; colour: the worst",
        fontsize=9,
    )
    legend = [Patch(facecolor=STATUS_COLOURS.get(s, UNKNOWN_STATUS_COLOUR), label=s) for s in seen]
    if legend:
        fig.legend(handles=legend, loc="outside upper center", fontsize=7, ncols=len(legend))
    title = "fidelity and outcomes"
    return _save(fig, out, f"{section.slug}-fidelity", prov, "fidelity", "", title)


def all_images(
    section: Section, rows_by_scenario: dict[str, list[Row]], out: Path, prov: Provenance
) -> list[Image]:
    """Every figure of a section, scenario by scenario, then the fidelity matrix."""
    images = []
    for scenario in section.timed_scenarios():
        rows = rows_by_scenario[scenario]
        images.append(bars(section, scenario, rows, out, prov))
        for param in scaling_params(section, scenario):
            images.append(scaling(section, scenario, param, rows, out, prov))
        if S.READ_NS not in analysis.headlines(section, scenario):
            # the writer's phases are not what a reading scenario's figures are made of
            images.append(phases(section, scenario, rows, out, prov))
        images.append(resources(section, scenario, rows, out, prov))
    images.append(fidelity(section, out, prov))
    return images
