"""`trackbench run --with`: another version of a framework runs in its own environment, is
stored under its own label (`name@version`) with the version installed and the requirement
used, and is never pooled with the pinned one.

The real runs use TensorBoard (tensorboardX, small and offline) at an older release beside
its pin: its environment is built once in TRACKBENCH_ENVS (seconds, from uv's cache).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import tracker
from results import schema as S
from scenarios import envs, estimates, plan
from scenarios.cli import main
from scenarios.limits import Limits

OLD = "2.6.2.2"  # an older tensorboardX than the adapter's pin
PINNED = "2.6.5"
LABEL = f"tensorboard@{OLD}"
SMALL = ["--grid", "quick", "--scenarios", "startup", "--repeat", "1", "--seed", "1"]


def stored(db: Path) -> list[dict[str, Any]]:
    """Every cell stored: its params and fields."""
    conn = tracker.connect(f"sqlite:///{db}")
    try:
        return [
            {"params": run.params, "fields": {k: run[k] for k in run.keys()}}  # noqa: SIM118
            for name in conn.experiments()
            if name != S.SUITES_EXPERIMENT
            for run in conn.experiment(name).runs()
        ]
    finally:
        conn.close()


def suite_runs(db: Path) -> list[tuple[str, dict[str, Any]]]:
    """The command each suite run recorded, and the declarations of its frameworks."""
    conn = tracker.connect(f"sqlite:///{db}")
    try:
        return [
            (r.params[S.COMMAND], json.loads(r[S.DECLARATIONS]))
            for r in conn.experiment(S.SUITES_EXPERIMENT).runs()
        ]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One suite holding TensorBoard at its pin and at OLD: first --with, then both named
    in --frameworks with --resume (the OLD cell already stored is not run again)."""
    db = tmp_path_factory.mktemp("with") / "r.db"
    common = [*SMALL, "--db", os.fspath(db), "--suite", "both"]
    override = ["--frameworks", "tensorboard", "--with", f"tensorboardX=={OLD}"]
    assert main(["run", *common, *override]) == 0
    assert main(["run", *common, "--frameworks", LABEL, "tensorboard", "--resume"]) == 0
    return db


def test_an_override_records_its_installed_version_and_requirement(both: Path) -> None:
    cells = {c["params"][S.FRAMEWORK]: c for c in stored(both)}
    assert sorted(cells) == ["tensorboard", LABEL]  # the resumed run did not repeat OLD
    old, pinned = cells[LABEL], cells["tensorboard"]
    assert old["fields"][S.OUTCOME] == pinned["fields"][S.OUTCOME] == S.OK
    assert old["params"][S.FRAMEWORK_VERSION] == OLD  # read from the installed distribution
    assert old["params"][S.REQUIREMENT] == f"tensorboardX=={OLD}"
    assert pinned["params"][S.FRAMEWORK_VERSION] == PINNED
    assert S.REQUIREMENT not in pinned["params"]
    (first, declared), (second, both_declared) = suite_runs(both)
    assert f"--with tensorboardX=={OLD}" in first and "--frameworks tensorboard" in first
    assert f"--frameworks {LABEL} tensorboard" in second
    assert list(declared) == [LABEL]
    assert both_declared[LABEL]["requirements"] == [f"tensorboardX=={OLD}", "tensorboard==2.21.0"]
    assert both_declared["tensorboard"]["requirements"][0] == f"tensorboardX=={PINNED}"


def test_an_extra_requirement_goes_into_the_other_versions_environment(tmp_path: Path) -> None:
    """What an old version needs and does not declare (W&B 0.16.3 needs NumPy < 2): installed
    in that version's environment only, and recorded with the cells."""
    db = tmp_path / "r.db"
    argv = ["run", *SMALL, "--db", os.fspath(db), "--frameworks", LABEL, "tensorboard",
            "--with", "packaging<24"]  # fmt: skip
    assert main(argv) == 0
    cells = {c["params"][S.FRAMEWORK]: c for c in stored(db)}
    assert cells[LABEL]["params"][S.REQUIREMENT] == f"tensorboardX=={OLD} packaging<24"
    assert S.REQUIREMENT not in cells["tensorboard"]["params"]
    ((_, declared),) = suite_runs(db)
    assert declared[LABEL]["requirements"][-1] == "packaging<24"
    python = envs.python_for("tensorboard", (f"tensorboardX=={OLD}", "packaging<24"))
    import subprocess

    version = subprocess.run(
        [os.fspath(python), "-c", "import packaging; print(packaging.__version__)"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert int(version.split(".")[0]) < 24


def test_a_report_shows_each_version_as_its_own_row(both: Path, tmp_path: Path) -> None:
    from reports import analysis
    from results.cells import load

    (section,) = analysis.sections(load(os.fspath(both)))
    assert section.versions() == {"tensorboard": PINNED, LABEL: OLD}
    rows = analysis.rows(section, "startup")
    assert sorted((r.framework, r.version, r.n_ok) for r in rows) == [
        ("tensorboard", PINNED, 1),
        (LABEL, OLD, 1),  # one cell each: nothing pooled
    ]
    assert main(["report", "--db", os.fspath(both), "--out", os.fspath(tmp_path)]) == 0
    markdown = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert f"| {LABEL} | {OLD} |" in markdown and f"| tensorboard | {PINNED} |" in markdown
    # the configuration is shown on its first row only
    startup = [line.replace("|  |", "| default |", 1) for line in markdown.splitlines()
               if line.startswith(("| default | tensorb", "|  | tensorb"))]  # fmt: skip
    assert sorted(line.split(" | ")[1:3] for line in startup) == [
        ["tensorboard", PINNED],
        [LABEL, OLD],
    ]


def test_an_override_has_its_own_budget_and_the_pinned_estimate() -> None:
    old = plan.Cell(LABEL, "startup", (), 0, 0)
    pinned = old._replace(framework="tensorboard")
    limits = Limits(cell_cap=100.0, framework_budget=1.0)
    limits.record(old, S.OK, 5e9)  # OLD spent its budget; the pin has spent nothing
    assert limits.why_skip(old._replace(repetition=1)).startswith(f"{LABEL} spent 5 s")
    assert limits.why_skip(pinned._replace(repetition=1)) == ""
    assert estimates.estimate_seconds(LABEL, "startup", {}) == estimates.estimate_seconds(
        "tensorboard", "startup", {}
    )


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (
            ["--with", "nosuchpkg==1.0"],
            "nosuchpkg is no framework's distribution, so it goes "
            "into the environments of other versions (name@version, or --with name==version), "
            "and this suite names none",
        ),
        (["--frameworks", LABEL, "--with", "numpy<2", "numpy<3"], "--with names numpy twice"),
        (["--with", "mlflow>=2"], "'mlflow>=2' is not one version: give NAME==VERSION"),
        (["--frameworks", "sqlite", "--with", "mlflow==2.11.0"], "no framework of this suite"),
        (["--frameworks", "sqlite@1.0"], "sqlite@1.0: sqlite pins no distribution"),
        (["--frameworks", "nosuch@1.0"], "unknown framework 'nosuch'; known: tracker"),
        (["--with", "mlflow==2.11.0", "mlflow==2.12.0"], "--with names mlflow twice"),
        (["--with", "/no/mlflow-2.11.0-py3-none-any.whl"], "--with: no wheel at /no/mlflow-"),
    ],
)
def test_a_bad_requirement_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], match: str
) -> None:
    db = tmp_path / "r.db"
    assert main(["run", *SMALL, "--db", os.fspath(db), *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("trackbench: error: "), err
    assert match in err, err
    assert not db.exists()  # refused before anything was planned or stored


def test_a_version_that_does_not_install_is_stored_as_the_harness_s_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failed build is recorded with its error; the other framework still runs."""
    monkeypatch.setenv("TRACKBENCH_ENVS", os.fspath(tmp_path / "envs"))  # no failed build kept
    monkeypatch.setenv("UV_OFFLINE", "1")  # fail at once: no index has the version anyway
    db = tmp_path / "r.db"
    argv = ["run", *SMALL, "--db", os.fspath(db), "--frameworks", "null", "tensorboard",
            "--with", "tensorboardX==0.0.0"]  # fmt: skip
    assert main(argv) == 0
    cells = {c["params"][S.FRAMEWORK]: c for c in stored(db)}
    assert sorted(cells) == ["null", "tensorboard@0.0.0"]
    assert cells["null"]["fields"][S.OUTCOME] == S.OK
    failed = cells["tensorboard@0.0.0"]
    assert failed["fields"][S.OUTCOME] == S.SKIPPED
    assert failed["fields"][S.HARNESS_FAILURE] == S.ENVIRONMENT_FAILED
    reason = failed["fields"][S.REASON]
    assert reason.startswith("harness failure: environment: building the tensorboardx ")
    assert "tensorboardx==0.0.0" in reason.lower()
    assert failed["params"][S.REQUIREMENT] == "tensorboardX==0.0.0"


def test_one_version_is_one_framework_however_it_is_named() -> None:
    """NAME@VERSION in --frameworks and --with NAME==VERSION (any spelling) are one framework;
    --with leaves a framework named with its version alone."""
    from scenarios import grids
    from scenarios.frameworks import Framework, choose

    def chosen(frameworks: list[str], *with_: str) -> dict[str, Framework]:
        return choose(frameworks, with_, grids.GRIDS["quick"])[0]

    old = Framework("tensorboard", f"tensorboardX=={OLD}")
    assert chosen([LABEL, "tensorboard"], f"TensorBoardX=={OLD}") == {LABEL: old}
    assert chosen(["tensorboard", LABEL], "tensorboardx==2.6.4") == {
        "tensorboard@2.6.4": Framework("tensorboard", "tensorboardX==2.6.4"),
        LABEL: old,
    }
    wheel = "tensorboardX-2.6.2.2-py2.py3-none-any.whl"
    assert envs.exact_version(f"/somewhere/{wheel}") == OLD
