"""The grids as data: valid parameters, the quick grid's time budget, the MLtraq coverage."""

from __future__ import annotations

import pytest

from scenarios import estimates, grids, plan, workloads

# Every framework the registry names today; the quick grid runs them all but the excluded.
FRAMEWORKS = [
    "tracker", "sqlite", "numpy", "mltraq", "mlflow", "wandb", "neptune", "aim", "comet",
    "fasttrackml", "sqltrack", "sacred", "ploomber", "trackio", "tensorboard", "dvclive",
    "swanlab", "clearml", "neptune-scale",
]  # fmt: skip
# Issue 10 set 15 minutes on a 2-core machine once built; issue 11 added what frameworks can
# do (concurrency and large arrays for 6 more frameworks each) and the fidelity matrix (one
# cell per framework): about 2.5 minutes more by the same estimates.
# Issue 15 added wide_steps, loop_overhead and long_run: estimated at 24 minutes more, where
# a wide step is estimated as 1000 values logged one by one (MLflow's writer took 4 s for
# 10 steps of 1000, estimated at 47 s), so the estimate errs long.
# Issue 16 added SwanLab, ClearML and neptune-scale, and the estimates now count the reader's
# process and the manager's work per cell (measured: the quick suite of the 16 frameworks
# before took 61 minutes here on 2026-12-03, estimated at 56 by these rules): 76 minutes.
QUICK_BUDGET_S = 80 * 60
# Frameworks whose 3 repetitions the quick grid's framework budget cuts, and why: they are
# measured once per configuration there, never ranked on fewer than 3 (the reference grid
# runs them all).
CUT_BY_BUDGET = {"clearml": "a Task's close() takes about 10 s (its reporter writes every 5 s)"}


@pytest.mark.parametrize("grid", list(grids.GRIDS.values()), ids=list(grids.GRIDS))
def test_every_configuration_is_a_valid_workload_call(grid: grids.Grid) -> None:
    assert set(grid.scenarios) == set(workloads.SCENARIOS)
    for scenario, configs in grid.scenarios.items():
        workload = workloads.get(scenario)
        for config in configs:
            assert workload.params(config) == {**workload.defaults, **config}  # unknown: raise
        sizes = [grids.size(c) for c in configs]
        assert sizes == sorted(sizes), f"{scenario} configurations must climb"
        assert len({tuple(sorted(c.items())) for c in configs}) == len(configs)


def test_quick_grid_is_what_issue_4_asks() -> None:
    quick = grids.QUICK
    assert quick.repeat == 3
    assert quick.scenarios["high_frequency"] == [{"n_values": 1000}]
    assert quick.scenarios["arrays"] == [{"n_arrays": 1, "n_elements": 10_000}]
    assert quick.scenarios["many_runs"] == [{"n_runs": 10, "n_values": 10}]
    assert all(len(configs) == 1 for configs in quick.scenarios.values())


def test_quick_grid_fits_its_budget_with_every_repetition() -> None:
    """Cells x per-cell estimates (peers.md medians and the reader's and the manager's share
    measured on a whole quick suite), for every registered framework the quick grid runs,
    with what each declares: within QUICK_BUDGET_S, and no framework's repetitions cut by the
    framework budget but those of CUT_BY_BUDGET."""
    from scenarios import envs

    declared = envs.describe()
    supports = {n: v["supports"] for n, v in declared.items() if grids.QUICK.includes(n, v)}
    assert set(FRAMEWORKS) <= set(supports)  # a new framework adds to the sum, never escapes
    cells = plan.plan_cells(list(supports), plan.scenario_configs(grids.QUICK), 3)
    # 10 sampled scenarios, 3 repetitions each; the fidelity matrix, the long run, the crash once
    assert len(cells) == len(supports) * (10 * 3 + 3)
    total = estimates.estimate_suite_seconds(grids.QUICK, supports)
    assert total <= QUICK_BUDGET_S, f"the quick grid is estimated at {total:.0f} s"
    unlimited = grids.QUICK._replace(framework_budget=float("inf"))
    cut = {
        name
        for name in supports
        if estimates.estimate_suite_seconds(grids.QUICK, {name: supports[name]})
        < estimates.estimate_suite_seconds(unlimited, {name: supports[name]})
    }
    assert cut == set(CUT_BY_BUDGET)


def test_reference_covers_the_mltraq_benchmark_and_every_framework() -> None:
    """Every configuration of MLtraq's published benchmark (the transcription's own test,
    tests/reports/test_reproduction.py, checks each of its experiments is in the grid), every
    scenario, every framework and variant; 5 repetitions, 3 of a cell over 10 s."""
    from scenarios import envs

    ref = grids.REFERENCE
    assert (ref.repeat, ref.slow_repeat) == (5, (10.0, 3))
    values = {c["n_values"] for c in ref.scenarios["high_frequency"]}
    assert {1, 10, 100, 1000, 10_000} <= values  # init + 1 or 10; 1 run x 100 .. 10^4
    runs = {(c["n_runs"], c["n_values"]) for c in ref.scenarios["many_runs"]}
    assert {(10, 1), (100, 1), (500, 1), (1000, 1), (1000, 1000)} <= runs
    arrays = {(c["n_arrays"], c["n_elements"]) for c in ref.scenarios["arrays"]}
    assert {(1, 10**e) for e in range(3, 7)} <= arrays  # one float64 array, 10^3 .. 10^6
    assert {(n, 10**e) for n in (1, 10) for e in range(4, 7)} <= arrays  # 1..10 of 10^4..10^6
    assert {(n, 1000) for n in (1, 10, 100, 1000, 10_000)} <= arrays  # 1..10^4 of 10^3
    one_size = set(workloads.SCENARIOS) - {"high_frequency", "many_runs", "arrays"}
    assert all(len(ref.scenarios[s]) == 1 for s in one_size)
    declared = envs.describe()
    assert all(ref.includes(n, v) for n, v in declared.items() if n not in grids.NOT_IN_GRIDS)


def test_dominance_is_per_parameter() -> None:
    assert grids.dominates({"n_runs": 100, "n_values": 10}, {"n_runs": 10, "n_values": 10})
    assert not grids.dominates({"n_runs": 100, "n_values": 1}, {"n_runs": 10, "n_values": 10})
    assert not grids.dominates({"n_values": 10}, {"n_values": 10})
    assert grids.product(a=[1, 10], b=[1, 10])[0] == {"a": 1, "b": 1}


def test_unknown_grid_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="known: quick, reference, full"):
        grids.get("huge")
