"""The runner's plumbing: fake adapters and a fake run_cell, the real results database."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import tracker
from results import schema as S
from results.errors import UsageError
from scenarios import envs, estimates, grids, plan, runner
from scenarios.cell import RESULT_KEYS
from scenarios.limits import Limits

FAKE = "tests.scenarios.fake_adapters"
MEMORY = f"{FAKE}:Memory"
ROOT = Path(__file__).resolve().parents[2]


def ok_result(wall_s: float = 0.01, **extra: Any) -> dict[str, Any]:
    """A result as run_cell returns it for a cell that went fine, its writer `wall_s` long."""
    result: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    result.update(
        outcome="ok", fidelity="exact", reason="", framework_version="1.0",
        process_ns=int(wall_s * 1e9), tracking_ns=int(wall_s * 1e9) // 2, cpu_ns=1,
        peak_rss_bytes=1, disk_bytes=0, leftover_processes=0, outside_files=0,
        outside_paths=[], log_ns=5, import_ns=3,
    )  # fmt: skip
    result.update(extra)
    return result


class FakeCells:
    """Stands in for run_cell: records calls, answers from a function."""

    def __init__(self, answer: Any = None, interrupt_at: int | None = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.pythons: list[Any] = []
        self.answer = answer or (lambda fw, sc, params: ok_result())
        self.interrupt_at = interrupt_at

    def __call__(self, framework: str, scenario: str, params: Any, timeout: float, **kw: Any):
        self.calls.append((framework, scenario, dict(params)))
        self.pythons.append(kw.get("python"))
        if self.interrupt_at is not None and len(self.calls) == self.interrupt_at:
            raise KeyboardInterrupt
        return self.answer(framework, scenario, dict(params))


def options(db: Path, **kw: Any) -> runner.Options:
    """Options for a small suite of fake frameworks run with this interpreter."""
    base: dict[str, Any] = {
        "grid": "quick",
        "frameworks": [MEMORY],
        "scenarios": ["startup", "high_frequency"],
        "repeat": 2,
        "db": f"sqlite:///{db}",
        "python": sys.executable,
        "command": "pytest",
    }
    base.update(kw)
    return runner.Options(**base)


def stored(db: Path) -> list[dict[str, Any]]:
    """Every cell stored, as (params, fields, status) dicts."""
    conn = tracker.connect(f"sqlite:///{db}")
    try:
        out = []
        for name in conn.experiments():
            if name == S.SUITES_EXPERIMENT:
                continue
            for run in conn.experiment(name).runs():
                fields = {k: run[k] for k in run.keys()}  # noqa: SIM118 (a method)
                out.append({"scenario": name, "params": run.params, "fields": fields,
                            "status": run.status})  # fmt: skip
        return out
    finally:
        conn.close()


def suites(db: Path) -> list[dict[str, Any]]:
    """The suite runs' params and status."""
    conn = tracker.connect(f"sqlite:///{db}")
    try:
        runs = conn.experiment(S.SUITES_EXPERIMENT).runs()
        return [{"params": r.params, "status": r.status, "fields": {k: r[k] for k in r.keys()}}  # noqa: SIM118
                for r in runs]  # fmt: skip
    finally:
        conn.close()


def key(cell: dict[str, Any]) -> tuple[Any, ...]:
    p = cell["params"]
    own = tuple(sorted((k, v) for k, v in p.items() if k not in S.NON_SCENARIO_PARAMS))
    return (p[S.SUITE_ID], p[S.FRAMEWORK], cell["scenario"], own, p[S.REPETITION])


# --- real workers (fake adapters, this interpreter) ----------------------------------------


def test_every_outcome_is_stored_in_the_schema(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    frameworks = [MEMORY, f"{FAKE}:Sleeper", f"{FAKE}:Exiter", f"{FAKE}:Garbage",
                  f"{FAKE}:NoSteps"]  # fmt: skip
    summary = runner.run_suite(
        options(db, frameworks=frameworks, scenarios=["high_frequency"], repeat=1, timeout=3,
                overrides={"high_frequency": {"n_values": [10]}}),
        stream=io.StringIO(),
    )  # fmt: skip
    assert summary.planned == summary.ran == 5 and not summary.interrupted
    cells = {c["params"][S.FRAMEWORK].rsplit(":", 1)[1]: c for c in stored(db)}
    outcome = {name: c["fields"][S.OUTCOME] for name, c in cells.items()}
    assert outcome == {"Memory": "ok", "Sleeper": "timeout", "Exiter": "crash",
                       "Garbage": "bad_output", "NoSteps": "unsupported"}  # fmt: skip
    # the manager decides it from the declaration, with the adapter's own reason
    assert (
        cells["NoSteps"]["fields"][S.REASON]
        == f"{FAKE}:NoSteps has no steps: it keeps one value per name"
    )
    assert "exit code 3" in cells["Exiter"]["fields"][S.REASON]
    ok = cells["Memory"]
    assert ok["status"] == "COMPLETED"
    assert set(S.CELL_PARAMS) < set(ok["params"])
    assert ok["params"]["n_values"] == 10 and ok["params"][S.REPETITION] == 0
    assert ok["params"][S.SCHEMA_VERSION_PARAM] == S.SCHEMA_VERSION
    assert ok["params"][S.FRAMEWORK_VERSION] == "1.0"
    assert ok["fields"][S.FIDELITY] == "exact"
    for name in (S.IMPORT_NS, S.LOG_NS, S.TRACKING_NS, S.PROCESS_NS, S.CPU_NS, S.PEAK_RSS_BYTES):
        assert isinstance(ok["fields"][name], int) and ok["fields"][name] > 0, name
    (suite,) = suites(db)
    assert set(S.SUITE_PARAMS) <= set(suite["params"])
    assert suite["params"][S.SEED] == summary.seed and suite["status"] == "COMPLETED"
    assert suite["params"][S.GRID] == "quick"


def test_a_cell_flooding_stderr_costs_the_manager_only_its_tail(tmp_path: Path) -> None:
    import tracemalloc

    db = tmp_path / "r.db"
    tracemalloc.start()
    try:
        runner.run_suite(
            options(db, frameworks=[f"{FAKE}:Flooder"], scenarios=["high_frequency"], repeat=1,
                    overrides={"high_frequency": {"n_values": [10]}}),
            stream=io.StringIO(),
        )  # fmt: skip
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    (cell,) = stored(db)
    assert cell["fields"][S.OUTCOME] == "crash"
    assert cell["fields"][S.REASON].endswith("last words: out of patience")
    assert peak < 50 * 2**20, f"the manager held {peak / 2**20:.0f} MiB for 200 MB of stderr"


def test_what_the_runner_stores_reads_back_as_cells(tmp_path: Path) -> None:
    from results.cells import load

    db = tmp_path / "r.db"
    runner.run_suite(options(db), stream=io.StringIO(), run_cell=FakeCells())
    loaded = load(os.fspath(db))
    assert len(loaded.cells) == 4
    assert set(loaded.cells["scenario"]) == {"startup", "high_frequency"}
    assert loaded.scenario_params["high_frequency"] == ("n_metrics", "n_values")
    # every adapter's declarations are kept with the suite, for reports to show
    (suite,) = loaded.suite_runs
    declared = suite.declarations()[MEMORY]
    assert declared == envs.describe((MEMORY,))[MEMORY]
    assert {"array_mechanism", "leaves_behind", "broken", "supports"} <= set(declared)


# --- order and limits (fake run_cell) -------------------------------------------------------


def test_seed_is_recorded_and_reused(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    fake = FakeCells()
    summary = runner.run_suite(options(db, seed=1234), stream=io.StringIO(), run_cell=fake)
    assert summary.seed == 1234 and suites(db)[0]["params"][S.SEED] == 1234
    order = [(*c[:2], c[2].get("n_values")) for c in fake.calls]
    fake2 = FakeCells()
    runner.run_suite(options(tmp_path / "s.db", seed=1234), stream=io.StringIO(), run_cell=fake2)
    assert [(*c[:2], c[2].get("n_values")) for c in fake2.calls] == order


def test_a_slow_small_configuration_stops_the_climb(tmp_path: Path) -> None:
    db = tmp_path / "r.db"

    def answer(fw: str, sc: str, params: dict[str, Any]) -> dict[str, Any]:
        return ok_result(wall_s=100.0 if params.get("n_values") == 100 else 0.01)

    spec = {"high_frequency": [{"n_values": 10}, {"n_values": 100}, {"n_values": 1000}]}
    fake = FakeCells(answer)
    opts = options(db, spec=spec, scenarios=(), repeat=2, framework_budget=1e9)
    runner.run_suite(opts, stream=io.StringIO(), run_cell=fake)
    assert [c[2]["n_values"] for c in fake.calls].count(1000) == 0
    cells = stored(db)
    assert len(cells) == 6  # nothing dropped: the skipped cells are stored too
    skipped = [c for c in cells if c["fields"][S.OUTCOME] == "skipped"]
    assert {c["params"]["n_values"] for c in skipped} == {1000}
    reason = skipped[0]["fields"][S.REASON]
    assert "(n_values=100, n_metrics=1) took 100.0 s, over the 60 s cell cap" in reason


def test_the_eta_skips_what_the_runner_skips(tmp_path: Path) -> None:
    """One rule: the cells the estimate prices at 0 are the cells the runner stores as
    skipped, when every cell's writer takes what it was estimated to take."""
    spec = {"high_frequency": [{"n_values": 10}, {"n_values": 100}, {"n_values": 1000}]}

    def answer(fw: str, sc: str, params: dict[str, Any]) -> dict[str, Any]:
        return ok_result(wall_s=estimates.writer_seconds(fw, sc, params))

    fake = FakeCells(answer)
    opts = options(tmp_path / "r.db", spec=spec, scenarios=(), repeat=3, framework_budget=5,
                   seed=3)  # fmt: skip
    runner.run_suite(opts, stream=io.StringIO(), run_cell=fake)
    configs = plan.scenario_configs(grids.QUICK, spec=spec)
    cells = plan.order(plan.plan_cells([MEMORY], configs, 3), 3)
    supports = {MEMORY: envs.describe((MEMORY,))[MEMORY]["supports"]}
    priced = estimates.estimate_cells(cells, supports, Limits(grids.QUICK.cell_cap, 5))
    expected = [(c.scenario, c.config) for c, seconds in zip(cells, priced, strict=True) if seconds]
    assert [(sc, params) for _fw, sc, params in fake.calls] == expected
    assert 0 < len(expected) < len(cells)  # the budget skipped some, not all


# --- interrupts and resume -------------------------------------------------------------------


def test_interrupt_keeps_finished_cells_and_resume_completes(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    opts = options(db, frameworks=[MEMORY, f"{FAKE}:Float32"], repeat=3, seed=7)
    first = runner.run_suite(opts, stream=io.StringIO(), run_cell=FakeCells(interrupt_at=5))
    assert first.interrupted and first.ran == 4 and first.planned == 12
    assert len(stored(db)) == 4
    assert suites(db)[0]["status"] == "interrupted"
    fake = FakeCells()
    second = runner.run_suite(
        opts._replace(resume=True, seed=None), stream=io.StringIO(), run_cell=fake
    )
    assert second.suite_id == first.suite_id and second.seed == 7
    assert second.already_stored == 4 and second.ran == 8 and len(fake.calls) == 8
    cells = stored(db)
    assert len(cells) == 12 and len({key(c) for c in cells}) == 12
    third = runner.run_suite(opts._replace(resume=True), stream=io.StringIO(), run_cell=fake)
    assert third.ran == 0 and len(fake.calls) == 8
    assert [s["status"] for s in suites(db)] == ["interrupted", "COMPLETED", "COMPLETED"]


def test_a_shard_resumes_its_own_suite(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    opts = options(db, frameworks=[MEMORY, f"{FAKE}:Float32"], repeat=3, shard=(0, 2),
                   resume=True)  # fmt: skip
    # --resume on a fresh database: nothing to resume, the shard runs from the start
    first = runner.run_suite(opts, stream=io.StringIO(), run_cell=FakeCells(interrupt_at=3))
    assert first.interrupted and first.ran == 2
    # another suite in between must not be what the shard resumes
    runner.run_suite(options(db), stream=io.StringIO(), run_cell=FakeCells())
    second = runner.run_suite(opts, stream=io.StringIO(), run_cell=FakeCells())
    assert second.suite_id == first.suite_id and second.already_stored == 2
    assert second.ran == second.planned - 2


def test_environments_are_fixed_for_the_whole_suite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An edit to tracker/ mid-suite must not strand the suite: interpreters are resolved once."""
    from scenarios import envs

    fake = FakeCells()
    opts = options(tmp_path / "r.db", frameworks=["null"], python=None, repeat=3)

    def key_changed(*args: Any, **kw: Any) -> Any:
        raise AssertionError("environments are resolved once, before the first cell")

    real_run = fake.__call__

    def run_then_change(*args: Any, **kw: Any) -> dict[str, Any]:
        monkeypatch.setattr(envs, "spec_for", key_changed)
        monkeypatch.setattr(envs, "python_for", key_changed)
        return real_run(*args, **kw)

    summary = runner.run_suite(opts, stream=io.StringIO(), run_cell=run_then_change)
    assert summary.outcomes == {"ok": 6}
    assert len(set(fake.pythons)) == 1 and str(fake.pythons[0]).endswith("/bin/python")


def test_resume_without_an_earlier_suite_is_an_error(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    runner.run_suite(options(db, grid="reference"), stream=io.StringIO(), run_cell=FakeCells())
    with pytest.raises(UsageError, match="no earlier 'quick' suite"):
        runner.run_suite(options(db, resume=True), stream=io.StringIO())


def test_resume_of_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with pytest.raises(UsageError, match="no results database at"):
        runner.run_suite(options(db, resume=True), stream=io.StringIO(), run_cell=FakeCells())
    assert not db.exists()
    proc = subprocess.run(
        [sys.executable, "-m", "scenarios.cli", "run", "--resume", "--db", str(db)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and not db.exists()
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "--resume: no results database at" in proc.stderr


def test_a_failed_environment_build_is_the_harness_s_failure_and_resume_reruns_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real build that cannot resolve: every cell is `skipped` (the harness's failure, with
    the build's error), never the framework's crash; --resume runs them again."""
    from reports import analysis
    from results.cells import load

    monkeypatch.setenv("TRACKBENCH_ENVS", str(tmp_path / "envs"))
    monkeypatch.setenv("UV_OFFLINE", "1")  # fail at once: no index has the package anyway
    db = tmp_path / "r.db"
    framework = f"{FAKE}:Unresolvable"
    overrides = {"high_frequency": {"n_values": [10]}}
    opts = options(db, frameworks=[framework], scenarios=["high_frequency"], repeat=2,
                   overrides=overrides, python=None, seed=5)  # fmt: skip
    first = runner.run_suite(opts, stream=io.StringIO())
    assert first.outcomes == {S.SKIPPED: 2}
    for cell in stored(db):
        fields = cell["fields"]
        assert fields[S.OUTCOME] == S.SKIPPED
        assert fields[S.HARNESS_FAILURE] == S.ENVIRONMENT_FAILED
        assert fields[S.REASON].startswith("harness failure: environment: building the ")
        assert "trackbench-no-such-package" in fields[S.REASON]
    (section,) = analysis.sections(load(os.fspath(db)))
    (row,) = analysis.rows(section, "high_frequency")
    assert row.status() == "skipped 2/2" and row.unranked == "no ok cell"
    # the environment works now (this interpreter): resume runs the harness's failures again
    second = runner.run_suite(
        opts._replace(resume=True, seed=None, python=sys.executable), stream=io.StringIO()
    )
    assert second.suite_id == first.suite_id
    assert second.already_stored == 0 and second.outcomes == {S.OK: 2}
    third = runner.run_suite(
        opts._replace(resume=True, python=sys.executable), stream=io.StringIO()
    )
    assert third.already_stored == 2 and third.ran == 0
    # both stay stored: the harness's failure is shown beside the cells that then ran
    outcomes = sorted(c["fields"][S.OUTCOME] for c in stored(db))
    assert outcomes == [S.OK, S.OK, S.SKIPPED, S.SKIPPED]


def test_resume_reruns_a_cell_whose_outcome_was_never_stored(tmp_path: Path) -> None:
    from results.cells import load

    db = tmp_path / "r.db"
    opts = options(db, scenarios=["startup"], repeat=2, seed=3)
    first = runner.run_suite(opts, stream=io.StringIO(), run_cell=FakeCells(interrupt_at=2))
    assert first.interrupted and first.ran == 1
    # the manager died while writing the other cell: a run with its params and no outcome,
    # which the tracker ends as COMPLETED when the database is closed
    (done,) = [c["params"] for c in stored(db)]
    conn = tracker.connect(f"sqlite:///{db}")
    half = conn.experiment("startup").run(
        "half", params={**done, S.REPETITION: 1 - done[S.REPETITION]}
    )
    half[S.PROCESS_NS] = 5
    conn.close()
    assert {c["status"] for c in stored(db)} == {"COMPLETED"}
    # shown as the harness's failure, not hidden and not the framework's
    cells = load(os.fspath(db)).cells
    (shown,) = cells[cells["run_name"] == "half"].to_dict("records")
    assert shown[S.OUTCOME] == S.SKIPPED
    assert shown[S.REASON].startswith("harness failure: interrupted, no outcome stored")
    fake = FakeCells()
    second = runner.run_suite(opts._replace(resume=True), stream=io.StringIO(), run_cell=fake)
    assert second.suite_id == first.suite_id and second.already_stored == 1
    assert second.ran == 1 and len(fake.calls) == 1


def test_sigterm_stops_the_suite_storing_every_finished_cell(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    argv = [
        sys.executable, "-m", "scenarios.cli", "run", "--db", f"sqlite:///{db}",
        "--frameworks", MEMORY, f"{FAKE}:Sleeper", "--scenarios", "high_frequency",
        "--set", "high_frequency.n_values=10", "--repeat", "3", "--timeout", "60",
    ]  # fmt: skip
    # a seed that runs a Memory cell first, then a Sleeper cell that hangs until its timeout
    configs: dict[str, list[dict[str, Any]]] = {"high_frequency": [{"n_values": 10}]}
    planned = plan.plan_cells([MEMORY, f"{FAKE}:Sleeper"], configs, 3)
    seed = next(
        seed
        for seed in range(100)
        if [c.framework for c in plan.order(planned, seed)[:2]] == [MEMORY, f"{FAKE}:Sleeper"]
    )
    proc = subprocess.Popen(
        [*argv, "--seed", str(seed)], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not proc.stderr.readline().startswith("[1/6]"):
        pass
    time.sleep(1.5)  # into the hanging cell
    proc.send_signal(signal.SIGTERM)
    _out, rest = proc.communicate(timeout=30)
    assert proc.returncode == 130, rest
    match = re.search(r": (\d+) cells run in", rest)
    assert match, rest
    cells = stored(db)
    assert len(cells) == int(match.group(1)) >= 1
    assert all(c["status"] == "COMPLETED" for c in cells)
    assert suites(db)[0]["status"] == "interrupted"
    assert "--resume" in rest
    sleepers = [pid for pid in _python_pids() if "Sleeper" in _cmdline(pid)]
    assert not sleepers


def _python_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_user_spec_and_overrides(tmp_path: Path) -> None:
    from scenarios import userspec

    path = tmp_path / "mine.toml"
    path.write_text(
        'frameworks = ["tracker"]\nrepeat = 2\n'
        "[scenarios.training_loop]\nepochs = 2\nsteps_per_epoch = [10, 100]\n"
        "[scenarios.many_runs]\nn_runs = 5\n",
        encoding="utf-8",
    )
    spec = userspec.load(path)
    assert spec.frameworks == ["tracker"] and spec.repeat == 2
    assert [c["steps_per_epoch"] for c in spec.scenarios["training_loop"]] == [10, 100]
    configs = plan.scenario_configs(
        grids.QUICK, spec=spec.scenarios, overrides={"many_runs": {"n_values": [3, 4]}}
    )
    assert configs["many_runs"] == [
        {"n_runs": 5, "n_values": 3, "n_metrics": 1},
        {"n_runs": 5, "n_values": 4, "n_metrics": 1},
    ]
    assert configs["training_loop"][0] == {
        "epochs": 2, "steps_per_epoch": 10, "n_weights": 10_000, "n_metrics": 2
    }  # fmt: skip
    assert userspec.parse_set(["high_frequency.n_values=1e4,100"]) == {
        "high_frequency": {"n_values": [10_000, 100]}
    }
    for bad, match in [
        ("high_frequency.bogus=1", "no parameter 'bogus'"),
        ("nope.n=1", "unknown scenario 'nope'"),
        ("high_frequency=1", "scenario.param=value"),
        ("high_frequency.n_values=-5", "must not be negative"),
    ]:
        with pytest.raises(userspec.SpecError, match=match):
            userspec.parse_set([bad])
    path.write_text("[scenarios.nope]\nx = 1\n", encoding="utf-8")
    with pytest.raises(userspec.SpecError, match="unknown scenario 'nope'"):
        userspec.load(path)
    path.write_text("repeat = [", encoding="utf-8")
    with pytest.raises(userspec.SpecError, match="not valid TOML"):
        userspec.load(path)


@pytest.mark.postgres
def test_shards_fill_one_postgresql_database(postgres_url: str) -> None:
    """Two machines (here: two calls) running one shard each of the same command."""
    opts = options(Path("unused"), frameworks=[MEMORY, f"{FAKE}:Float32"], repeat=3)
    opts = opts._replace(db=postgres_url)
    halves = []
    for index in range(2):
        fake = FakeCells()
        summary = runner.run_suite(
            opts._replace(shard=(index, 2)), stream=io.StringIO(), run_cell=fake
        )
        halves.append((summary, fake.calls))
    (one, calls_one), (two, calls_two) = halves
    assert one.suite_id == two.suite_id  # derived from the command and the commit
    assert one.planned + two.planned == 12 and one.ran == one.planned and two.ran == two.planned
    assert {tuple(sorted(c[2].items())) + c[:2] for c in calls_one}.isdisjoint(
        {tuple(sorted(c[2].items())) + c[:2] for c in calls_two}
    )
    conn = tracker.connect(postgres_url)
    try:
        cells = [r.params for name in ("startup", "high_frequency")
                 for r in conn.experiment(name).runs()]  # fmt: skip
        assert len(cells) == 12 and {c[S.SUITE_ID] for c in cells} == {one.suite_id}
        assert len(conn.experiment(S.SUITES_EXPERIMENT).runs()) == 2
    finally:
        conn.close()
    again = runner.run_suite(
        opts._replace(shard=(0, 2), resume=True, suite=one.suite_id),
        stream=io.StringIO(),
        run_cell=FakeCells(),
    )
    assert again.ran == 0 and again.already_stored == one.planned
