"""readback's live reader in the report: a table per configuration under readback's timed one.

The cells are written through the real results store (results.store.Store, as the runner
writes them), 3 repetitions each, with read_ns 10 11 12 ms for every ok cell:

    readback (n_runs=10, n_values=10): 50 values logged when the writer paused
        tracker  live read ok, 0 0 0 not seen
        mltraq   ok, 3 5 4 not seen
        wandb    ok, 0 0 0 not seen, but its data came back wrong
        sqlite   a floor: ok, 1 and 2 not seen, one cell crashed
        aim      ok, ok (0 and 2 not seen), then unsupported (the database is locked)
        mlflow   unsupported, a reason too long for the table, 3 times
    readback (n_runs=1, n_values=1): 1 value logged by then (never 0)
        tracker  ok, 1 1 1 not seen
    many_runs: tracker only, no live read (not the readback scenario)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from suite_db import write_suite

from reports import analysis, render, untimed
from results import schema as S
from results.cells import load

MS = 1_000_000
HALF = {"n_runs": 10, "n_values": 10}
ONE = {"n_runs": 1, "n_values": 1}
WRONG = "metric 'm0' at step 3: logged 0.5, read back 0.0 (synthetic)"
BUSY = (
    "unsupported: OperationalError: database is locked while the writer holds its "
    "transaction open (synthetic)"
)
LOCKED = "unsupported: locked"


def live(lag: int | None = None, read: str = "ok", logged: int = 50, **more: Any) -> dict[str, Any]:
    """The fields of one ok readback cell whose live reader got `read` once `logged` values
    were logged."""
    fields = {S.READ_NS: 11 * MS, S.LIVE_READ: read, S.LIVE_LOGGED_VALUES: logged, **more}
    if lag is not None:
        fields[S.LIVE_LAG_VALUES] = lag
    return fields


# scenario -> framework -> [(config, [fields of each repetition])]; a string is an outcome
CELLS: dict[str, dict[str, list[tuple[dict[str, int], list[Any]]]]] = {
    "readback": {
        "tracker": [(HALF, [live(0), live(0), live(0)]), (ONE, [live(1, logged=1)] * 3)],
        "mltraq": [(HALF, [live(3), live(5), live(4)])],
        "wandb": [(HALF, [live(0, fidelity=S.WRONG_DATA, reason=WRONG)] * 3)],
        "sqlite": [(HALF, [live(1), live(2), S.CRASH])],
        "aim": [(HALF, [live(0), live(2), live(read=LOCKED)])],
        "mlflow": [(HALF, [live(read=BUSY)] * 3)],
    },
    "many_runs": {"tracker": [(HALF, [{S.TRACKING_NS: 5 * MS}] * 3)]},
}


def result(fields: dict[str, Any] | str) -> dict[str, Any]:
    """What a worker returns for one cell: ok with these fields, or another outcome."""
    if isinstance(fields, str):
        return {S.OUTCOME: fields, S.FIDELITY: S.NOT_CHECKED, S.REASON: "exit code 1 (synthetic)"}
    return {S.OUTCOME: S.OK, S.FIDELITY: S.EXACT, S.FRAMEWORK_VERSION: "1.0",
            S.DURABILITY: S.PROCESS, **fields}  # fmt: skip


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> render.Report:
    path = write_suite(tmp_path_factory.mktemp("live") / "r.db", "l-1", CELLS, result)
    results = load(os.fspath(path))
    return render.build(results, analysis.sections(results), tmp_path_factory.mktemp("out"), "t")


def _between(text: str, start: str, end: str) -> str:
    assert start in text, start
    return text.split(start, 1)[1].split(end, 1)[0]


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("| ")]


def test_the_live_tables_follow_readbacks_timed_table_and_figures(report: render.Report) -> None:
    md = _between(report.markdown.read_text("utf-8"), "### readback", "\n### ")
    timed, _, after = md.partition("#### live reader")
    assert "| configuration | framework | version | ok / cells | median s |" in timed
    assert "![readback" in timed  # the figures come before the live reader
    assert timed.rstrip().endswith(untimed.LIVE_INTRO)
    assert untimed.LIVE_INTRO.startswith(
        "Half way through the writing, the writer pauses while another process reads the "
        "store in use, as a dashboard does during training"
    )
    assert after.startswith(", n_runs=1, n_values=1\n")  # ordered by their parameters
    assert md.count("#### live reader, ") == 2
    assert "live reader" not in _between(report.markdown.read_text("utf-8"), "### many_runs", "###")


def test_a_live_row_per_framework_least_unseen_first(report: render.Report) -> None:
    md = report.markdown.read_text("utf-8")
    half = _between(md, "#### live reader, n_runs=10, n_values=10", "\n### ")
    assert _rows(half) == [
        "| framework | live reader | not seen | ok / cells | fidelity | other outcomes |",
        "| tracker (reference) | ok | sees all | 3 / 3 | exact | - |",
        # the median over its ok cells, not over every cell; its data wrong: flagged
        "| wandb | ok | sees all (wrong data) | 3 / 3 | wrong_data | - |",
        # the median of the 2 cells the live reader read, 0 and 2, of 10 * 10 // 2 = 50
        "| aim | ok (2 of 3); unsupported: locked (1 of 3) | 1 of 50 not seen | 3 / 3 | exact "
        "| - |",
        "| sqlite (floor) | ok | 1.5 of 50 not seen | 2 / 3 | exact | crash 1/3 |",
        "| mltraq | ok | 4 of 50 not seen | 3 / 3 | exact | - |",
        # cut short in the table, given whole below it
        "| mlflow | unsupported: OperationalError: database… [1] | - | 3 / 3 | exact | - |",
    ]
    assert f"- [1] {BUSY}\n" in half
    one = _between(md, "#### live reader, n_runs=1, n_values=1", "####")
    # 1 * 1 // 2 is 0: the writer pauses after its first value
    assert _rows(one)[1:] == ["| tracker (reference) | ok | 1 of 1 not seen | 3 / 3 | exact | - |"]
    assert "- [" not in one  # nothing cut, no notes


def test_the_html_marks_dirty_rows_and_keeps_the_whole_reason(report: render.Report) -> None:
    page = report.html.read_text("utf-8")
    section = _between(page, "<h3>readback ", "<h3>")
    live = section.split("<h4>live reader, n_runs=10, n_values=10</h4>", 1)[1]
    assert section.index("<h4>live reader") > section.index("<figure>")
    assert "<p>Half way through the writing, the writer pauses while another process" in section
    assert "<code>ok</code>" in section
    assert "<tr><td>tracker (reference)</td><td>ok</td><td>sees all</td>" in live
    assert '<tr class="failed"><td>wandb</td><td>ok</td><td>sees all (wrong data)</td>' in live
    assert '<tr class="failed"><td>sqlite (floor)</td>' in live  # a cell crashed
    assert "<tr><td>aim</td>" in live  # an unsupported live read is an answer, not a failure
    (cut,) = re.findall(r"<tr><td>mlflow</td><td title=\"([^\"]*)\">([^<]*)</td>", live)
    assert cut == (BUSY, "unsupported: OperationalError: database…")
    assert section.count("<table>") == 3  # the timed table and two live ones


def test_results_without_a_live_read_have_no_live_table(report2_dir: Path) -> None:
    markdown = (report2_dir / "report.md").read_text("utf-8")
    assert "### readback" in markdown and "live reader" not in markdown
    assert "live reader" not in (report2_dir / "index.html").read_text("utf-8")


@pytest.mark.parametrize(
    ("text", "short"),
    [
        ("ok", "ok"),
        ("unsupported: locked", "unsupported: locked"),
        ("x" * 40, "x" * 40),
        ("x" * 41, "x" * 39 + "…"),
        ("unsupported: a reason that goes on, and on", "unsupported: a reason that goes on, and…"),
        ("unsupported: the reader raised PermissionError", "unsupported: the reader raised…"),
        ("first line\nsecond", "first line…"),
    ],
)
def test_a_long_answer_is_cut_at_a_word(text: str, short: str) -> None:
    assert untimed.shorten(text) == short
