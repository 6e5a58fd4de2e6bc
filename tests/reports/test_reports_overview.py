"""The top of each section: the verdict and the overview matrix (reports/overview.py), the
scenarios in their fixed order, and tables a reader sorts.

A small suite is written through the real results store, the numbers made up so that the
ratios are easy to check by hand (in ms of tracking_ns, 3 repetitions unless said):

    arrays (n_elements 1000, 10000, 100000; recorded first):
        tracker 10 11 12 in each; sqlite (floor) 5 6 7; mltraq unsupported in each;
        aim 20 22 24 at 1000 only, a timeout at 10000 and 100000
    startup: tracker 49 50 51; aim 99 100 101, lossy; wandb 19 20 21, wrong data;
        sqlite 29 30 31; mltraq skipped; comet 60 61 (2 repetitions)
    high_frequency (n_values=100): tracker 39 40 41; mltraq 79 80 81; aim 399 400 401
    fidelity: tracker keeps both kinds, aim one of two

so arrays is shown at its median configuration (no configuration ran ok for everyone), and
the geometric means are tracker 1x, mltraq 2x (high_frequency alone), aim sqrt(2 x 10) =
4.47x (its arrays timed out there); wandb and comet have none, sqlite is the floor.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

import pytest
from suite_db import write_suite

from reports import analysis, overview, render, stats, untimed
from results import schema as S
from results.cells import load

MS = 1_000_000
SMALL, MIDDLE, LARGE = ({"n_arrays": 1, "n_elements": n} for n in (1000, 10_000, 100_000))
NO_ARRAYS = "mltraq cannot store an array (synthetic)"
LOSS = "values stored as float32 (synthetic)"
WRONG = "metric 'value' at step 0: logged 0.5, read back 0.0 (synthetic)"
SKIP = "skipped: the harness has no server for it here (synthetic)"
TRACEBACK = "Traceback (most recent call last):\n  File x\nTimeoutError: no result in 600 s"


def ms(*values: float, **more: Any) -> list[dict[str, Any]]:
    """One ok cell per value, its tracking_ns that many milliseconds."""
    return [{S.TRACKING_NS: v * MS, **more} for v in values]


CELLS: dict[str, dict[str, Any]] = {
    "arrays": {
        "tracker": [(c, ms(10, 11, 12)) for c in (SMALL, MIDDLE, LARGE)],
        "sqlite": [(c, ms(5, 6, 7)) for c in (SMALL, MIDDLE, LARGE)],
        "mltraq": [(c, [S.UNSUPPORTED] * 3) for c in (SMALL, MIDDLE, LARGE)],
        "aim": [(SMALL, ms(20, 22, 24)), (MIDDLE, [S.TIMEOUT] * 3), (LARGE, [S.TIMEOUT] * 3)],
    },
    "startup": {
        "tracker": [({}, ms(49, 50, 51))],
        "aim": [({}, ms(99, 100, 101, fidelity=S.LOSSY, reason=LOSS))],
        "wandb": [({}, ms(19, 20, 21, fidelity=S.WRONG_DATA, reason=WRONG))],
        "sqlite": [({}, ms(29, 30, 31))],
        "mltraq": [({}, [S.SKIPPED] * 3)],
        "comet": [({}, ms(60, 61))],
    },
    "high_frequency": {
        "tracker": [({"n_values": 100}, ms(39, 40, 41))],
        "mltraq": [({"n_values": 100}, ms(79, 80, 81))],
        "aim": [({"n_values": 100}, ms(399, 400, 401))],
    },
    "fidelity": {
        "tracker": [({}, [{S.FIDELITY_MATRIX: {"nan": "kept", "neg_zero": "kept"},
                           S.CONCURRENT_START: "safe"}])],
        "aim": [({}, [{S.FIDELITY_MATRIX: {"nan": "kept", "neg_zero": "changed to 0.0"},
                       S.CONCURRENT_START: "safe"}])],
    },
}  # fmt: skip
REASONS = {S.UNSUPPORTED: NO_ARRAYS, S.SKIPPED: SKIP, S.TIMEOUT: TRACEBACK}


def result(fields: dict[str, Any] | str) -> dict[str, Any]:
    """What a worker returns for one cell: ok with these fields, or another outcome."""
    if isinstance(fields, str):
        return {S.OUTCOME: fields, S.FIDELITY: S.NOT_CHECKED, S.REASON: REASONS[fields]}
    return {S.OUTCOME: S.OK, S.FIDELITY: S.EXACT, S.FRAMEWORK_VERSION: "1.0",
            S.DURABILITY: S.PROCESS, **fields}  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_suite(tmp_path_factory.mktemp("overview") / "r.db", "o-1", CELLS, result)


@pytest.fixture(scope="module")
def built(db: Path, tmp_path_factory: pytest.TempPathFactory) -> render.Report:
    results = load(os.fspath(db))
    out = tmp_path_factory.mktemp("overview-report")
    return render.build(results, analysis.sections(results), out, "pytest")


@pytest.fixture(scope="module")
def section(db: Path) -> analysis.Section:
    (found,) = analysis.sections(load(os.fspath(db)))
    return found


def _overview(section: analysis.Section) -> overview.Overview:
    rows = {sc: analysis.rows(section, sc) for sc in section.timed_scenarios()}
    kinds = {"fidelity": analysis.value_kinds(section, "fidelity")}
    return overview.build(section, rows, {}, kinds)


def _ratio(section: analysis.Section, scenario: str, framework: str, config: str) -> float:
    (row,) = [r for r in analysis.rows(section, scenario)
              if r.framework == framework and r.config == config]  # fmt: skip
    assert row.vs_reference is not None
    return row.vs_reference.value


def test_frameworks_are_ordered_by_the_geometric_mean_of_their_ratios(
    section: analysis.Section,
) -> None:
    ov = _overview(section)
    assert [ln.framework for ln in ov.lines] == [
        "tracker", "mltraq", "aim", "comet", "wandb", "sqlite"]  # fmt: skip
    by = {ln.framework: ln for ln in ov.lines}
    # aim: startup 100 / 50 and high_frequency 400 / 40 (arrays: a timeout at the column's
    # configuration); mltraq: high_frequency 80 / 40 alone, less than aim's although
    # alphabetically after it
    aim = math.sqrt(_ratio(section, "startup", "aim", "default")
                    * _ratio(section, "high_frequency", "aim", "n_values=100"))  # fmt: skip
    assert by["aim"].mean == pytest.approx(aim) and by["aim"].ratios == 2
    assert aim == pytest.approx(math.sqrt(2 * 10))
    assert by["mltraq"].mean == pytest.approx(2.0) and by["mltraq"].ratios == 1
    assert by["tracker"].mean == pytest.approx(1.0) and by["tracker"].mean_text() == "1x"
    assert not by["aim"].unranked and not by["mltraq"].unranked


def test_lossy_and_wrong_data_are_marked_and_the_wrong_one_is_not_ranked(
    section: analysis.Section,
) -> None:
    by = {ln.framework: ln for ln in _overview(section).lines}
    lossy = by["aim"].cells["startup"]
    assert (lossy.text, lossy.mark, lossy.reason) == ("2.00x", overview.LOSSY, LOSS)
    assert lossy.ratio == pytest.approx(2.0)
    wrong = by["wandb"].cells["startup"]
    # wandb's 20 ms is faster than the reference's 50: no ratio claimed, never ranked
    assert (wrong.text, wrong.mark, wrong.reason, wrong.ratio) == (
        overview.WRONG, overview.WRONG, WRONG, None)  # fmt: skip
    assert by["wandb"].unranked == "wrong data in startup" and by["wandb"].mean is None
    few = by["comet"].cells["startup"]
    assert (few.mark, few.reason) == (overview.FEW, "2 ok < 3 repetitions")
    assert by["comet"].unranked == "no ratio to the reference"


def test_floors_are_their_own_rows_at_the_bottom(section: analysis.Section) -> None:
    ov = _overview(section)
    floor = ov.lines[-1]
    assert floor.framework == "sqlite" and floor.role == S.FLOOR
    # faster than the reference (30 / 50 and 6 / 11), shown as the limit, never ranked first
    assert floor.mean == pytest.approx(math.sqrt(0.6 * 6 / 11))
    assert floor.mean_text() == "0.572x"  # its group's label says it is the limit
    groups = render.overview_groups(ov)
    assert [label for label, _ in groups] == ["", render.NOT_RANKED, render.FLOORS]
    assert [ln.framework for ln in groups[-1][1]] == ["sqlite"]


def test_unsupported_skipped_and_failed_cells_say_why(section: analysis.Section) -> None:
    ov = _overview(section)
    (arrays,) = [c for c in ov.columns if c.key == "arrays"]
    # no configuration ran ok for every framework (mltraq never can): the median one
    assert (arrays.config, arrays.rule) == ("n_arrays=1, n_elements=10000", overview.MEDIAN)
    (high,) = [c for c in ov.columns if c.key == "high_frequency"]
    assert high.rule == overview.ONLY
    by = {ln.framework: ln for ln in ov.lines}
    unsupported = by["mltraq"].cells["arrays"]
    assert unsupported.mark == overview.UNSUPPORTED
    assert unsupported.reason == f"unsupported 3/3: {NO_ARRAYS}"
    assert by["mltraq"].cells["startup"].mark == overview.SKIPPED
    # a traceback is shown by its last line
    failed = by["aim"].cells["arrays"]
    assert failed.mark == overview.FAILED
    assert failed.reason == "timeout 3/3: TimeoutError: no result in 600 s"
    assert by["wandb"].cells["arrays"] == overview.NOT_RUN
    kept = {ln.framework: ln.cells[overview.KEPT].text for ln in ov.lines}
    assert kept["tracker"] == "2 / 2" and kept["aim"] == "1 / 2" and kept["comet"] == "-"


def test_the_largest_configuration_everyone_ran_ok_is_chosen(golden2_db: Path) -> None:
    (alpha, _beta) = analysis.sections(load(str(golden2_db)))
    rows = analysis.rows(alpha, "high_frequency")
    # mltraq is unsupported at n_values=10000: 1000 is the largest every framework ran ok
    assert overview.representative(rows) == ("n_values=1000", overview.LARGEST)


def test_the_verdict_is_computed_from_the_rows(section: analysis.Section) -> None:
    ov = _overview(section)
    aim = stats.format_number(_ratio(section, "startup", "aim", "default"))
    floor = stats.format_number(_ratio(section, "startup", "sqlite", "default"))
    mltraq = stats.format_number(_ratio(section, "high_frequency", "mltraq", "n_values=100"))
    aim_high = stats.format_number(_ratio(section, "high_frequency", "aim", "n_values=100"))
    array_floor = stats.format_number(_ratio(section, "arrays", "sqlite", "n_arrays=1, "
                                             "n_elements=10000"))  # fmt: skip
    assert (aim, floor, mltraq, aim_high, array_floor) == ("2.00", "0.600", "2.00", "10.0",
                                                           "0.545")  # fmt: skip
    assert ov.verdict == [
        "Fastest to start (`startup`, default): tracker (the reference); then aim 2.00x the "
        "reference's time; the limit: sqlite 0.600x.",
        "Fastest to log at high frequency (`high_frequency`, n_values=100): tracker (the "
        "reference); then mltraq 2.00x, aim 10.0x the reference's time.",
        "Fastest to store arrays (`arrays`, n_arrays=1, n_elements=10000): tracker (the "
        "reference); the limit: sqlite 0.545x.",
        "Every value came back as logged from tracker, mltraq, sqlite; with a loss its adapter "
        "documents from aim; wrong from wandb (not ranked).",
        "Every value kind of the fidelity check (2) kept by tracker.",
        "Over every scenario (the geometric mean of the ratios): tracker 1x, mltraq 2.00x, "
        "aim 4.47x.",
    ]


def test_with_too_few_repetitions_no_data_is_summed_up(tmp_path: Path) -> None:
    """One repetition a cell (`run --repeat 1`): no ratio, so no verdict on whose data came
    back as logged (never "from no framework")."""
    one = {"startup": {"tracker": [({}, ms(50))], "aim": [({}, ms(100))]}}
    (sec,) = analysis.sections(load(os.fspath(write_suite(tmp_path / "r.db", "f-1", one,
                                                           result))))  # fmt: skip
    ov = overview.build(sec, {"startup": analysis.rows(sec, "startup")}, {}, {})
    assert ov.verdict[1] == (
        "Whose data came back as logged is not summed up: no framework has a ratio to the "
        "reference (fewer than 3 ok repetitions, or none of the reference's)."
    )
    assert all(ln.cells["startup"].mark == overview.FEW for ln in ov.lines)


def test_crash_and_log_latency_columns(tmp_path: Path) -> None:
    from test_reports_untimed import CELLS as UNTIMED
    from test_reports_untimed import DECLARED
    from test_reports_untimed import result as untimed_result

    path = write_suite(tmp_path / "r.db", "u-1", UNTIMED, untimed_result, DECLARED)
    (sec,) = analysis.sections(load(os.fspath(path)))
    own = {sc: untimed.measured(sec, sc) for sc in untimed.SCENARIOS}
    rows = {sc: analysis.rows(sec, sc) for sc in sec.timed_scenarios()}
    ov = overview.build(sec, rows, own, {})
    keys = [c.key for c in ov.columns]
    assert keys == ["wide_steps", overview.DURABILITY, overview.SURVIVED, overview.P99]
    by = {ln.framework: ln for ln in ov.lines}
    # crash at flush_every=100, n_values=1000 (the median: mlflow timed out there)
    assert by["tracker"].cells[overview.SURVIVED].text == "100.0%"
    lost = by["mltraq"].cells[overview.SURVIVED]
    assert (lost.text, lost.mark) == ("46.2%", overview.WRONG) and "flushed values lost" in (
        lost.reason
    )
    # lost values after a crash are its own column's finding: mltraq's times stay ranked
    assert not by["mltraq"].unranked
    assert by["tracker"].cells[overview.P99].text == "10.0 µs"  # medians of 9 11 10 µs
    assert by["wandb"].cells[overview.P99].mark == overview.WRONG
    assert ov.verdict[-2] == (
        "A writer killed mid-run (`crash`, flush_every=100, n_values=1000): everything flushed "
        "survived for tracker 100.0%, sqlite (floor) 99.9%; not for mltraq 46.2%; nothing "
        "flushed before the kill: wandb 0.0%."
    )  # wandb has no flush(): it lost nothing flushed, and is not counted as losing it
    assert ov.verdict[-1] == (
        "Lowest p99 log() latency (`loop_overhead`, n_blocks=10, n_metrics=10, n_steps=1000, "
        "step_us=100): tracker 10.0 µs, mltraq 30.0 µs."
    )  # the floor is the limit, not in the race


def test_the_page_opens_with_the_verdict_and_the_matrix(built: render.Report) -> None:
    md = built.markdown.read_text("utf-8")
    verdict = md.index("- Fastest to start")
    matrix = md.index("| framework | geo. mean | startup | high_frequency | arrays |")
    assert md.index("## suite o-1 on m") < verdict < matrix < md.index("### startup")
    assert md.index("## How to read it") > md.index("### Reproduce it") > matrix
    # footnotes: each reason once, under the matrix
    assert f"lossy: {LOSS}" in md and f"unsupported: unsupported 3/3: {NO_ARRAYS}" in md
    assert "| wandb (not ranked) | not ranked [" in md
    page = built.html.read_text("utf-8")
    top = page.split('<table class="overview">')[1].split("</table>")[0]
    assert f'title="lossy: {LOSS}"' in top
    assert "2.00x <small>lossy</small>" in top
    assert f'style="background: {overview.colour(2.0)}"' in top
    assert '<tr class="group"><th colspan="7">floors: the limit, never ranked</th></tr>' in top
    assert page.index('<ul class="verdict">') < page.index("<h3>") and "<script>" in page


def test_scenarios_follow_the_fixed_order_with_their_titles(built: render.Report) -> None:
    from scenarios.workloads import SCENARIOS, WORKLOADS

    assert list(overview.SCENARIOS) == list(SCENARIOS)  # reports never import scenarios
    assert all(overview.measures(s) and overview.title(s) for s in WORKLOADS if s != "contract")
    md = built.markdown.read_text("utf-8")
    heads = re.findall(r"^### (\w+): ", md, re.M)
    assert heads == ["startup", "high_frequency", "arrays", "fidelity"]  # arrays recorded first
    assert f"### startup: Start-up\n\n{overview.measures('startup')}\n" in md
    page = built.html.read_text("utf-8")
    ids = re.findall(r'<section id="([^"]+)">', page)
    assert ids == [f"m-o-1-{s}" for s in heads]
    assert '<h3>startup <span class="title">Start-up</span></h3>' in page


def test_a_configuration_is_shown_once_over_its_rows(built: render.Report) -> None:
    page = built.html.read_text("utf-8")
    arrays = page.split('<section id="m-o-1-arrays">')[1].split("</section>")[0]
    table = arrays.split("<table>")[1].split("</table>")[0]
    assert table.count('<tr class="group">') == 3 and table.count("<tbody>") == 3
    assert "<th>configuration</th>" not in table
    assert '<tr class="group"><th colspan="12">configuration: n_arrays=1, n_elements=1000' in table
    md = built.markdown.read_text("utf-8").split("### arrays")[1].split("![")[0]
    firsts = [line.split(" | ")[0] for line in md.splitlines() if line.startswith("| ")][1:]
    assert [f for f in firsts if f != "| "] == [
        "| n_arrays=1, n_elements=1000", "| n_arrays=1, n_elements=10000",
        "| n_arrays=1, n_elements=100000"]  # fmt: skip


def test_a_spec_suite_opens_with_the_verdict_and_matrix_of_its_workload(tmp_path: Path) -> None:
    job = {"epochs": 2, "steps_per_epoch": 10, "n_weights": 100}
    cells = {"training_loop": {"tracker": [(job, ms(20, 21, 22))],
                               "sacred": [(job, ms(99, 100, 101))],
                               "sqlite": [(job, ms(10, 11, 12))]}}  # fmt: skip
    path = write_suite(tmp_path / "r.db", "s-1", cells, result, grid=S.SPEC_GRID)
    results = load(os.fspath(path))
    report = render.build(results, analysis.sections(results), tmp_path / "out", "pytest")
    md = report.markdown.read_text("utf-8")
    # none of startup, high_frequency, arrays ran: the verdict names the workload's scenario
    verdict = md.index(
        "- Fastest in a training loop (`training_loop`, epochs=2, n_weights=100, "
        "steps_per_epoch=10): tracker (the reference); then sacred 4.76x the reference's "
        "time; the limit: sqlite 0.524x."
    )  # 100 / 21 and 11 / 21
    matrix = md.index("| framework | geo. mean | training_loop | durability |")
    assert verdict < matrix < md.index("### Your workload") < md.index("### training_loop")
    page = report.html.read_text("utf-8")
    assert page.index('<table class="overview">') < page.index("<h3>Your workload</h3>")


@pytest.mark.parametrize(
    ("text", "key"),
    [("0.0500", 0.05), ("~1.31x", 1.31), ("3 / 3", 3.0), ("4.10 min", 246.0), ("2.35 h", 8460.0),
     ("1,000", 1000.0), ("+2.00", 2.0), ("-0.400 to 1.60", -0.4), ("<0.1", 0.1), ("-", None),
     ("not ranked (2 ok < 3)", None), ("floor (the limit)", None)],
)  # fmt: skip
def test_numeric_cells_sort_by_their_number(text: str, key: float | None) -> None:
    found = render.sort_key(text)
    assert found == (pytest.approx(key) if key is not None else None)


def test_ratios_are_coloured_on_a_log_scale() -> None:
    hues = [int(overview.colour(r).split("(")[1].split(",")[0]) for r in (0.5, 1, 10, 100, 1e4)]
    assert hues == [120, 120, 60, 0, 0]  # green at the reference or faster, red at 100x
