"""`trackbench report`, `compare` and `export`: outputs, and one-line errors for bad input."""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from results import schema as S
from results.cells import HEADLINE, HEADLINE_NS
from results.database import DEFAULT_DB
from scenarios.cli import main


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no traceback
    return err


def test_missing_database_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for command in ("report", "export"):
        err = _error(capsys, [command, "--db", str(tmp_path / "nope.db")])
        assert "no results database at" in err
        assert not (tmp_path / "nope.db").exists()  # a report never creates a database


def test_default_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert DEFAULT_DB == "results/trackbench.db"
    monkeypatch.chdir(tmp_path)
    err = _error(capsys, ["report"])
    assert "results/trackbench.db" in err


def test_unreadable_database_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all" * 100)
    assert "is not an SQLite database" in _error(capsys, ["report", "--db", str(junk)])
    # an SQLite file that is not a results database
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    err = _error(capsys, ["report", "--db", str(other)])
    assert "trackbench: error:" in err


def test_unknown_suite_is_one_line(capsys: pytest.CaptureFixture[str], golden_db: Path) -> None:
    err = _error(capsys, ["report", "--db", str(golden_db), "--suite", "nope"])
    assert "unknown suite id 'nope'" in err
    assert "alpha-1, alpha-2, beta-1" in err
    err = _error(capsys, ["compare", "nope", "alpha-2", "--db", str(golden_db)])
    assert "unknown suite id 'nope'" in err
    err = _error(capsys, ["export", "--db", str(golden_db), "--suite", "nope"])
    assert "unknown suite id 'nope'" in err


def test_report_of_one_chosen_suite(golden_db: Path, tmp_path: Path) -> None:
    assert (
        main(["report", "--db", str(golden_db), "--out", str(tmp_path), "--suite", "alpha-1"]) == 0
    )
    markdown = (tmp_path / "report.md").read_text("utf-8")
    assert "## suite alpha-1 on alpha" in markdown
    assert "suite beta-1" not in markdown.split("## Other suites")[0]
    # alpha-1 startup: tracker 40 41 42 -> 0.0410; mltraq 1140/41 = 27.8; mlflow 6100/41 = 148.8
    assert "| default | tracker (reference) | 0.1.0 | 3 / 3 | 0.0410 |" in markdown
    assert "| 27.8x | 27.8x |" in markdown
    assert "| 149x | 149x |" in markdown
    assert f"trackbench report --db golden.db --out {tmp_path.name} --suite alpha-1" in markdown


def test_compare_lists_regressions_first(
    capsys: pytest.CaptureFixture[str], golden_db: Path
) -> None:
    assert main(["compare", "alpha-1", "alpha-2", "--db", str(golden_db)]) == 0
    out = capsys.readouterr().out
    table = [line for line in out.splitlines() if line.startswith("| ")][1:]
    # tracker startup: 50/41 = 1.22; interval 48/42 = 1.14 .. 53/40 = 1.325;
    # 48..53 and 40..42 do not overlap and 1.14 clears the 10% minimum effect: a regression
    assert table[0] == (
        "| regression | startup | default | tracker | 0.0410 s | 0.0500 s | 1.22x | 1.14 to 1.32 "
        "| 3 / 3 |"
    )
    # mlflow looks faster (4850/6100 = 0.795) but one of its cells crashed: a new failure, and
    # its 2 ok samples claim nothing about its time (`~`)
    assert table[1].startswith("| new failure | startup | default | mlflow | 6.10 s | 4.85 s ")
    assert table[1].endswith("| ~0.795x | 0.774 to 0.817 | 3 / 2 |")
    # mltraq: 1130/1140 = 0.991, ranges 1100..1150 and 1120..1160 overlap
    assert table[2].startswith("| within noise | startup | default | mltraq |")
    assert "| ~0.991x |" in table[2]
    assert all(line.startswith("| only in NEW | high_frequency") for line in table[3:])
    assert len(table) == 3 + 9
    assert (
        main(["compare", "alpha-1", "alpha-2", "--db", str(golden_db), "--fail-on-regression"]) == 1
    )


def test_compare_shows_different_machines_side_by_side(
    capsys: pytest.CaptureFixture[str], golden_db: Path, tmp_path: Path
) -> None:
    assert main(["compare", "alpha-2", "beta-1", "--db", str(golden_db)]) == 0
    out = capsys.readouterr().out
    assert "DIFFERENT MACHINES (alpha vs beta): shown side by side, never pooled" in out
    head, _, *table = [line for line in out.splitlines() if line.startswith("| ")]
    assert head.endswith("| samples | OLD x fastest | NEW x fastest |")
    kinds = {line.split(" | ")[0].strip("| ") for line in table}
    assert kinds and not kinds & {"regression", "improvement", "within noise"}
    assert "side by side" in kinds
    # each side's framework against the fastest on its own machine
    tracker = next(line for line in table if "| startup | default | tracker |" in line)
    assert tracker.split(" | ")[-2:] != ["-", "- |"]
    out_file = tmp_path / "cmp.md"
    assert (
        main(
            [
                "compare",
                "alpha-2",
                "beta-1",
                "--db",
                str(golden_db),
                "--force",
                "--out",
                str(out_file),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "DIFFERENT MACHINES (alpha vs beta), compared because of --force" in out
    assert out_file.read_text("utf-8") == out


def test_compare_two_databases(
    capsys: pytest.CaptureFixture[str], golden_db: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    shutil.copyfile(golden_db, copy)
    # each database's latest suite (beta-1) against itself: nothing beyond the noise
    assert main(["compare", str(golden_db), str(copy), "--fail-on-regression"]) == 0
    out = capsys.readouterr().out
    assert "within noise: 3" in out
    assert "regression" not in out.split("|", 1)[1]


def test_compare_other_metric(capsys: pytest.CaptureFixture[str], golden_db: Path) -> None:
    assert (
        main(
            ["compare", "alpha-1", "alpha-2", "--db", str(golden_db), "--metric", "peak_rss_bytes"]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "| within noise | startup | default | tracker | 30.0 MB | 30.0 MB | ~1.00x |" in out
    err = _error(
        capsys, ["compare", "alpha-1", "alpha-2", "--db", str(golden_db), "--metric", "outcome"]
    )
    assert "cannot compare 'outcome'" in err


def test_export_writes_every_cell(golden_db: Path, tmp_path: Path) -> None:
    assert main(["export", "--db", str(golden_db), "--out", str(tmp_path)]) == 0
    with open(tmp_path / "cells.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    # alpha-1: 3 x 3; alpha-2: 3 x 3 + 3 x 3 x 6; beta-1: 3 x 3
    assert len(rows) == 9 + 9 + 54 + 9
    columns = list(rows[0])
    assert columns[:11] == [
        "scenario",
        "suite_id",
        "machine",
        "framework",
        "framework_version",
        "role",
        "config",
        "repetition",
        "schema_version",
        "run_id",
        "run_name",
    ]
    assert columns[11] == "n_values"
    # the schema's fields, the numbers of one scenario's cells, schema 1's wall_ns, which
    # field is the headline and its value, then the other fields of one scenario's cells
    assert columns[12:] == [*S.CELL_FIELDS, *S.SCENARIO_NUMBERS, *S.OLD_FIELDS, HEADLINE,
                            HEADLINE_NS, *S.SCENARIO_FIELDS]  # fmt: skip
    first = next(
        r
        for r in rows
        if r["suite_id"] == "alpha-2"
        and r["framework"] == "tracker"
        and r["scenario"] == "startup"
        and r["repetition"] == "0"
    )
    assert (first["wall_ns"], first["outcome"], first["machine"]) == ("50000000", "ok", "alpha")
    assert (first[HEADLINE], first[HEADLINE_NS]) == ("wall_ns", "50000000")  # schema 1
    hf = next(r for r in rows if r["scenario"] == "high_frequency")
    assert hf["n_values"] in ("100", "1000", "10000")  # integers stay integers
    crash = [r for r in rows if r["outcome"] == "crash"]
    assert len(crash) == 1 and "database is locked" in crash[0]["reason"]
    assert sum(r["outcome"] == "unsupported" for r in rows) == 6

    import pyarrow.parquet as pq

    table = pq.read_table(tmp_path / "cells.parquet")
    assert table.num_rows == len(rows)
    assert table.column_names == columns
    assert str(table.schema.field("wall_ns").type) == "int64"
    assert str(table.schema.field("n_values").type) == "int64"


def test_export_one_suite(golden_db: Path, tmp_path: Path) -> None:
    assert (
        main(["export", "--db", str(golden_db), "--out", str(tmp_path), "--suite", "beta-1"]) == 0
    )
    with open(tmp_path / "cells.csv", newline="", encoding="utf-8") as fh:
        assert {r["suite_id"] for r in csv.DictReader(fh)} == {"beta-1"}


def test_importing_the_commands_stays_light() -> None:
    code = (
        "import sys, scenarios.cli, reports.cli, reports.render, reports.compare, "
        "reports.export, reports.analysis, reports.plots, reports.stats, results.cells, "
        "results.store; "
        "scenarios.cli.build_parser(); "
        "heavy = [m for m in ('matplotlib', 'pandas', 'numpy', 'pyarrow') if m in sys.modules]; "
        "print(heavy)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert done.stdout.strip() == "[]"


def test_a_string_in_a_timing_field_is_one_line(
    capsys: pytest.CaptureFixture[str], golden_db: Path, tmp_path: Path
) -> None:
    import sqlite3

    damaged = tmp_path / "damaged.db"
    shutil.copyfile(golden_db, damaged)
    conn = sqlite3.connect(damaged)
    conn.execute(
        "UPDATE fields SET kind = 'str', value_int = NULL, value_real = NULL,"
        " value_text = 'fast' WHERE name = 'log_ns'"
    )
    conn.commit()
    conn.close()
    for argv in (
        ["report", "--db", str(damaged), "--out", str(tmp_path / "out")],
        ["compare", str(damaged), str(golden_db)],
        ["export", "--db", str(damaged), "--out", str(tmp_path / "cells")],
    ):
        err = _error(capsys, argv)
        assert "has log_ns = 'fast', not a number" in err, err


def test_a_report_into_a_folder_it_cannot_make_is_one_line(
    capsys: pytest.CaptureFixture[str], golden_db: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    err = _error(capsys, ["report", "--db", str(golden_db), "--out", str(blocker / "out")])
    assert "cannot use" in err and "Not a directory" in err, err
