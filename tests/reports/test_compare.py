"""`trackbench compare` claims a difference only when the samples can carry it (issue 17).

The journey of the issue runs for real: two tiny suites of one commit on this machine, which
must claim nothing. The rule's cases run on suites written through the real results store
(suite_db), startup cells of the tracker with tracking_ns chosen by hand, in one database:
OLD is suite old-1, NEW new-1.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import pytest
from suite_db import write_suite

from reports import compare, stats
from results import schema as S
from results.cells import load
from scenarios import envs
from scenarios.cli import main

MS = 1_000_000
CPU = {S.CPU: "Synthetic CPU x2"}  # as results.provenance records it: 2 CPUs


def cells(*ms: float, loads: tuple[float, ...] = ()) -> list[dict[str, Any]]:
    """Startup repetitions taking these milliseconds, the first ones at these load averages."""
    return [
        {S.TRACKING_NS: int(v * MS), S.PEAK_RSS_BYTES: 30_000_000, S.LOAD_AVERAGE: load}
        for v, load in zip(ms, [*loads, *[0.5] * len(ms)], strict=False)
    ]


def result(fields: dict[str, Any]) -> dict[str, Any]:
    """An ok startup cell whose data came back exact."""
    return {S.OUTCOME: S.OK, S.FIDELITY: S.EXACT, S.FRAMEWORK_VERSION: "1.0", **fields}


def two_suites(
    tmp_path: Path, old: list[dict[str, Any]], new: list[dict[str, Any]], cpu: bool = True
) -> Path:
    """A database with suites old-1 and new-1, the tracker's startup cells `old` and `new`."""
    db = tmp_path / "r.db"
    for suite, reps in (("old-1", old), ("new-1", new)):
        write_suite(db, suite, {"startup": {"tracker": [({}, reps)]}}, result,
                    params=CPU if cpu else None)  # fmt: skip
    return db


def run_compare(
    capsys: pytest.CaptureFixture[str], db: Path, *more: str
) -> tuple[int, str, list[str]]:
    """The exit code, the output and the table's rows of `compare old-1 new-1`."""
    code = main(["compare", "old-1", "new-1", "--db", os.fspath(db), *more])
    out = capsys.readouterr().out
    return code, out, [line for line in out.splitlines() if line.startswith("| ")][1:]


def test_the_same_commit_twice_claims_no_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's journey, real: two suites of one commit, then compare them."""
    envs.ensure("tracker")
    db = os.fspath(tmp_path / "results.db")
    argv = ["run", "--db", db, "--frameworks", "tracker", "--scenarios", "startup",
            "high_frequency", "--set", "high_frequency.n_values=100", "--repeat", "3"]  # fmt: skip
    assert main(argv) == 0 and main(argv) == 0
    results = load(db)
    assert set(results.cells[S.OUTCOME]) == {S.OK}
    old, new = results.suite_ids()
    out_file = tmp_path / "cmp.json"
    code = main(["compare", old, new, "--db", db, "--out", os.fspath(out_file),
                 "--fail-on-regression"])  # fmt: skip
    out = capsys.readouterr().out
    changes = json.loads(out_file.read_text("utf-8"))["changes"]
    assert len(changes) == 2 and {c["old_samples"] for c in changes} == {3}
    assert {c["new_samples"] for c in changes} == {3}
    # A busy machine (2 cores shared here) can make one suite slower than the other: such a
    # claim must say the machine was loaded, and --fail-on-regression then fails as it should
    # for any claimed regression. On a quiet machine the same code claims nothing.
    claimed = [c for c in changes if c["claimed"]]
    assert all(c["under_load"] for c in claimed), out
    assert all("under load" in line for line in out.splitlines() if "| regression" in line)
    assert code == (1 if any(c["change"] == compare.REGRESSION for c in claimed) else 0), out
    if not any(c["under_load"] for c in changes):
        assert code == 0 and "no change; within noise: 2" in out, out
        assert "regression" not in out.split("|", 1)[1] and "improvement" not in out, out


def test_one_sample_against_three_claims_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = two_suites(tmp_path, cells(40), cells(20, 21, 22))  # half the time, from one sample
    code, out, table = run_compare(capsys, db, "--fail-on-regression")
    assert code == 0
    assert table == [
        "| too few samples (< 3) | startup | default | tracker | 0.0400 s | 0.0210 s | ~0.525x "
        "| 0.500 to 0.550 | 1 / 3 |"
    ]
    assert "no change; too few samples: 1" in out
    # the other way round it is no regression either
    db = two_suites(tmp_path / "back", cells(20, 21, 22), cells(40))
    assert run_compare(capsys, db, "--fail-on-regression")[0] == 0


def test_a_ratio_of_one_is_never_a_regression(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 27.7 MB against 27.7 MB, as the issue saw: constant within a suite, so the ranges are
    # disjoint (27.70 and 27.73), but 1.001x is far below the minimum effect
    old = [{**c, S.PEAK_RSS_BYTES: 27_700_000} for c in cells(10, 11, 12)]
    new = [{**c, S.PEAK_RSS_BYTES: 27_730_000} for c in cells(10, 11, 12)]
    db = two_suites(tmp_path, old, new)
    code, _, table = run_compare(capsys, db, "--metric", "peak_rss_bytes", "--fail-on-regression")
    assert code == 0
    assert table == [
        "| within noise | startup | default | tracker | 27.7 MB | 27.7 MB | ~1.00x | 1.00 to 1.00 "
        "| 3 / 3 |"
    ]


def test_a_real_change_with_three_samples_a_side_is_claimed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = two_suites(tmp_path, cells(10, 11, 12), cells(20, 22, 24))
    code, out, table = run_compare(capsys, db)
    assert code == 0  # without --fail-on-regression
    # 22/11 = 2; the interval 20/12 = 1.67 .. 24/10 = 2.4 lies above 1.10
    assert table == [
        "| regression | startup | default | tracker | 0.0110 s | 0.0220 s | 2.00x | 1.67 to 2.40 "
        "| 3 / 3 |"
    ]
    assert "\nregression: 1\n" in out
    assert "both sides have 3 or more ok samples" in out and "minimum effect of 10%" in out
    assert "it is the range, min to max); its coverage here: 75% with 3 samples" in out
    assert run_compare(capsys, db, "--fail-on-regression")[0] == 1
    # NEW against OLD the other way: an improvement, which never fails a check
    db = two_suites(tmp_path / "back", cells(20, 22, 24), cells(10, 11, 12))
    code, out, table = run_compare(capsys, db, "--fail-on-regression")
    assert code == 0 and table[0].startswith("| improvement | startup |")
    assert "| 0.500x | 0.417 to 0.600 |" in table[0]


def test_the_minimum_effect_is_a_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # 12.1/10.2 = 1.19; the interval 12/10.4 = 1.15 .. 12.2/10 = 1.22: beyond 10%, not 20%
    db = two_suites(tmp_path, cells(10, 10.2, 10.4), cells(12, 12.1, 12.2))
    code, out, table = run_compare(capsys, db, "--fail-on-regression")
    assert code == 1 and table[0].startswith("| regression |") and "| 1.19x |" in table[0]
    code, out, table = run_compare(capsys, db, "--fail-on-regression", "--min-effect", "20")
    assert code == 0 and table[0].startswith("| within noise |") and "| ~1.19x |" in table[0]
    assert "minimum effect of 20% (above 1.20x or below 0.833x, --min-effect)" in out
    for bad in ("0.5", "nan"):
        assert main(["compare", "old-1", "new-1", "--db", os.fspath(db), "--min-effect", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--min-effect is a percentage from 1 to 1000" in err


def test_csv_and_json_hold_the_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = two_suites(tmp_path, cells(10, 11, 12), cells(20, 22, 24, 26))
    code, markdown, _ = run_compare(capsys, db, "--out", os.fspath(tmp_path / "cmp.csv"))
    assert code == 0
    with open(tmp_path / "cmp.csv", newline="", encoding="utf-8") as fh:
        (row,) = csv.DictReader(fh)
    assert row["metric"] == "headline_ns" and row["change"] == compare.REGRESSION
    assert (row["scenario"], row["configuration"], row["framework"]) == (
        "startup",
        "default",
        "tracker",
    )
    # medians 11 ms and 23 ms; the interval 20/12 .. 26/10
    assert float(row["old_median"]) == 11 * MS and float(row["new_median"]) == 23 * MS
    assert float(row["ratio_low"]) == pytest.approx(20 / 12)
    assert float(row["ratio_high"]) == pytest.approx(2.6)
    assert (row["old_samples"], row["new_samples"], row["old_cells"]) == ("3", "4", "3")
    assert (row["claimed"], row["under_load"], row["new_status"]) == ("True", "False", "ok")

    assert main(["compare", "old-1", "new-1", "--db", os.fspath(db), "--out",
                 os.fspath(tmp_path / "cmp.json")]) == 0  # fmt: skip
    assert capsys.readouterr().out == markdown  # stdout stays Markdown
    document = json.loads((tmp_path / "cmp.json").read_text("utf-8"))
    assert document["rule"] | {"text": ""} == {
        "text": "",
        "min_samples": 3,
        "min_effect": 0.1,
        "interval": stats.ORDER_STATISTIC,
        "confidence": 0.95,
        "loaded": "a cell's load_average above the machine's CPU count",
    }
    assert (document["old"]["suite_id"], document["new"]["cpu_count"]) == ("old-1", 2)
    assert document["counts"] == {compare.REGRESSION: 1}
    (change,) = document["changes"]
    assert change == {k: row[k] for k in row if k != "metric"} | {
        "old_median": 11 * MS, "new_median": 23 * MS, "ratio": 23 / 11,
        "ratio_low": change["ratio_low"], "ratio_high": change["ratio_high"],
        "claimed": True, "under_load": False, "old_samples": 3, "new_samples": 4,
        "old_cells": 3, "new_cells": 4, "old_low": 10 * MS, "old_high": 12 * MS,
        "new_low": 20 * MS, "new_high": 26 * MS, "old_loaded": 0, "new_loaded": 0,
        "old_vs_fastest": 1.0, "new_vs_fastest": 1.0,  # the only framework: its own fastest
    }  # fmt: skip

    md = tmp_path / "cmp.md"
    assert main(["compare", "old-1", "new-1", "--db", os.fspath(db), "--out", os.fspath(md)]) == 0
    assert md.read_text("utf-8") == capsys.readouterr().out == markdown
    err_argv = ["compare", "old-1", "new-1", "--db", os.fspath(db), "--out", "cmp.xlsx"]
    assert main(err_argv) == 2
    err = capsys.readouterr().err
    assert err == (
        "trackbench: error: cannot write cmp.xlsx: compare writes .csv, .json or Markdown "
        "(.md), not .xlsx\n"
    )


def test_a_loaded_cell_is_marked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # one NEW cell ended with the 1-minute load average at 3.5 on 2 CPUs
    db = two_suites(tmp_path, cells(10, 11, 12), cells(20, 22, 24, loads=(3.5,)))
    code, out, table = run_compare(capsys, db, "--fail-on-regression")
    assert code == 1  # a claimed regression, loaded or not
    assert table == [
        "| regression, under load | startup | default | tracker | 0.0110 s | 0.0220 s "
        "(loaded 1/3) | 2.00x | 1.67 to 2.40 | 3 / 3 |"
    ]
    assert "ended with the machine's 1-minute load average above its CPU count" in out
    # exactly the CPU count is not above it
    db = two_suites(tmp_path / "at", cells(10, 11, 12), cells(20, 22, 24, loads=(2.0,)))
    _, out, table = run_compare(capsys, db)
    assert table[0].startswith("| regression | ") and "loaded" not in out
    # without a CPU count the load is not judged, and the header says so
    db = two_suites(tmp_path / "nocpu", cells(10, 11, 12), cells(20, 22, 24, loads=(9.0,)),
                    cpu=False)  # fmt: skip
    _, out, table = run_compare(capsys, db)
    assert "- load: not judged for OLD and NEW (no CPU count recorded)" in out
    assert "loaded" not in table[0]


def test_the_order_statistic_interval() -> None:
    # coverage of X(k)..X(n+1-k): 1 - 2 P(Binomial(n, 1/2) < k)
    assert stats.order_coverage(3, 1) == 0.75  # 1 - 2/8
    assert stats.order_coverage(9, 2) == pytest.approx(1 - 2 * 10 / 512)  # 0.961
    assert [stats.order_rank(n) for n in (3, 5, 6, 8, 9, 12, 20)] == [1, 1, 1, 1, 2, 3, 6]
    s = stats.summarize([9, 1, 8, 2, 7, 3, 6, 4, 5], interval=stats.ORDER_STATISTIC)
    assert (s.median, s.low, s.high, s.kind) == (5, 2, 8, stats.ORDER_STATISTIC)
    # the report's summaries are unchanged: a bootstrap from 5 samples
    assert stats.summarize([5, 4, 3, 2, 1]).kind == stats.CI95


def test_swapping_the_sides_gives_the_same_verdict() -> None:
    # disjoint ranges, a change of 13/12 = 1.083 at least: beyond 5%, not beyond 10%
    a, b = stats.summarize([10, 11, 12]), stats.summarize([13, 13.5, 14])
    for min_effect, claimed in ((0.0, True), (0.05, True), (0.10, False)):
        assert stats.ratio(b, a, min_effect).within_noise == (not claimed)
        assert stats.ratio(a, b, min_effect).within_noise == (not claimed)
