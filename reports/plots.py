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
MAX_BARS_PER_ROW = 40  # more bars than this in one row of a figure cannot be read
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


def _chunks(configs: Sequence[str], n_frameworks: int) -> list[list[str]]:
    """Configurations split into rows of at most about MAX_BARS_PER_ROW bars."""
    per_row = max(1, min(len(configs), MAX_BARS_PER_ROW // max(n_frameworks, 1)))
    return [list(configs[i : i + per_row]) for i in range(0, len(configs), per_row)]


def _legend(
    fig: Figure, section: Section, frameworks: Sequence[str], kind: str,
    floors: Sequence[str] = (),
) -> None:  # fmt: skip
    """One legend for the whole figure, above it: framework and version (floors as dashed
    lines)."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    look = styles(section)
    versions = section.versions()
    handles: list[Any] = []
    for name in frameworks:
        st = look[name]
        label = f"{name} {versions[name]}"
        if kind == "line":
            handles.append(
                Line2D(
                    [],
                    [],
                    color=st.colour,
                    linestyle=st.linestyle,
                    marker=st.marker,
                    markersize=4,
                    label=label,
                )
            )
        else:
            handles.append(
                Patch(facecolor=st.colour, hatch=st.hatch, edgecolor="white", label=label)
            )
    for name in floors:
        label = f"{name} {versions[name]} (floor)"
        handles.append(Line2D([], [], color=look[name].colour, linestyle="--", label=label))
    # as many columns as fit the figure's width (about 0.06 inch a character at size 7, plus
    # the swatch), so long version strings are never cut at the edges
    column_inches = 0.6 + 0.06 * max((len(h.get_label()) for h in handles), default=1)
    fits = max(1, int(fig.get_figwidth() / column_inches))
    fig.legend(
        handles=handles, fontsize=7, ncols=min(6, fits, max(len(handles), 1)),
        loc="outside upper center",
    )  # fmt: skip


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


def _fail_label(
    ax: Axes, x: float, text: str, boxed: bool = False, colour: str = "#b71c1c"
) -> None:
    """A vertical label at the foot of a bar's slot: outcomes other than ok stay visible."""
    box = {"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1} if boxed else None
    ax.text(
        x,
        0.03,
        text,
        transform=ax.get_xaxis_transform(),
        rotation=90,
        ha="center",
        va="bottom",
        fontsize=7,
        color=colour,
        bbox=box,
    )


class _Grouped(NamedTuple):
    """What a grouped-bar figure is laid out from: configurations in rows of bars."""

    configs: list[str]
    frameworks: list[str]
    look: dict[str, Style]
    by_key: dict[tuple[str, str], Row]
    chunks: list[list[str]]
    per_row: int
    width: float  # inches one row of bars needs (before the figure's own minimum)


def _grouped(section: Section, scenario: str, rows: Sequence[Row]) -> _Grouped:
    configs = list(section.configs(scenario))
    frameworks = [f for f in section.frameworks() if any(r.framework == f for r in rows)]
    chunks = _chunks(configs, len(frameworks))
    per_row = len(chunks[0])
    return _Grouped(
        configs, frameworks, styles(section), {(r.config, r.framework): r for r in rows},
        chunks, per_row, min(15.0, 1.2 + 0.3 * per_row * (len(frameworks) + 1)),
    )  # fmt: skip


def bars(
    section: Section, scenario: str, rows: Sequence[Row], out: Path, prov: Provenance
) -> Image:
    """Grouped bars of the median headline per configuration and framework, log axis; the
    floors are dashed lines across each group: the limit, not a contender."""
    _, everyone, look, by_key, chunks, per_row, width = _grouped(section, scenario, rows)
    floors = [f for f in everyone if any(r.framework == f and r.role == S.FLOOR for r in rows)]
    frameworks = [f for f in everyone if f not in floors]
    what = headline_words(section, scenario)
    width_in = max(6.5, width)
    fig = _new_figure(width_in, 0.9 + 3.2 * len(chunks), prov)
    axes = fig.subplots(len(chunks), 1, sharey=True, squeeze=False)[:, 0]
    width = 0.8 / max(len(frameworks), 1)
    lowest = min((r.summary.low for r in rows if r.summary and r.summary.low > 0), default=1e9)
    for ax, chunk in zip(axes, chunks, strict=True):
        for i, config in enumerate(chunk):
            for floor in floors:
                row = by_key.get((config, floor))
                if row is not None and row.summary is not None:
                    level = _seconds(row.summary.median)
                    ax.hlines(level, i - 0.45, i + 0.45, colors=look[floor].colour,
                              linestyles="--", linewidth=1.1)  # fmt: skip
        for j, framework in enumerate(frameworks):
            xs, heights, err_lo, err_hi = [], [], [], []
            for i, config in enumerate(chunk):
                row = by_key.get((config, framework))
                x = i + (j - (len(frameworks) - 1) / 2) * width
                if row is None:
                    continue
                if row.summary is None:
                    # a framework with no successful cell keeps its slot, named by its outcome
                    _fail_label(ax, x, f"{framework}: {_status_label(row)}")
                    continue
                s = row.summary
                xs.append(x)
                heights.append(_seconds(s.median))
                err_lo.append(_seconds(s.median - s.low))
                err_hi.append(_seconds(s.high - s.median))
                if row.unranked:  # shown, never ranked: say why, on the bar
                    _fail_label(ax, x, f"not ranked: {row.unranked}", boxed=True)
                elif row.n_ok < row.n:  # a bar over fewer cells than ran: say why, on the bar
                    _fail_label(ax, x, f"{row.n_ok}/{row.n} ok: {row.status()}", boxed=True)
            st = look[framework]
            ax.bar(
                xs,
                heights,
                width * 0.92,
                yerr=[err_lo, err_hi],
                capsize=2,
                color=st.colour,
                hatch=st.hatch,
                edgecolor="white",
                linewidth=0.3,
                error_kw={"elinewidth": 0.8},
            )
        ax.set_yscale("log")
        ax.set_xlim(-0.5, per_row - 0.5)
        ax.set_xticks(range(len(chunk)), chunk, fontsize=8)
        ax.set_ylabel(f"{what} seconds per cell (log)", fontsize=8)
        ax.grid(axis="y", which="both", alpha=0.25)
        ax.set_axisbelow(True)  # grid lines behind the bars, not across them
    axes[0].set_ylim(bottom=_seconds(lowest) / 2)
    axes[0].set_title(
        f"{scenario}: median {what} time per cell\nwhiskers: 95% bootstrap "
        "interval of the median (the range when n < 5)",
        fontsize=9,
    )
    _legend(fig, section, frameworks, "bar", floors)
    title = f"{scenario}: median {what} time per framework"
    return _save(fig, out, f"{section.slug}-bars-{scenario}", prov, "bars", scenario, title)


def scaling_params(section: Section, scenario: str) -> list[str]:
    """The scenario's numeric parameters that take two or more values."""
    values: dict[str, set[float]] = {}
    for config in section.configs(scenario):
        for name, value in section.config_values(scenario, config).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                values.setdefault(name, set()).add(float(value))
    return [name for name, seen in values.items() if len(seen) >= 2]


def scaling(
    section: Section, scenario: str, param: str, rows: Sequence[Row], out: Path, prov: Provenance
) -> Image:
    """The median headline against one parameter, log-log, a panel per value of the others."""
    look = styles(section)
    panels: dict[tuple[tuple[str, Any], ...], list[tuple[float, str]]] = {}
    for config in section.configs(scenario):
        values = section.config_values(scenario, config)
        if param not in values:
            continue
        others = tuple((k, v) for k, v in values.items() if k != param)
        panels.setdefault(others, []).append((float(values[param]), config))
    n = len(panels)
    cols = min(n, 3)
    rows_n = math.ceil(n / cols)
    fig = _new_figure(max(6.5, 4.4 * cols), 0.9 + 3.6 * rows_n, prov)
    by_key = {(r.config, r.framework): r for r in rows}
    drawn: list[str] = []
    for k, (others, points) in enumerate(panels.items()):
        ax: Axes = fig.add_subplot(rows_n, cols, k + 1)
        missing: list[str] = []
        for framework in section.frameworks():
            xs, ys, lo, hi = [], [], [], []
            for x, config in sorted(points):
                row = by_key.get((config, framework))
                if row is None:
                    continue
                if row.summary is None:
                    missing.append(f"{framework}: {_status_label(row)} at {x:g}")
                    continue
                s = row.summary
                xs.append(x)
                ys.append(_seconds(s.median))
                lo.append(_seconds(s.median - s.low))
                hi.append(_seconds(s.high - s.median))
            if not xs:
                continue
            if framework not in drawn:
                drawn.append(framework)
            st = look[framework]
            ax.errorbar(
                xs,
                ys,
                yerr=[lo, hi],
                marker=st.marker,
                markersize=3.5,
                capsize=2,
                color=st.colour,
                linestyle=st.linestyle,
                linewidth=1.2,
            )
        if missing:  # points that could not be drawn are named in the panel, never dropped
            ax.text(
                0.99,
                0.01,
                "no ok cell:\n" + "\n".join(missing),
                transform=ax.transAxes,
                ha="right",
                va="bottom",
                fontsize=6,
                color="#b71c1c",
                bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1},
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(f"{param} (log)", fontsize=8)
        ax.set_ylabel(f"median {headline_words(section, scenario)} seconds (log)", fontsize=8)
        ax.grid(which="both", alpha=0.25)
        subtitle = config_label(others) if others else ""
        ax.set_title(
            f"{scenario}: time against {param}" + (f", {subtitle}" if subtitle else ""), fontsize=9
        )
    order = [f for f in section.frameworks() if f in drawn]
    _legend(fig, section, order, "line")
    title = f"{scenario}: scaling with {param}"
    stem = f"{section.slug}-scaling-{scenario}-{param}"
    return _save(fig, out, stem, prov, "scaling", scenario, title)


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


def phases(
    section: Section, scenario: str, rows: Sequence[Row], out: Path, prov: Provenance
) -> Image:
    """Stacked shares of the lifecycle phases per framework, one panel per configuration."""
    configs = section.configs(scenario)
    frameworks = section.frameworks()
    keys = [*PHASE_LABELS, REST]
    labels = [*PHASE_LABELS.values(), REST]
    by_key = {(r.config, r.framework): r for r in rows}
    cols = 2 if len(configs) > 3 else 1  # many configurations: two columns, half the height
    rows_n = math.ceil(len(configs) / cols)
    fig = _new_figure(8.0 * cols, 0.6 + rows_n * (0.45 + 0.24 * len(frameworks)), prov)
    grid = fig.subplots(rows_n, cols, squeeze=False)
    axes = [grid[i // cols, i % cols] for i in range(len(configs))]
    for extra in range(len(configs), rows_n * cols):  # an odd count leaves one panel empty
        grid[extra // cols, extra % cols].set_axis_off()
    for ax, config in zip(axes, configs, strict=True):
        present = [f for f in frameworks if (config, f) in by_key]
        for y, framework in enumerate(present):
            medians = phase_medians(section, scenario, config, framework)
            row = by_key[(config, framework)]
            if not medians or row.summary is None:
                ax.text(
                    1,
                    y,
                    f"no ok cell: {_status_label(row)}",
                    va="center",
                    fontsize=7,
                    color="#b71c1c",
                )
                continue
            parts = [0.0 if math.isnan(medians.get(k, math.nan)) else medians[k] for k in keys]
            total = sum(parts) or 1.0
            left = 0.0
            for i, part in enumerate(parts):
                share = 100 * part / total
                if keys[i] not in medians:  # not a phase of this schema's headline
                    continue
                ax.barh(
                    y,
                    share,
                    left=left,
                    color=PHASE_COLOURS[i],
                    height=0.7,
                    label=labels[i] if y == 0 else None,
                )
                left += share
            note = f"{stats.format_number(_seconds(row.summary.median))} s"
            if row.n_ok < row.n:  # a median over fewer cells than ran: say why
                note += f" ({row.status()})"
            ax.text(101, y, note, va="center", fontsize=7)
        ax.set_yticks(range(len(present)), present, fontsize=8)
        ax.set_ylim(len(present) - 0.5, -0.5)
        ax.set_xlim(0, 128)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.set_title(f"{scenario}, {config}", fontsize=9, loc="left")
    for ax in axes[-cols:]:
        ax.set_xlabel(
            "share of the phases' median times (%); right: median "
            f"{headline_words(section, scenario)} seconds"
        )
    handles, names = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        more_h, more_n = ax.get_legend_handles_labels()
        for h, n in zip(more_h, more_n, strict=True):
            if n not in names:
                handles.append(h)
                names.append(n)
    if handles:
        fig.legend(handles, names, loc="outside upper center", ncols=len(names), fontsize=7)
    title = f"{scenario}: where the time goes"
    return _save(fig, out, f"{section.slug}-phases-{scenario}", prov, "phases", scenario, title)


RESOURCES = (
    (S.PEAK_RSS_BYTES, "peak memory (summed RSS of the writer's tree and its server)"),
    (S.DISK_BYTES, "bytes left on disk"),
)


def resources(
    section: Section, scenario: str, rows: Sequence[Row], out: Path, prov: Provenance
) -> Image:
    """Median peak memory and bytes left on disk per configuration and framework, log axes."""
    configs, frameworks, look, by_key, chunks, per_row, width = _grouped(section, scenario, rows)
    side_by_side = len(chunks) == 1 and per_row * len(frameworks) <= 20
    panel_w = max(3.2, width)
    if side_by_side:
        fig = _new_figure(max(8.0, 2 * panel_w), 4.0, prov)
        grid = fig.subplots(1, 2, squeeze=False)
        panels = [(grid[0, k], configs, column, what) for k, (column, what) in enumerate(RESOURCES)]
    else:
        fig = _new_figure(max(6.5, panel_w), 0.9 + 3.0 * 2 * len(chunks), prov)
        grid = fig.subplots(2 * len(chunks), 1, squeeze=False)
        panels = [
            (grid[k * len(chunks) + c, 0], chunk, column, what)
            for k, (column, what) in enumerate(RESOURCES)
            for c, chunk in enumerate(chunks)
        ]
    width = 0.8 / max(len(frameworks), 1)
    # one scale per metric across its panels, so equal heights mean equal values
    positive: dict[str, list[float]] = {column: [] for column, _ in RESOURCES}
    for ax, chunk, column, what in panels:
        for j, framework in enumerate(frameworks):
            xs, ys = [], []
            for i, config in enumerate(chunk):
                row = by_key.get((config, framework))
                if row is None:
                    continue
                x = i + (j - (len(frameworks) - 1) / 2) * width
                value = analysis.median_of(section, scenario, config, framework, column)
                if row.summary is None or math.isnan(value):
                    _fail_label(ax, x, f"{framework}: {_status_label(row)}")
                    continue
                if value <= 0:  # a log axis cannot show zero: say it
                    _fail_label(ax, x, f"{framework}: 0 B", colour="black")
                    continue
                xs.append(x)
                ys.append(value / 1e6)
                positive[column].append(value / 1e6)
            st = look[framework]
            ax.bar(
                xs,
                ys,
                width * 0.92,
                color=st.colour,
                hatch=st.hatch,
                edgecolor="white",
                linewidth=0.3,
            )
        ax.set_xlim(-0.5, len(chunk if side_by_side else chunks[0]) - 0.5)
        ax.set_xticks(range(len(chunk)), chunk, fontsize=7)
        ax.set_ylabel("MB (10^6 bytes, log)", fontsize=8)
        ax.set_title(f"{scenario}: median {what}", fontsize=9)
        ax.grid(axis="y", which="both", alpha=0.25)
        ax.set_axisbelow(True)  # grid lines behind the bars, not across them
    for ax, _, column, _ in panels:
        if positive[column]:
            ax.set_yscale("log")
            ax.set_ylim(min(positive[column]) / 3, max(positive[column]) * 1.5)
    _legend(fig, section, frameworks, "bar")
    title = f"{scenario}: memory and disk"
    stem = f"{section.slug}-resources-{scenario}"
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
