"""The report's sections below the scenarios (issue 18): one per framework, the failures
collapsed, the commands and machine that reproduce the page, and nothing of the machine's
own file system in a page meant to be published.

Two suites: a small one of fake adapters through real workers (the runner's plumbing, not
evidence about any framework: `Raiser` crashes at step 5 in each of its four cells, EnvProbe
records its environment, the cell's paths in it, as its reason), and one written through the
store with the declarations and outcomes spelled out below.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from suite_db import write_suite

from reports import analysis, frameworks, render, stats
from reports.provenance import provenance, public_command, public_text, public_url
from results import schema as S
from results.cells import load
from results.provenance import (
    ENV_LOCK,
    ENV_SIZE_BYTES,
    FILESYSTEM,
    MEMORY,
    filesystem_type,
    machine_info,
)
from scenarios import envs, runner

FAKE = "tests.scenarios.fake_adapters"
MEMORY_FW, RAISER, PROBE = f"{FAKE}:Memory", f"{FAKE}:Raiser", f"{FAKE}:EnvProbe"
MS = 1_000_000
CELL = "/tmp/trackbench-cell-4026531836.77.1234-{}/work/mlruns/0/meta.yaml"
LOCKED = 'exit code 1: Traceback (most recent call last):\n  File "{}"\nOSError: locked'


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, render.Report]:
    """A suite of fake adapters through real workers, its commands naming absolute paths,
    and its report."""
    db = tmp_path_factory.mktemp("sections") / "bench.db"
    options = runner.Options(
        frameworks=[MEMORY_FW, RAISER, PROBE], scenarios=["high_frequency"], repeat=2,
        overrides={"high_frequency": {"n_values": [10, 20]}}, db=f"sqlite:///{db}",
        python=sys.executable, command=f"trackbench run --db {db} --spec {Path.home()}/job.toml",
    )  # fmt: skip
    assert runner.run_suite(options, stream=io.StringIO()).outcomes == {S.OK: 8, S.CRASH: 4}
    results = load(os.fspath(db))
    out = db.parent / "out"
    command = f"trackbench report --db {db} --out {out}"
    return db, render.build(results, analysis.sections(results), out, command)


def _pages(report: render.Report) -> tuple[str, str]:
    return report.html.read_text("utf-8"), report.markdown.read_text("utf-8")


# --- 4: one section per framework ----------------------------------------------------------

LOSS = "steps stored as float32 (synthetic)"
DECLARED = {
    "tracker": {"supports": ["arrays", "steps"], "lacks": {}, "fidelity": S.EXACT,
                "array_mechanism": "NPY bytes in a BLOB (synthetic)", "durability": S.PROCESS,
                "leaves_behind": "", "env": {}, ENV_SIZE_BYTES: 120_000_000,
                ENV_LOCK: "locked"},
    "mlflow": {"supports": ["steps"], "lacks": {"arrays": "no array API (synthetic)"},
               "fidelity": S.LOSSY, "fidelity_note": LOSS, "durability": S.POWER,
               "flush_note": "the queue is not drained (synthetic)",
               "leaves_behind": "a server process (synthetic)",
               "env": {"MLFLOW_TRACKING_URI": "sqlite:///{workdir}/mlflow.db"},
               "broken": ""},
}  # fmt: skip
PHASES = {S.IMPORT_NS: 30 * MS, S.INIT_NS: 10 * MS, S.START_RUN_NS: 5 * MS, S.LOG_NS: 50 * MS,
          S.END_RUN_NS: 1 * MS, S.FINISH_NS: 3 * MS, S.EXIT_NS: 1 * MS}  # fmt: skip
# scenario -> framework -> [(config, [fields of each repetition])]; a string is its outcome
CELLS: dict[str, Any] = {
    "startup": {
        "tracker": [({}, [{S.TRACKING_NS: 100 * MS, **PHASES}] * 3)],
        "mlflow": [({}, [{S.TRACKING_NS: 900 * MS, **PHASES, S.IMPORT_NS: 830 * MS,
                          S.FIDELITY: S.LOSSY, S.REASON: LOSS, S.DURABILITY: S.POWER}] * 2
                    + [CELL.format("aaaa")])],
    },
    "arrays": {
        "tracker": [({"n_elements": 10}, [{S.TRACKING_NS: 50 * MS}] * 3)],
        "mlflow": [({"n_elements": 10}, ["unsupported"] * 3)],
    },
    "high_frequency": {
        "tracker": [({"n_values": 100}, [{S.TRACKING_NS: 20 * MS, **PHASES}] * 3),
                    ({"n_values": 1000}, [{S.TRACKING_NS: 40 * MS, **PHASES}] * 3)],
        "mlflow": [({"n_values": 100}, [CELL.format("bbbb"), CELL.format("cccc")])],
    },
}  # fmt: skip


def result(fields: dict[str, Any] | str) -> dict[str, Any]:
    """What a worker returns for one cell: ok with these fields, or not (a crash naming its
    cell's folder, or unsupported)."""
    if fields == "unsupported":
        why = "needs arrays: no array API (synthetic)"
        return {S.OUTCOME: S.UNSUPPORTED, S.FIDELITY: S.NOT_CHECKED, S.REASON: why}
    if isinstance(fields, str):
        return {S.OUTCOME: S.CRASH, S.FIDELITY: S.NOT_CHECKED, S.REASON: LOCKED.format(fields),
                S.FRAMEWORK_VERSION: "3.1"}  # fmt: skip
    return {S.OUTCOME: S.OK, S.FIDELITY: S.EXACT, S.FRAMEWORK_VERSION: "3.1",
            S.DURABILITY: S.PROCESS, **fields}  # fmt: skip


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[analysis.Section, render.Report]:
    path = write_suite(tmp_path_factory.mktemp("written") / "w.db", "w-1", CELLS, result, DECLARED)
    results = load(os.fspath(path))
    (section,) = analysis.sections(results)
    report = render.build(results, [section], path.parent / "out", "trackbench report")
    return section, report


def test_each_framework_has_a_section_from_what_its_adapter_declared(
    written: tuple[analysis.Section, render.Report],
) -> None:
    section, report = written
    profiles = {p.name: p for p in frameworks.profiles(section)}
    assert list(profiles) == ["tracker", "mlflow"]
    facts = dict(render.profile_facts(profiles["mlflow"]))
    assert facts["role"] == "tracker" and facts["version"] == "3.1"
    assert facts["environment"] == "size not recorded"  # mlflow's was not declared
    assert dict(render.profile_facts(profiles["tracker"]))["environment"] == "120 MB, locked"
    assert facts["arrays stored as"] == "not declared"
    assert facts["durability"] == "power; its flush() misses: the queue is not drained (synthetic)"
    assert facts["documented losses"] == LOSS  # declared, and recorded by the lossy cells: once
    assert facts["leaves behind"] == (
        "declared: a server process (synthetic); seen: no cell left a process running or a "
        "file outside its work directory"
    )
    assert facts["lacks"] == "arrays: no array API (synthetic)"
    assert facts["unsupported cells"] == (
        "arrays (3 cells): needs arrays: no array API (synthetic)"
    )
    assert facts["other outcomes"] == f"crash 3 (reasons under {render.FAILURES_TITLE})"
    # where the time goes: startup's one configuration, high_frequency's none (no ok cell)
    assert facts["time mostly spent on"] == "import (92% in startup)"
    head, body = render.time_table(profiles["mlflow"])
    assert head[:4] == ["scenario", "configuration", "median s", "import"]
    assert body == [["startup", "default", "0.900", "830 ms (92%)", "10.0 ms (1%)", "5.00 ms (1%)",
                     "50.0 ms (6%)", "1.00 ms (0%)", "3.00 ms (0%)", "1.00 ms (0%)"]]  # fmt: skip
    # the tracker's largest high_frequency configuration is the one shown
    assert [r[:2] for r in render.time_table(profiles["tracker"])[1]] == [
        ["startup", "default"], ["high_frequency", "n_values=1000"]]  # fmt: skip
    page, markdown = _pages(report)
    frameworks_part = markdown.split("### Frameworks")[1].split("### Failures")[0]
    assert "#### tracker" in frameworks_part and "#### mlflow" in frameworks_part
    assert "| arrays stored as | NPY bytes in a BLOB (synthetic) |" in frameworks_part
    anchor = render.framework_anchor(section, "mlflow")
    assert anchor == f"{section.slug}-framework-mlflow" and f'<h4 id="{anchor}">mlflow</h4>' in page
    # after every scenario's section
    assert page.index("<h3>high_frequency ") < page.index(">Frameworks</h3>")


def test_an_old_suite_s_frameworks_say_what_was_not_recorded(golden2_db: Path) -> None:
    (section, _) = analysis.sections(load(os.fspath(golden2_db)))
    profile = frameworks.profiles(section)[0]
    assert not profile.declared and profile.env_bytes is None
    facts = dict(render.profile_facts(profile))
    assert facts["arrays stored as"] == render.NOT_DECLARED
    assert facts["environment"] == "size not recorded"


def test_the_runner_records_each_environment_s_size(tmp_path: Path) -> None:
    from tests.scenarios.test_runner import FakeCells

    db = tmp_path / "r.db"
    options = runner.Options(frameworks=["null"], scenarios=["startup"], repeat=1,
                             db=f"sqlite:///{db}", command="pytest")  # fmt: skip
    assert runner.run_suite(options, stream=io.StringIO(), run_cell=FakeCells()).ran == 1
    (run,) = load(os.fspath(db)).suite_runs
    built = envs.spec_for("null").info()
    assert built is not None and built["size_bytes"] > 0
    declared = run.declarations()["null"]
    assert declared[ENV_SIZE_BYTES] == built["size_bytes"]
    assert declared[ENV_LOCK] == built["lock_note"]
    (section,) = analysis.sections(load(os.fspath(db)))
    (profile,) = frameworks.profiles(section)
    assert profile.env_bytes == built["size_bytes"]
    size = stats.format_number(built["size_bytes"] / 1e6)
    assert render.environment_text(profile) == f"{size} MB, {built['lock_note']}"


# --- 6: the commands and the machine -------------------------------------------------------


def test_machine_info_records_memory_and_the_cells_file_system() -> None:
    info = machine_info()
    assert info[MEMORY] > 2**20
    assert info[FILESYSTEM] == filesystem_type(tempfile.gettempdir()) != "unknown"
    assert filesystem_type("/proc/self") == "proc"


def test_the_page_says_how_to_reproduce_it_and_where(real: tuple[Path, render.Report]) -> None:
    page, markdown = _pages(real[1])
    block = markdown.split(f"### {render.REPRODUCE_TITLE}")[1]
    assert "```sh\ntrackbench run --db bench.db --spec job.toml\n```" in block
    assert "```sh\ntrackbench report --db bench.db --out out\n```" in block
    memory = machine_info()[MEMORY] / 2**30
    for row in (f"| memory | {memory:.1f} GiB |",
                f"| file system of the cells' work directories | {machine_info()[FILESYSTEM]} |",
                "| database | bench.db |",
                f"| {PROBE} | 1.0 | size not recorded | PROBE_SETTING={{workdir}}/store |",
                f"| {MEMORY_FW} | 1.0 | size not recorded | nothing set |"):  # fmt: skip
        assert row in block, row
    assert "<pre><code>trackbench report --db bench.db --out out</code></pre>" in page


def test_an_old_suite_shows_what_it_did_not_record(golden2_db: Path) -> None:
    results = load(os.fspath(golden2_db))
    (section, _) = analysis.sections(results)
    shown = dict(render.environment(provenance(section, "trackbench report"), results))
    assert shown["memory"] == "not recorded"
    assert shown["file system of the cells' work directories"] == "not recorded"


# --- 7: failures collapsed -----------------------------------------------------------------


def test_failures_are_one_row_per_reason_with_the_full_text_a_click_away(
    real: tuple[Path, render.Report],
) -> None:
    page, markdown = _pages(real[1])
    table = markdown.split(f"### {render.FAILURES_TITLE}")[1].split("###")[0]
    rows = [line for line in table.splitlines() if line.startswith(f"| {FAKE}")]
    # four cells (two configurations, two repetitions each), one traceback: one row
    assert rows == [
        f"| {RAISER} | crash | 4 | high_frequency (n_values=10), high_frequency (n_values=20) "
        "| RuntimeError: cannot log step 5 [F1] |"
    ]
    # the whole traceback once, at the page's end, collapsed
    assert markdown.count("Traceback (most recent call last)") == 1
    end = markdown.split("<details><summary>The failures' full texts</summary>")[1]
    assert end.startswith(f"\n\n[F1] {RAISER}, crash, 4 cells:\n\n```text\nworkload: ")
    assert 'raise RuntimeError("cannot log step 5")' in end and end.rstrip().endswith("</details>")
    # in HTML, in the row itself
    assert page.count("Traceback (most recent call last)") == 1
    assert "<details><summary>RuntimeError: cannot log step 5</summary><pre>workload: " in page


def test_reasons_differing_only_in_their_cell_s_folder_are_one(
    written: tuple[analysis.Section, render.Report],
) -> None:
    _, report = written
    page, markdown = _pages(report)
    assert "trackbench-cell-" not in page + markdown
    (row,) = [line for line in markdown.splitlines() if line.startswith("| mlflow | crash |")]
    assert row == (
        "| mlflow | crash | 3 | startup (default), high_frequency (n_values=100) "
        "| OSError: locked [F1] |"
    )
    assert 'File "<cell>/work/mlruns/0/meta.yaml"' in markdown.split("full texts")[1]
    full = "<pre>exit code 1: Traceback (most recent call last):\n  File &quot;&lt;cell&gt;/work/"
    assert full in page


def test_a_long_last_line_is_shown_by_its_end() -> None:
    group = frameworks.FailureGroup("f", S.CRASH, "x" * 1000 + "the end", 1, ("s (c)",))
    assert group.last_line == "..." + ("x" * 1000 + "the end")[-frameworks.LAST_LINE_CHARS :]
    assert group.cut
    assert not frameworks.FailureGroup("f", S.CRASH, "one line", 1, ()).cut
    empty = frameworks.FailureGroup("f", S.CRASH, "", 1, ())
    assert empty.last_line == "(no reason given)" and not empty.cut


# --- 8: nothing local ----------------------------------------------------------------------


def _local(text: str, paths: list[str]) -> list[str]:
    """Each of `paths` found in `text` as the start of a path (not inside another one, as
    `<cell>/tmp` is the cell's own folder)."""
    return [p for p in paths if re.search(rf"(?<![\w.>;$/~-]){re.escape(p)}(?=/|\b)", text)]


def test_nothing_of_the_machine_s_file_system_is_published(
    real: tuple[Path, render.Report],
) -> None:
    db, report = real
    page, markdown = _pages(report)
    paths = [os.fspath(Path.home()), tempfile.gettempdir(), os.fspath(db), os.fspath(db.parent)]
    assert _local(page, paths) == [] and _local(markdown, paths) == []
    svgs = [im.svg.read_text("utf-8") for im in report.images]
    assert svgs and all("results: trackbench run --db bench.db" in svg for svg in svgs)
    assert [p for svg in svgs for p in _local(svg, paths)] == []
    # EnvProbe's reasons held its cell's folders, the home and site-packages: shortened
    assert "&quot;cwd&quot;: &quot;&lt;cell&gt;/work&quot;" in page
    assert '"HOME": "&lt;cell>/home"' in markdown  # `<` escaped, or GitHub drops it
    assert "<env>/site-packages" in public_text(sys.path[-1] + " " + json.dumps(sys.path))


def test_public_names_of_databases_commands_and_paths() -> None:
    home, tmp = os.fspath(Path.home()), tempfile.gettempdir()
    assert public_url("sqlite:////srv/x/trackbench.db") == "trackbench.db"
    assert public_url("postgresql://me:secret@db:5432/bench?host=/run/pg") == (
        "postgresql://me@db:5432/bench"
    )
    here = os.path.join(os.getcwd(), "results", "t.db")
    assert public_command(f"trackbench run --db={here} --spec {home}/job.toml --db2 {tmp}/a") == (
        "trackbench run --db=results/t.db --spec job.toml --db2 a"
    )
    assert public_text(f"{home}/.cache/x, /home/bob/y and {tmp}/z") == (
        "~/.cache/x, ~/y and $TMPDIR/z"
    )
