"""The fidelity scenario in the report: one matrix of value kinds, never a timed table.

Fake adapters (the runner's plumbing, not evidence about any framework; the real
frameworks' matrices are tests/adapters/test_fidelity_matrix.py) through real workers and
the real results database: Memory keeps every kind, Float32 rounds, Dropping skips
non-finite values.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import pytest

from reports import analysis, render
from results.cells import load
from scenarios import runner

FAKE = "tests.scenarios.fake_adapters"
MEMORY, FLOAT32, DROPPING = f"{FAKE}:Memory", f"{FAKE}:Float32", f"{FAKE}:Dropping"


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A suite of the fidelity and startup scenarios for three fakes, repeat 3 asked for."""
    db = tmp_path_factory.mktemp("fidelity") / "r.db"
    options = runner.Options(
        frameworks=[MEMORY, FLOAT32, DROPPING], scenarios=["fidelity", "startup"], repeat=3,
        db=f"sqlite:///{db}", python=sys.executable, command="pytest",
    )  # fmt: skip
    summary = runner.run_suite(options, stream=io.StringIO())
    assert summary.outcomes == {"ok": 3 + 9}  # the matrix once per framework, startup 3 times
    return db


def test_the_matrix_is_read_back_per_framework(suite: Path) -> None:
    (section,) = analysis.sections(load(os.fspath(suite)))
    kinds, rows = analysis.value_kinds(section, "fidelity")
    assert "nan" in kinds and "fortran_array" in kinds
    by_name = {r.framework: r for r in rows}
    assert by_name[MEMORY].count("kept") == len(kinds)
    assert by_name[FLOAT32].kinds["not_float32"] == "changed to 1.0"
    assert by_name[FLOAT32].kinds["nan"] == "kept"
    assert [by_name[DROPPING].kinds[k] for k in ("nan", "pos_inf", "neg_inf")] == ["dropped"] * 3
    # the fake keeps one pickle, rewritten by every writer's finish(): what 4 writers creating
    # one experiment at once left is not what they wrote, and the matrix says so
    assert by_name[MEMORY].concurrent_start.startswith("unsafe: ")


def test_the_report_shows_a_matrix_and_no_timing(suite: Path, tmp_path: Path) -> None:
    results = load(os.fspath(suite))
    sections = analysis.sections(results)
    report = render.build(results, sections, tmp_path, "pytest")
    page = report.html.read_text("utf-8")
    fidelity = page.split("<h3>fidelity ")[1].split("<h3>")[0]
    assert '<td class="kept" title="kept">kept</td>' in fidelity
    assert 'title="changed to 1.0">changed</td>' in fidelity
    assert "median s" not in fidelity  # not a timed table
    assert all(im.scenario != "fidelity" for im in report.images)
    markdown = report.markdown.read_text("utf-8").split("### fidelity")[1].split("###")[0]
    assert f"- {FLOAT32} not_float32: changed to 1.0" in markdown
    assert "| framework | kept | nan |" in markdown
    (section,) = sections
    assert section.timed_scenarios() == ["startup"]
