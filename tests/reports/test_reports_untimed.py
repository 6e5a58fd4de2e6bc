"""loop_overhead, long_run and crash in the report: their own tables and figures, never timed
ranks; wide_steps as an ordinary timed scenario.

The cells are written through the real results store (results.store.Store, as the runner
writes them) with numbers made up so that the medians are easy to check by hand:

    loop_overhead (n_steps=1000, step_us=100, n_metrics=10, n_blocks=10), 3 repetitions:
        tracker  p50 2.0 2.2 2.1 µs, p99 9 11 10 µs, max 50 70 60 µs,
                 overhead 1.5 2.5 2.0 % (blocks 0.5..3.0, 1.0..4.0, 0.8..3.5),
                 stolen CPU 1 3 2 ms, finish 4 6 5 ms
        mltraq   overhead 30 34 32 %
        wandb    overhead 0.5 0.7 0.6 %, its data wrong: less than tracker's, never ranked
        sqlite   a floor, overhead 0.2 0.3 0.25 %
        mlflow   crashed 3 times
    loop_overhead (same, n_metrics=100): tracker overhead 4 5 6 %, mltraq 40 % (1 ok of 1)
    long_run (n_steps=100000), once: tracker 30 -> 32 MB (peak 33), mltraq 150 -> 450 MB
        (its series stored as JSON text), wandb 40 -> 41 MB with wrong data, mlflow timeout
    wide_steps (n_steps 10 and 100, n_metrics=1000), 3 repetitions: tracker 10 11 12 ms and
        20 21 22 ms, mltraq 100 110 120 ms and 200 210 220 ms
    crash (n_values=1000, flush_every=100), once: logged / flushed / survived
        tracker  700 / 700 / 700, durability power
        sqlite   900 / 800 / 899, a floor
        mltraq   650 / 600 / 300: flushed values lost, wrong_data
        wandb    800 / 0 / 0, declares no flush(); its store does not open: not_checked
        mlflow   timeout
    crash (n_values=100000, flush_every=100000): tracker 99,999 / 0 / 99,998 (killed before
        its first flush); mlflow 1,000 / 500 / 900, a value after the flush came back wrong
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from suite_db import write_suite

from reports import analysis, render, untimed
from results import schema as S
from results.cells import load

US, MS, MB = 1_000, 1_000_000, 1_000_000
LOOP = {"n_steps": 1000, "step_us": 100, "n_metrics": 10, "n_blocks": 10}
LOOP_WIDE = {**LOOP, "n_metrics": 100}
CRASH = "exit code 1: RuntimeError: synthetic"
WRONG = "metric 'm0' at step 3: logged 0.5, read back 0.0 (synthetic)"
LOST = "flushed values lost: 300 of the 600 flushed came back (synthetic)"
KILL = {"n_values": 1000, "flush_every": 100}
KILL_LATE = {"n_values": 100_000, "flush_every": 100_000}
NO_FLUSH = "wandb.log() hands values to a service process; it has no flush (synthetic)"
DECLARED = {
    "tracker": {"supports": ["flush", "steps"], "lacks": {}},
    "wandb": {"supports": ["steps"], "lacks": {"flush": NO_FLUSH}},
}


def crash(logged: int, flushed: int, survived: int, opens: bool, **more: Any) -> dict:
    """The fields of one ok crash cell."""
    return {S.LOGGED_VALUES: logged, S.FLUSHED_VALUES: flushed, S.SURVIVED_VALUES: survived,
            S.STORE_OPENS: opens, **more}  # fmt: skip


def loop(overhead: float, spread: tuple[float, float] = (-1.0, 1.0), **more: Any) -> dict:
    """The fields of one ok loop_overhead cell."""
    return {
        S.OVERHEAD_PCT: overhead,
        S.OVERHEAD_MIN_PCT: overhead + spread[0],
        S.OVERHEAD_MAX_PCT: overhead + spread[1],
        S.LOG_P50_NS: 3 * US,
        S.LOG_P99_NS: 30 * US,
        S.LOG_MAX_NS: 300 * US,
        S.STOLEN_CPU_NS: 1 * MS,
        S.FINISH_NS: 10 * MS,
        **more,
    }


TRACKER_LOOP = [
    loop(1.5, (-1.0, 1.5), log_p50_ns=2000, log_p99_ns=9000, log_max_ns=50000,
         stolen_cpu_ns=1 * MS, finish_ns=4 * MS),
    loop(2.5, (-1.5, 1.5), log_p50_ns=2200, log_p99_ns=11000, log_max_ns=70000,
         stolen_cpu_ns=3 * MS, finish_ns=6 * MS),
    loop(2.0, (-1.2, 1.5), log_p50_ns=2100, log_p99_ns=10000, log_max_ns=60000,
         stolen_cpu_ns=2 * MS, finish_ns=5 * MS),
]  # fmt: skip
# framework -> role, then config -> [fields of each repetition]; a string is its outcome
CELLS: dict[str, dict[str, Any]] = {
    "loop_overhead": {
        "tracker": [(LOOP, TRACKER_LOOP), (LOOP_WIDE, [loop(4), loop(5), loop(6)])],
        "mltraq": [(LOOP, [loop(30), loop(34), loop(32)]), (LOOP_WIDE, [loop(40)])],
        "wandb": [(LOOP, [loop(v, fidelity=S.WRONG_DATA, reason=WRONG) for v in (0.5, 0.7, 0.6)])],
        "sqlite": [(LOOP, [loop(0.2), loop(0.3), loop(0.25)])],
        "mlflow": [(LOOP, [S.CRASH] * 3)],
    },
    "long_run": {
        "tracker": [({"n_steps": 100_000}, [{
            S.RSS_START_BYTES: 30 * MB, S.RSS_END_BYTES: 32 * MB, S.PEAK_RSS_BYTES: 33 * MB,
            S.RSS_SERIES: [[0, 30 * MB], [50_000, 31 * MB], [99_999, 32 * MB]]}])],
        "mltraq": [({"n_steps": 100_000}, [{
            S.RSS_START_BYTES: 150 * MB, S.RSS_END_BYTES: 450 * MB, S.PEAK_RSS_BYTES: 460 * MB,
            S.RSS_SERIES: "[[0, 150000000], [50000, 300000000], [99999, 450000000]]"}])],
        "wandb": [({"n_steps": 100_000}, [{
            S.RSS_START_BYTES: 40 * MB, S.RSS_END_BYTES: 41 * MB, S.PEAK_RSS_BYTES: 90 * MB,
            S.RSS_SERIES: [[0, 40 * MB], [99_999, 41 * MB]],
            S.FIDELITY: S.WRONG_DATA, S.REASON: WRONG}])],
        "mlflow": [({"n_steps": 100_000}, [S.TIMEOUT])],
    },
    "crash": {
        "tracker": [(KILL, [crash(700, 700, 700, True, durability=S.POWER)]),
                    (KILL_LATE, [crash(99_999, 0, 99_998, True, durability=S.POWER)])],
        "sqlite": [(KILL, [crash(900, 800, 899, True, durability=S.POWER)])],
        "mltraq": [(KILL, [crash(650, 600, 300, True, fidelity=S.WRONG_DATA, reason=LOST)])],
        "wandb": [(KILL, [crash(800, 0, 0, False, durability=S.NONE, fidelity=S.NOT_CHECKED,
                                reason="the store does not open (synthetic)")])],
        "mlflow": [(KILL, [S.TIMEOUT]),
                   (KILL_LATE, [crash(1000, 500, 900, True, fidelity=S.WRONG_DATA, reason=WRONG)])],
    },
    "wide_steps": {
        "tracker": [({"n_steps": 10, "n_metrics": 1000}, [{S.TRACKING_NS: v * MS} for v in
                                                          (10, 11, 12)]),
                    ({"n_steps": 100, "n_metrics": 1000}, [{S.TRACKING_NS: v * MS} for v in
                                                           (20, 21, 22)])],
        "mltraq": [({"n_steps": 10, "n_metrics": 1000}, [{S.TRACKING_NS: v * MS} for v in
                                                         (100, 110, 120)]),
                   ({"n_steps": 100, "n_metrics": 1000}, [{S.TRACKING_NS: v * MS} for v in
                                                          (200, 210, 220)])],
    },
}  # fmt: skip


def result(fields: dict[str, Any] | str) -> dict[str, Any]:
    """What a worker returns for one cell: ok with these fields, or another outcome."""
    if isinstance(fields, str):
        reason = CRASH if fields == S.CRASH else "no result in 600 s"
        return {S.OUTCOME: fields, S.FIDELITY: S.NOT_CHECKED, S.REASON: reason}
    return {S.OUTCOME: S.OK, S.FIDELITY: S.EXACT, S.FRAMEWORK_VERSION: "1.0",
            S.DURABILITY: S.PROCESS, **fields}  # fmt: skip


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results database of one suite holding the cells above."""
    return write_suite(tmp_path_factory.mktemp("untimed") / "r.db", "u-1", CELLS, result, DECLARED)


@pytest.fixture(scope="module")
def report(db: Path, tmp_path_factory: pytest.TempPathFactory) -> render.Report:
    results = load(os.fspath(db))
    out = tmp_path_factory.mktemp("untimed-report")
    return render.build(results, analysis.sections(results), out, "pytest")


def _between(text: str, start: str, end: str) -> str:
    assert start in text, start
    return text.split(start, 1)[1].split(end, 1)[0]


def test_loop_overhead_has_one_table_per_configuration(report: render.Report) -> None:
    md = _between(report.markdown.read_text("utf-8"), "### loop_overhead", "### long_run")
    assert md.startswith(
        ": Overhead in a training loop\n\nHow much tracking slows a training loop "
        "that does real work"
    )  # its title, then what it measures
    first = _between(md, "#### n_blocks=10, n_metrics=10, n_steps=1000, step_us=100", "####")
    lines = [line for line in first.splitlines() if line.startswith("| ")][1:]
    # least overhead first; the crashed framework last
    assert [line.split(" | ")[0] for line in lines] == [
        "| sqlite (floor)", "| wandb", "| tracker (reference)", "| mltraq", "| mlflow"]  # fmt: skip
    # tracker: medians of 2.0 2.2 2.1 -> 2.10 µs, 9 11 10 -> 10.0, 50 70 60 -> 60.0 µs;
    # overhead 2.00 %, its spread the medians of 0.5 1.0 0.8 and 3.0 4.0 3.5; stolen 2 ms,
    # finish 5 ms. wandb's 0.6 % is less, but its data came back wrong: never the least
    assert lines[2] == (
        "| tracker (reference) | least overhead | 3 / 3 | 2.10 | 10.0 | 60.0 | 2.00 "
        "| 0.800 to 3.50 | 2.00 | 5.00 | exact | - |"
    )
    assert lines[1].startswith("| wandb | not ranked (wrong data) | 3 / 3 | 3.00 | 30.0 | 300 "
                               "| 0.600 | -0.400 to 1.60 |")  # fmt: skip
    assert lines[1].endswith("| wrong_data | - |")
    assert lines[0].startswith("| sqlite (floor) | floor (the limit) | 3 / 3 |")
    assert lines[3].startswith("| mltraq | yes | 3 / 3 | 3.00 | 30.0 | 300 | 32.0 | 31.0 to 33.0")
    assert lines[4] == "| mlflow | - | 0 / 3 | - | - | - | - | - | - | - | - | crash 3/3 |"
    second = _between(md, "#### n_blocks=10, n_metrics=100, n_steps=1000, step_us=100", "###")
    assert "| tracker (reference) | least overhead | 3 / 3 |" in second
    assert "| mltraq | not ranked (1 ok < 3) | 1 / 1 | 3.00 | 30.0 | 300 | 40.0 |" in second
    assert "median s" not in md  # not a timed table


def test_long_run_shows_memory_in_mb(report: render.Report) -> None:
    md = _between(report.markdown.read_text("utf-8"), "### long_run", "### crash")
    assert md.startswith(": Memory over a long run\n\nHow a writer's memory grows over a long run")
    table = _between(md, "#### n_steps=100000", "![")
    lines = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert lines == [  # least growth first
        "| wandb | 1 / 1 | 40.0 | 41.0 | +1.00 | 90.0 | wrong_data | - |",
        "| tracker (reference) | 1 / 1 | 30.0 | 32.0 | +2.00 | 33.0 | exact | - |",
        "| mltraq | 1 / 1 | 150 | 450 | +300 | 460 | exact | - |",
        "| mlflow | 0 / 1 | - | - | - | - | - | timeout 1/1 |",
    ]


def test_the_sections_follow_the_timed_ones_in_both_formats(report: render.Report) -> None:
    page = report.html.read_text("utf-8")
    heads = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h3>(.*?)</h3>", page)]
    assert heads[:5] == [  # the versions are under "Reproduce it", at the section's end
        "wide_steps Wide steps",
        "loop_overhead Overhead in a training loop",
        "long_run Memory over a long run",
        "crash Crash survival",
        "Fidelity and outcomes",
    ]
    md_heads = re.findall(r"^### (.+)$", report.markdown.read_text("utf-8"), re.M)
    assert [h.replace(": ", " ", 1) for h in md_heads[:5]] == heads[:5]
    loop = _between(page, "<h3>loop_overhead ", "<h3>")
    assert loop.count("<table>") == 2 and loop.count("<h4>") == 2
    # a row whose data came back wrong, or with cells that failed, is marked
    assert loop.count('<tr class="failed"><td>wandb</td>') == 1
    assert '<tr class="failed"><td>mlflow</td>' in loop
    assert "<tr><td>tracker (reference)</td><td>least overhead</td>" in loop
    assert '<td class="num" data-sort="0.8">0.800 to 3.50</td>' in loop
    assert 'alt="loop_overhead: overhead per framework"' in loop
    memory = _between(page, "<h3>long_run ", "<h3>")
    assert 'alt="long_run: memory over the steps"' in memory


def _svg_texts(path: Path) -> list[tuple[float, str]]:
    """The texts of an SVG written with text as text, with their y positions (an attribute,
    or a translation for the lines of a text of several)."""
    out = []
    for attributes, text in re.findall(r"<text ([^>]*)>([^<]*)</text>", path.read_text("utf-8")):
        y = re.search(r' y="([-\d.]+)"|translate\([-\d.]+ ([-\d.]+)\)', attributes)
        assert y, attributes
        out.append((float(y.group(1) or y.group(2)), text))
    return out


def test_the_overhead_bars_are_sorted_and_labelled(report: render.Report) -> None:
    (image,) = [im for im in report.images if im.kind == "overhead"]
    assert image.png.stat().st_size > 0
    texts = _svg_texts(image.svg)
    labels = [t for _, t in sorted(texts) if "log() p99" in t]
    # first panel, top down: least overhead first, the wrong data after every clean bar
    assert labels[:3] == [
        "tracker  +2.00%  (log() p99 10.0 µs)",
        "mltraq  +32.0%  (log() p99 30.0 µs)",
        "wandb  +0.600%  (log() p99 30.0 µs)  not ranked: wrong data",
    ]
    assert labels[3:] == [
        "tracker  +5.00%  (log() p99 30.0 µs)",
        "mltraq  +40.0%  (log() p99 30.0 µs)  not ranked: 1 ok &lt; 3",
    ]
    shown = [t for _, t in texts]
    assert " the limit: sqlite +0.250%" in shown  # the floors are the limit, not bars
    assert "mlflow: crash" in shown  # no figure, still named


def test_the_memory_lines_are_labelled_at_their_end(report: render.Report) -> None:
    (image,) = [im for im in report.images if im.kind == "memory"]
    shown = [t for _, t in _svg_texts(image.svg)]
    assert "tracker 32.0 MB" in shown
    assert "mltraq 450 MB" in shown  # read from JSON text
    assert "wandb 41.0 MB (wrong data)" in shown
    assert any("mlflow: timeout" in t for t in shown)


def test_wide_steps_is_an_ordinary_timed_scenario(report: render.Report) -> None:
    md = _between(report.markdown.read_text("utf-8"), "### wide_steps", "###")
    # tracker 11 and 21 ms; mltraq 110 / 11 = 10.0x and 210 / 21 = 10.0x
    assert "| n_metrics=1000, n_steps=10 | tracker (reference) | 1.0 | 3 / 3 | 0.0110 |" in md
    assert "|  | mltraq | 1.0 | 3 / 3 | 0.210 |" in md  # its configuration on tracker's row
    assert md.count("| 10.0x | 10.0x |") == 2
    kinds = {im.kind for im in report.images if im.scenario == "wide_steps"}
    assert kinds == {"bars", "scaling", "phases", "resources"}


def test_export_writes_the_new_fields(db: Path) -> None:
    from reports.export import cells_frame

    frame = cells_frame(load(os.fspath(db)))
    tracker = frame[(frame["scenario"] == "long_run") & (frame[S.FRAMEWORK] == "tracker")]
    assert json.loads(tracker[S.RSS_SERIES].iloc[0])[-1] == [99_999, 32 * MB]
    assert int(tracker[S.RSS_END_BYTES].iloc[0]) == 32 * MB
    loop = frame[(frame["scenario"] == "loop_overhead") & (frame[S.FRAMEWORK] == "tracker")]
    assert sorted(loop[S.LOG_P99_NS].dropna().astype(int))[:3] == [9000, 10000, 11000]


@pytest.mark.parametrize(
    ("stored", "pairs"),
    [
        ([[0, 5], [10, 7]], ((0.0, 5.0), (10.0, 7.0))),
        ("[[0, 5], [10, 7]]", ((0.0, 5.0), (10.0, 7.0))),
        (None, ()),
        ("not json", ()),
        ({"0": 5}, ()),
    ],
)
def test_a_memory_series_is_read_as_stored(stored: object, pairs: tuple) -> None:
    assert untimed.series(stored) == pairs


def test_crash_has_one_table_per_configuration(report: render.Report) -> None:
    md = _between(report.markdown.read_text("utf-8"), "### crash", "### Environment")
    assert md.startswith(": Crash survival\n\nWhat survives a writer killed mid-run")
    first = _between(md, "#### flush_every=100, n_values=1000", "####")
    lines = [line for line in first.splitlines() if line.startswith("| ")]
    assert lines[0] == (
        "| framework | ok / cells | logged | flushed | survived | survived % "
        "| everything flushed survived | store opens | durability | fidelity | other outcomes |"
    )
    assert lines[1:] == [  # most survived first; the timed-out framework last
        "| tracker (reference) | 1 / 1 | 700 | 700 | 700 | 100.0 | yes | yes | power | exact | - |",
        "| sqlite (floor) | 1 / 1 | 900 | 800 | 899 | 99.9 | yes | yes | power | exact | - |",
        "| mltraq | 1 / 1 | 650 | 600 | 300 | 46.2 | no | yes | process | wrong_data | - |",
        "| wandb | 1 / 1 | 800 | 0 | 0 | 0.0 | nothing flushed (no flush()) | no | none "
        "| not_checked | - |",
        "| mlflow | 0 / 1 | - | - | - | - | - | - | - | - | timeout 1/1 |",
    ]
    second = _between(md, "#### flush_every=100000, n_values=100000", "![")
    rows = [line for line in second.splitlines() if line.startswith("| ")][1:]
    assert rows == [
        # killed before its first flush: nothing flushed, though the framework has a flush()
        "| tracker (reference) | 1 / 1 | 99,999 | 0 | 99,998 | >99.9 | nothing flushed | yes "
        "| power | exact | - |",
        # as many came back as were flushed, but a value came back wrong: never a plain yes
        "| mlflow | 1 / 1 | 1,000 | 500 | 900 | 90.0 | yes by count (wrong data) | yes "
        "| process | wrong_data | - |",
    ]
    assert "median s" not in md  # not a timed table


def test_crash_rows_whose_data_is_not_clean_are_marked(report: render.Report) -> None:
    page = report.html.read_text("utf-8")
    section = _between(page, "<h3>crash ", "<h3>")
    assert section.count("<table>") == 2 and section.count("<h4>") == 2
    assert section.count('<tr class="failed"><td>mltraq</td>') == 1  # wrong data
    assert '<tr class="failed"><td>wandb</td>' in section  # not checked: the store won't open
    assert '<tr class="failed"><td>mlflow</td>' in section  # timed out
    assert "<tr><td>tracker (reference)</td>" in section
    assert '<td class="num" data-sort="46.2">46.2</td><td>no</td>' in section
    assert 'alt="crash: values that survived the kill per framework"' in section


def test_the_survival_bars_are_sorted_and_labelled(report: render.Report) -> None:
    (image,) = [im for im in report.images if im.kind == "survival"]
    assert image.scenario == "crash" and image.png.stat().st_size > 0
    texts = _svg_texts(image.svg)
    labels = [t for _, t in sorted(texts) if " survived (" in t]
    # first panel, top down: most survived first, those whose data is not clean after
    assert labels[:3] == [
        "tracker  700/700 survived (100.0%), 700 flushed",
        "mltraq  300/650 survived (46.2%), 600 flushed: wrong data",
        "wandb  0/800 survived (0.0%), no flush(), store does not open",
    ]
    assert labels[3:] == [
        "tracker  99,998/99,999 survived (&gt;99.9%), nothing flushed",
        "mlflow  900/1,000 survived (90.0%), 500 flushed: wrong data",
    ]
    shown = [t for _, t in texts]
    assert "the limit: sqlite 899/900 (99.9%) " in shown  # the floor is a line, not a bar
    assert "mlflow: timeout" in shown  # no figure, still named
    assert "crash, flush_every=100, n_values=1000" in shown


@pytest.mark.parametrize(
    ("stored", "opens"),
    [(True, True), (False, False), (1, True), (0, False), (None, None), ("yes", None)],
)
def test_store_opens_is_read_as_stored(stored: object, opens: bool | None) -> None:
    assert untimed.store_opens(stored) is opens


@pytest.mark.parametrize(
    ("share", "text"),
    [
        (1.0, "100.0"),
        (0.99999, ">99.9"),
        (0.0, "0.0"),
        (0.00001, "<0.1"),
        (0.4615, "46.2"),
        (float("nan"), "-"),
    ],
)
def test_a_share_is_never_rounded_to_all_or_nothing(share: float, text: str) -> None:
    assert untimed.percent(share) == text
