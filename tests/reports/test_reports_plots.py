"""The timed scenarios' figures, read from their matplotlib objects: bars in the order of
their medians, each named and labelled, no legend to decode, the floors a line (the limit);
scaling lines labelled at their end; the phases in the order of the bars.

golden2.db's alpha-2 (tests/reports/data/make_golden.py), in startup: tracker 50 ms (the
reference), mltraq 1.13 s, wandb 21 ms with wrong data, mlflow 4.85 s over 2 ok cells of 3,
the sqlite floor 31 ms; in high_frequency (n_values 100, 1000, 10000) mltraq is unsupported
at 10000.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from reports import analysis, plots
from reports.analysis import Row, Section
from reports.provenance import Provenance, provenance
from results.cells import load

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


@pytest.fixture(scope="module")
def alpha(golden2_db: Path) -> Section:
    (section,) = analysis.sections(load(str(golden2_db)), ["alpha-2"])
    return section


@pytest.fixture(scope="module")
def rows(alpha: Section) -> dict[str, list[Row]]:
    return {sc: analysis.rows(alpha, sc) for sc in alpha.timed_scenarios()}


@pytest.fixture(scope="module")
def prov(alpha: Section) -> Provenance:
    return provenance(alpha, "trackbench report", "2026-12-04 19:00 UTC")


def _bars(ax: Axes) -> list[tuple[float, float]]:
    """The (y, width) of each horizontal bar of a panel, top down."""
    from matplotlib.patches import Rectangle

    found = [
        (p.get_y() + p.get_height() / 2, p.get_width())
        for p in ax.patches
        if isinstance(p, Rectangle)
    ]
    return sorted(found)


def _ticks(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.get_yticklabels()]


def _texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def _median_s(row: Row) -> float:
    assert row.summary is not None
    return row.summary.median / 1e9


def _no_legend(fig: Figure) -> None:
    assert not fig.legends
    assert all(ax.get_legend() is None for ax in fig.axes)


def test_bars_are_in_the_order_of_their_medians(
    alpha: Section, rows: dict[str, list[Row]], prov: Provenance
) -> None:
    fig = plots.bars_figure(alpha, "high_frequency", rows["high_frequency"], prov)
    _no_legend(fig)
    configs = alpha.configs("high_frequency")
    assert len(fig.axes) == len(configs) == 3
    for ax, config in zip(fig.axes, configs, strict=True):
        assert ax.get_title(loc="left") == config
        mine = [r for r in rows["high_frequency"] if r.config == config]
        assert not any(r.unranked and r.summary for r in mine)  # all with an ok cell ranked
        ranked = sorted((r for r in mine if r.summary), key=_median_s)
        # one bar a framework with an ok cell, its length its median, top down by median
        assert [w for _, w in _bars(ax)] == pytest.approx([_median_s(r) for r in ranked])
        assert _ticks(ax)[: len(ranked)] == [r.framework for r in ranked]
        # every framework named on the left, one without an ok cell last and saying why
        assert sorted(_ticks(ax)) == sorted(r.framework for r in mine)
    last = fig.axes[-1]
    assert _ticks(last)[-1] == "mltraq"
    assert "no ok cell: unsupported" in _texts(last)


def test_each_bar_is_labelled_with_its_time(
    alpha: Section, rows: dict[str, list[Row]], prov: Provenance
) -> None:
    from matplotlib.text import Annotation

    fig = plots.bars_figure(alpha, "startup", rows["startup"], prov)
    (ax,) = fig.axes
    # the ranked by median, then those shown but not ranked, pale; the floor is no bar
    assert _ticks(ax) == ["tracker", "mltraq", "wandb", "mlflow"]

    labels = [t.get_text() for t in ax.texts if isinstance(t, Annotation)]
    assert labels == [
        "0.0500 s  (the reference)",
        "1.13 s  (22.6x the reference)",
        "0.0210 s  not ranked: wrong data",
        "4.85 s  not ranked: 2 ok < 3 (crash 1/3)",
    ]
    assert ax.get_xscale() == "log"  # 21 ms to 4.85 s: over 30 times
    # the unranked are drawn pale, behind a hatch
    alphas = [p.get_alpha() for p in sorted(ax.patches, key=lambda p: p.get_y())]
    assert alphas == [1.0, 1.0, plots.FLAGGED_ALPHA, plots.FLAGGED_ALPHA]


def test_floors_are_a_line_the_limit(
    alpha: Section, rows: dict[str, list[Row]], prov: Provenance
) -> None:
    fig = plots.bars_figure(alpha, "startup", rows["startup"], prov)
    (ax,) = fig.axes
    assert "sqlite" not in _ticks(ax)
    (line,) = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert list(line.get_xdata()) == pytest.approx([0.031, 0.031])
    assert line.get_color() == plots.LIMIT_COLOUR
    assert " the limit: sqlite 0.0310 s " in _texts(ax)


def test_small_spans_are_drawn_from_zero() -> None:
    from matplotlib.figure import Figure

    assert not plots.spans_decades([0.06, 0.08, 0.48])
    assert plots.spans_decades([0.021, 4.85])
    ax = Figure().add_subplot()
    shown = [
        plots.Bar("b", 0.3, 0.25, 0.35, "0.300 s", "#000000"),
        plots.Bar("a", 0.1, 0.09, 0.11, "0.100 s", "#000000"),
        plots.Bar("c", math.nan, math.nan, math.nan, "no ok cell: crash", plots.FAILED_COLOUR),
    ]
    limits = [plots.Limit(0.05, "floor 0.0500 s"), plots.Limit(0.06, "other 0.0600 s")]
    plots.hbars(ax, shown, limits, 6.0, "seconds")
    assert ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0
    assert ax.get_xlabel() == "seconds"
    assert _ticks(ax) == ["b", "a", "c"]  # in the order given
    assert len(_bars(ax)) == 2
    # the floors' label, right of both their lines, crosses neither
    (limit,) = [t for t in ax.texts if "the limit" in t.get_text()]
    assert limit.get_text() == " the limit: floor 0.0500 s, other 0.0600 s "
    assert (limit.get_position()[0], limit.get_horizontalalignment()) == (0.06, "left")
    # the labels fit: the axis reaches past the longest whisker
    assert ax.get_xlim()[1] > 0.35 / (1 - plots.label_room(["0.300 s"], 6.0)) - 1e-9


def test_scaling_lines_are_labelled_at_their_end(
    alpha: Section, rows: dict[str, list[Row]], prov: Provenance
) -> None:
    fig = plots.scaling_figure(alpha, "high_frequency", "n_values", rows["high_frequency"], prov)
    _no_legend(fig)
    (ax,) = fig.axes
    assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
    ends = {t.get_text(): t for t in ax.texts if t.get_position()[0] == 1.01}
    by_end = {r.framework: r for r in rows["high_frequency"] if r.config == "n_values=10000"}
    assert set(ends) == {
        "tracker 0.0625 s",
        "mlflow 65.2 s",
        "mltraq 1.12 s",  # its last point, at n_values=1000
    }
    assert by_end["mltraq"].summary is None
    assert any("mltraq: unsupported at 10000" in t for t in _texts(ax))
    # each label at the height its line ends, in the line's colour
    colours = {ln.get_color() for ln in ax.get_lines()}
    assert {t.get_color() for t in ends.values()} <= colours
    heights = {k.split()[0]: t.get_position()[1] for k, t in ends.items()}
    assert heights["tracker"] < heights["mltraq"] < heights["mlflow"]


def test_phases_are_in_the_order_of_the_bars(
    alpha: Section, rows: dict[str, list[Row]], prov: Provenance
) -> None:
    bars = plots.bars_figure(alpha, "startup", rows["startup"], prov)
    phases = plots.phases_figure(alpha, "startup", rows["startup"], prov)
    (ax,) = phases.axes
    assert _ticks(ax) == [*_ticks(bars.axes[0]), "sqlite (the limit)"]


def test_resources_follow_the_bars_without_a_legend(
    alpha: Section, rows: dict[str, list[Row]], prov: Provenance
) -> None:
    fig = plots.resources_figure(alpha, "startup", rows["startup"], prov)
    _no_legend(fig)
    bars = plots.bars_figure(alpha, "startup", rows["startup"], prov)
    memory, disk = fig.axes
    assert _ticks(memory) == _ticks(disk) == _ticks(bars.axes[0])
    for ax in (memory, disk):
        assert any(t.startswith(" the limit: sqlite ") for t in _texts(ax))
        assert all(t.endswith((" MB", " B")) for t in _texts(ax) if "limit" not in t)
