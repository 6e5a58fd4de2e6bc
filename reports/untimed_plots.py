"""Figures of loop_overhead, long_run and crash: the overhead of each framework as sorted,
directly labelled bars, memory over the steps of a long run as labelled lines, and the share
of the logged values that survived a kill as sorted, directly labelled bars.

Drawn like reports.plots (Agg, provenance footer, one colour per framework), and like it
imports matplotlib only inside the functions that draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from reports import plots, stats
from reports.analysis import Section
from reports.plots import BOX, FAILED_COLOUR, FLAGGED_ALPHA, LIMIT_COLOUR, Image
from reports.provenance import Provenance
from reports.untimed import (
    CRASH,
    FLUSHED_SHARE,
    LONG_RUN,
    LOOP_OVERHEAD,
    MB,
    SURVIVED_SHARE,
    Measured,
    by_config,
    count,
    percent,
)
from results import schema as S

if TYPE_CHECKING:
    from matplotlib.axes import Axes

LABEL_INCHES = 7.2  # of a panel's 8 inches, what its bars and their labels share


def _status(m: Measured) -> str:
    bad = [o for o in m.row.outcomes if o != S.OK]
    return "/".join(o or "no outcome" for o in bad) or "no data"


def _bar_axes(ax: Axes, title: str, xlabel: str) -> None:
    """A panel of labelled horizontal bars: no y ticks (the labels name the bars), a light
    grid along x behind them."""
    ax.set_yticks([])
    ax.tick_params(labelsize=8)
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_title(title, fontsize=9, loc="left")
    ax.grid(axis="x", alpha=0.25)
    ax.set_axisbelow(True)


def _name_failed(ax: Axes, failed: Sequence[Measured], first: int) -> None:
    """Frameworks without a figure, one a bar's place from `first` on: named by their
    outcomes, never dropped."""
    for k, m in enumerate(failed):
        ax.text(0.01, first + k, f"{m.framework}: {_status(m)}", va="center", fontsize=8,
                color=FAILED_COLOUR, transform=ax.get_yaxis_transform(), bbox=BOX)  # fmt: skip


def overhead(section: Section, rows: Sequence[Measured], out: Path, prov: Provenance) -> Image:
    """Per configuration, one horizontal bar per framework of its median overhead %, least
    at the top, whiskers the least and most of any pair of blocks; each bar labelled with
    the framework, the overhead and the p99 log() latency; floors as dashed lines, the limit."""
    look = plots.styles(section)
    groups = by_config(list(rows))
    racing = {c: [m for m in ms if m.row.role != S.FLOOR] for c, ms in groups.items()}
    fig, axes = plots.panel_grid([len(ms) for ms in racing.values()], 1, plots.BAR_WIDTH, prov)
    for ax, (config, ms) in zip(axes, groups.items(), strict=True):
        shown = [m for m in racing[config] if not math.isnan(m.medians[S.OVERHEAD_PCT])]
        failed = [m for m in racing[config] if m not in shown]
        shown.sort(key=lambda m: (bool(m.flag()), m.medians[S.OVERHEAD_PCT]))
        values = [m.medians[S.OVERHEAD_PCT] for m in shown]
        lows = [_or(m.medians[S.OVERHEAD_MIN_PCT], v) for m, v in zip(shown, values, strict=True)]
        highs = [_or(m.medians[S.OVERHEAD_MAX_PCT], v) for m, v in zip(shown, values, strict=True)]
        floors = [
            m for m in ms if m.row.role == S.FLOOR and not math.isnan(m.medians[S.OVERHEAD_PCT])
        ]
        reach = [0.0, *lows, *highs, *(m.medians[S.OVERHEAD_PCT] for m in floors)]
        left, right = min(reach), max(reach)
        span = (right - left) or 1.0
        labels = [_bar_label(m) for m in shown]
        room = plots.label_room(labels, LABEL_INCHES)
        lowest = min(left, 0.0) - 0.03 * span
        highest = lowest + (right - lowest) / (1 - room)
        for y, (m, value, low, high) in enumerate(zip(shown, values, lows, highs, strict=True)):
            st, flag = look[m.framework], m.flag()
            ax.barh(
                y, value, height=0.7, color=st.colour, edgecolor=st.colour,
                alpha=FLAGGED_ALPHA if flag else 1.0, hatch="xx" if flag else st.hatch,
                xerr=[[max(value - low, 0.0)], [max(high - value, 0.0)]], capsize=2,
                error_kw={"elinewidth": 0.8, "ecolor": "#333333"},
            )  # fmt: skip
            ax.text(max(high, value, 0.0) + 0.01 * (highest - lowest), y, labels[y],
                    va="center", fontsize=8, color=FAILED_COLOUR if flag else "black")  # fmt: skip
        _name_failed(ax, failed, len(shown))
        for m in floors:
            level = m.medians[S.OVERHEAD_PCT]
            ax.axvline(level, color=LIMIT_COLOUR, linestyle="--", linewidth=1.1)
        if floors:  # one label for them all: floors lie close together, labels would overlap
            named = ", ".join(f"{m.framework} {_pct(m.medians[S.OVERHEAD_PCT])}" for m in floors)
            at = max(m.medians[S.OVERHEAD_PCT] for m in floors)
            ax.text(at, -0.6, f" the limit: {named}", fontsize=7, va="bottom",
                    color=LIMIT_COLOUR)  # fmt: skip
        ax.axvline(0, color="#555555", linewidth=0.8)
        ax.set_ylim(max(len(shown) + len(failed), 1) - 0.5, -0.5 - (0.6 if floors else 0.0))
        ax.set_xlim(lowest, highest)
        _bar_axes(ax, f"{LOOP_OVERHEAD}, {config}",
                  "overhead %: tracked loop's wall time / untracked - 1")  # fmt: skip
    fig.suptitle(
        "median overhead of tracking a loop (least first); whiskers: the least and most of "
        "any pair of blocks",
        fontsize=9,
    )
    title = f"{LOOP_OVERHEAD}: overhead per framework"
    stem = f"{section.slug}-overhead-{LOOP_OVERHEAD}"
    return plots._save(fig, out, stem, prov, "overhead", LOOP_OVERHEAD, title)


def _bar_label(m: Measured) -> str:
    """`tracker  +2.00%  (log() p99 10.0 µs)`, and why it is not ranked when it is not."""
    value, p99 = m.medians[S.OVERHEAD_PCT], m.medians[S.LOG_P99_NS]
    text = f"{m.framework}  {_pct(value)}"
    if not math.isnan(p99):
        text += f"  (log() p99 {stats.format_number(p99 / 1e3)} µs)"
    flag = m.flag()
    return f"{text}  not ranked: {flag}" if flag else text


def _or(value: float, default: float) -> float:
    return default if math.isnan(value) else value


def _pct(value: float) -> str:
    return f"{'+' if value > 0 else ''}{stats.format_number(value)}%"


def memory(section: Section, rows: Sequence[Measured], out: Path, prov: Provenance) -> Image:
    """Per configuration, the writer's memory over the steps, one line per framework,
    labelled at its end with the framework and its last value; floors dashed: the limit."""
    from matplotlib.ticker import FuncFormatter

    look = plots.styles(section)
    groups = by_config(list(rows))
    fig = plots._new_figure(8.0, 0.4 + 3.6 * len(groups), prov)
    axes = fig.subplots(len(groups), 1, squeeze=False)[:, 0]
    for ax, (config, ms) in zip(axes, groups.items(), strict=True):
        drawn = [m for m in ms if m.series]
        missing = [m for m in ms if not m.series]
        sizes = [b / MB for m in drawn for _, b in m.series]
        low, high = (min(sizes), max(sizes)) if sizes else (1.0, 10.0)
        log_y = low > 0 and high / low > 5
        if log_y:
            ax.set_yscale("log")
            ax.set_ylim(low / 1.3, high * 1.3)
        else:
            pad = (high - low) * 0.1 or 1.0
            ax.set_ylim(max(low - pad, 0.0), high + pad)
        ends = []
        for m in drawn:
            st, floor = look[m.framework], m.row.role == S.FLOOR
            colour = LIMIT_COLOUR if floor else st.colour
            steps = [s for s, _ in m.series]
            mb = [b / MB for _, b in m.series]
            ax.plot(steps, mb, color=colour, linestyle="--" if floor else st.linestyle,
                    linewidth=1.1 if floor else 1.4,
                    alpha=FLAGGED_ALPHA + 0.2 if m.flag() else 1.0)  # fmt: skip
            text = f"{m.framework} {stats.format_number(mb[-1])} MB"
            if floor:
                text += " (the limit)"
            if m.flag():
                text += f" ({m.flag()})"
            ends.append((mb[-1], text, colour, bool(m.flag())))
        plots.label_ends(ax, ends, log_y)
        if missing:
            ax.text(0.01, 0.98, "no memory series:\n" + "\n".join(
                f"{m.framework}: {_status(m)}" for m in missing), transform=ax.transAxes,
                ha="left", va="top", fontsize=7, color=FAILED_COLOUR)  # fmt: skip
        ax.set_xlabel("step", fontsize=8)
        ax.set_ylabel("RSS of the writer's processes, MB" + (" (log)" if log_y else ""),
                      fontsize=8)  # fmt: skip
        ax.set_title(f"{LONG_RUN}, {config}: memory over the run", fontsize=9, loc="left")
        ax.grid(which="both", alpha=0.25)
        ax.tick_params(labelsize=8)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(FuncFormatter(_minor))
    title = f"{LONG_RUN}: memory over the steps"
    return plots._save(fig, out, f"{section.slug}-memory-{LONG_RUN}", prov, "memory", LONG_RUN,
                       title)  # fmt: skip


def _minor(value: float, _: object) -> str:
    """A minor tick's label on a log axis: 2, 3 and 5 times a power of ten only."""
    if value <= 0:
        return ""
    lead = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if lead in (2, 3, 5) else ""


def survival(section: Section, rows: Sequence[Measured], out: Path, prov: Provenance) -> Image:
    """Per configuration, one horizontal bar per framework of the share of its logged values
    a new process read back after the kill (most at the top, those whose data is not a clean
    result after the others) over a grey bar of all it logged, a black tick at the share
    flushed before the kill; each bar labelled with the framework and survived/logged; the
    floors a dashed line, the limit."""
    from matplotlib.ticker import PercentFormatter

    look = plots.styles(section)
    groups = by_config(list(rows))
    floors = {c: [m for m in ms if m.row.role == S.FLOOR] for c, ms in groups.items()}
    counts = [len(ms) - len(floors[c]) + bool(floors[c]) for c, ms in groups.items()]
    fig, axes = plots.panel_grid(counts, 1, plots.BAR_WIDTH, prov)
    # one width for the labels of every panel, so that 100% lines up down the figure
    right = 1.0 / (1 - plots.label_room([survival_label(m) for m in rows], LABEL_INCHES))
    for ax, (config, ms) in zip(axes, groups.items(), strict=True):
        racing = [m for m in ms if m not in floors[config]]
        shown = [m for m in racing if not math.isnan(m.medians[SURVIVED_SHARE])]
        failed = [m for m in racing if m not in shown]
        shown.sort(key=lambda m: (bool(m.flag()), -m.medians[SURVIVED_SHARE]))
        for y, m in enumerate(shown):
            st, flag = look[m.framework], m.flag()
            ax.barh(y, 1.0, height=0.7, color="#eeeeee", edgecolor="#bbbbbb", linewidth=0.5)
            ax.barh(y, m.medians[SURVIVED_SHARE], height=0.7, color=st.colour,
                    edgecolor=st.colour, alpha=FLAGGED_ALPHA if flag else 1.0,
                    hatch="xx" if flag else st.hatch)  # fmt: skip
            flushed = m.medians[FLUSHED_SHARE]
            if flushed > 0:
                ax.plot([flushed, flushed], [y - 0.45, y + 0.45], color="black", linewidth=2.2,
                        solid_capstyle="butt")  # fmt: skip
            ax.text(1.01, y, survival_label(m), va="center", fontsize=8,
                    color=FAILED_COLOUR if flag else "black")  # fmt: skip
        _name_failed(ax, failed, len(shown))
        _survival_limit(ax, floors[config])
        ax.set_ylim(max(len(shown) + len(failed), 1) - 0.5, -0.5 - (0.6 if floors[config] else 0))
        ax.set_xlim(0.0, right)
        ax.set_xticks([0.0, 0.25, 0.5, 0.75, 1.0])
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        _bar_axes(ax, f"{CRASH}, {config}",
                  "values read back after the kill, as a share of those logged")  # fmt: skip
    fig.suptitle(
        "what survived a SIGKILL (most first): coloured, read back; grey, logged but lost; "
        "black tick, flushed before the kill",
        fontsize=9,
    )
    title = f"{CRASH}: values that survived the kill per framework"
    return plots._save(fig, out, f"{section.slug}-survival-{CRASH}", prov, "survival", CRASH,
                       title)  # fmt: skip


def _survival_limit(ax: Axes, floors: Sequence[Measured]) -> None:
    """The floors' shares survived as dashed lines, named once above the bars: the limit."""
    if not floors:
        return
    named = []
    for m in floors:
        share = m.medians[SURVIVED_SHARE]
        if math.isnan(share):
            named.append(f"{m.framework}: {_status(m)}")
            continue
        ax.axvline(share, color=LIMIT_COLOUR, linestyle="--", linewidth=1.1)
        v = m.medians
        named.append(f"{m.framework} {count(v[S.SURVIVED_VALUES])}/"
                     f"{count(v[S.LOGGED_VALUES])} ({percent(share)}%)")  # fmt: skip
    levels = [
        m.medians[SURVIVED_SHARE] for m in floors if not math.isnan(m.medians[SURVIVED_SHARE])
    ]
    anchor = min(levels, default=0.0)
    ax.text(anchor, -0.6, f"the limit: {', '.join(named)} ", fontsize=7, va="bottom",
            ha="right" if anchor > 0.5 else "left", color=LIMIT_COLOUR)  # fmt: skip


def survival_label(m: Measured) -> str:
    """`tracker  900/1,000 survived (90.0%), 800 flushed`, with what is wrong when it is
    (a store that does not open says why nothing was checked)."""
    v = m.medians
    text = (f"{m.framework}  {count(v[S.SURVIVED_VALUES])}/{count(v[S.LOGGED_VALUES])} "
            f"survived ({percent(v[SURVIVED_SHARE])}%)")  # fmt: skip
    if v[S.FLUSHED_VALUES] > 0:
        text += f", {count(v[S.FLUSHED_VALUES])} flushed"
    else:
        text += ", no flush()" if m.no_flush else ", nothing flushed"
    flag = m.flag()
    if m.store_opens is False:
        text += ", store does not open"
        flag = "" if flag == S.NOT_CHECKED.replace("_", " ") else flag
    return f"{text}: {flag}" if flag else text


def images(
    section: Section, rows: dict[str, list[Measured]], out: Path, prov: Provenance
) -> list[Image]:
    """The figures of the scenarios in `rows` that have any."""
    found = []
    if rows.get(LOOP_OVERHEAD):
        found.append(overhead(section, rows[LOOP_OVERHEAD], out, prov))
    if rows.get(LONG_RUN):
        found.append(memory(section, rows[LONG_RUN], out, prov))
    if rows.get(CRASH):
        found.append(survival(section, rows[CRASH], out, prov))
    return found
