"""Recording suites through the real tracker: what is written is what resume and reports see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from results import schema as S
from results.cells import load
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
