"""Recording suites through the real tracker: what is written is what resume and reports see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from results import schema as S
from results.cells import load
from results.errors import UsageError
from results.store import Store


def _result(**fields: Any) -> dict[str, Any]:
    return {S.OUTCOME: S.OK, S.FIDELITY: S.EXACT, S.REASON: "", S.WALL_NS: 5_000_000,
            S.FRAMEWORK_VERSION: "1.2", **fields}  # fmt: skip


def _write(store: Store, repetition: int, **fields: Any) -> None:
    store.write_cell(
        "high_frequency", f"fw high_frequency #{repetition}", suite_id="s1", machine="m",
        framework="fw", role="tracker", config={"n_values": 10}, repetition=repetition,
        result=_result(**fields),
    )  # fmt: skip


def test_cells_written_are_read_back_and_found_on_resume(tmp_path: Path) -> None:
    db = str(tmp_path / "deeper" / "r.db")  # the folder is made
    with Store(db) as store:
        suite = store.begin_suite("s1", {S.MACHINE: "m", S.SEED: 42, S.GRID: "quick"}, {})
        _write(store, 0, **{S.OUTSIDE_PATHS: ["~/.cache/x"]})
        _write(store, 1, **{S.OUTCOME: S.CRASH, S.REASON: "exit code 3"})
        # a cell whose run never ended (the manager was killed while writing it)
        store.db.experiment("high_frequency").run("half", params={S.SUITE_ID: "s1"})
        store.end_suite(suite, {"cells_run": 2}, interrupted=True)
        assert store.latest_suite("quick") == ("s1", 42) and store.seed_of("s1") == 42
        assert store.latest_suite("standard") is None and store.seed_of("nope") is None
        found = store.stored_cells("s1", {"high_frequency": ["n_values"], "startup": []})
    assert [(c.framework, c.config, c.repetition, c.outcome) for c in found] == [
        ("fw", {"n_values": 10}, 0, S.OK),
        ("fw", {"n_values": 10}, 1, S.CRASH),
    ]
    assert {c.framework_version for c in found} == {"1.2"}
    loaded = load(db)
    cells = loaded.cells[loaded.cells[S.FRAMEWORK] == "fw"]
    assert list(cells[S.OUTCOME]) == [S.OK, S.CRASH] and list(cells["n_values"]) == [10, 10]
    assert list(cells[S.OUTSIDE_PATHS]) == ['["~/.cache/x"]', ""]
    (suite_run,) = loaded.suite_runs
    assert suite_run.fields["cells_run"] == 2 and suite_run.declarations() == {}


def test_resume_runs_again_what_the_harness_failed(tmp_path: Path) -> None:
    """The framework's own crash stays stored; a limit's skip is decided again (a larger
    budget runs it); an environment that did not build and a cell whose outcome was never
    written are run again."""
    db = str(tmp_path / "r.db")
    with Store(db) as store:
        store.begin_suite("s1", {S.MACHINE: "m", S.SEED: 1, S.GRID: "quick"}, {})
        _write(store, 0, **{S.OUTCOME: S.CRASH, S.REASON: "exit code 3"})
        _write(store, 1, **{S.OUTCOME: S.SKIPPED, S.REASON: "over the cell cap"})
        _write(store, 2, **{S.OUTCOME: S.SKIPPED, S.REASON: "harness failure: environment",
                            S.HARNESS_FAILURE: S.ENVIRONMENT_FAILED})  # fmt: skip
        _write(store, 3, **{S.OUTCOME: None})
    with Store(db) as store:
        found = store.stored_cells("s1", {"high_frequency": ["n_values"]})
    assert [(c.repetition, c.outcome) for c in found] == [(0, S.CRASH)]
    shown = load(db).cells
    assert list(shown[S.OUTCOME]) == [S.CRASH, S.SKIPPED, S.SKIPPED, S.SKIPPED]
    assert list(shown[S.REASON])[2] == "harness failure: environment"
    assert list(shown[S.REASON])[3].startswith("harness failure: interrupted")


def test_a_store_for_resuming_never_creates_the_database(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "r.db"
    with pytest.raises(UsageError, match="no results database at"):
        Store(str(db), existing=True)
    assert not db.exists() and not db.parent.exists()
