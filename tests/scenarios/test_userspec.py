"""A user's own workload: the spec format, its one-line errors, n_metrics, and the README's
copy of both the example and the scenarios' parameters."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from adapters.base import Adapter, RunData
from reports import compare
from results import schema as S
from results.cells import CONFIG, SCENARIO, load
from scenarios import cmd_run, envs, estimates, plan, userspec, workloads
from scenarios.cell import run_cell
from scenarios.cli import build_parser, main
from scenarios.fidelity import diff_runs
from scenarios.workloads.recorder import expected_runs
from tests.reports.suite_db import write_suite
from tests.scenarios.test_cli_run import one_line_error

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "my-project.toml"
README = ROOT / "README.md"
GOLDEN = ROOT / "tests" / "reports" / "data" / "golden2.db"  # results schema 2

HF = "[scenarios.high_frequency]\n"
# (TOML text, as the error shows it) of values that are not a positive number of seconds
NOT_POSITIVE = [("0", "0"), ("-5", "-5"), ('"10"', '"10"'), ("true", "true"), ("inf", "inf"),
                ("nan", "nan"), ("{}", "a table")]  # fmt: skip
# (the spec's text, what its one-line error says after `spec FILE: `)
BAD_SPECS = [
    (HF + 'n_values = "lots"', 'scenarios.high_frequency.n_values: "lots" is not a whole number'),
    (HF + "n_values = true", "scenarios.high_frequency.n_values: true is not a whole number"),
    (HF + "n_values = 1.5", "scenarios.high_frequency.n_values: 1.5 is not a whole number"),
    (HF + "n_values = nan", "scenarios.high_frequency.n_values: nan is not a whole number"),
    (HF + "n_values = 1e400", "scenarios.high_frequency.n_values: inf is not a whole number"),
    (HF + "n_values = -3", "scenarios.high_frequency.n_values: -3 must not be negative"),
    (
        HF + "n_values = 99999999999999999999",
        "scenarios.high_frequency.n_values: 99999999999999999999 is more than 1e+09",
    ),
    (HF + 'n_values = [10, "a"]', 'scenarios.high_frequency.n_values: "a" is not a whole number'),
    (HF + "n_values = [[10]]", "scenarios.high_frequency.n_values: a list is not a whole number"),
    (HF + "n_values = {a = 1}", "scenarios.high_frequency.n_values: a table is not a whole num"),
    (HF + "n_values = 1979-05-27", "scenarios.high_frequency.n_values: a date is not a whole num"),
    (HF + "n_values = []", "scenarios.high_frequency.n_values: an empty list"),
    (HF + "n_metrics = 0", "scenarios.high_frequency.n_metrics: 0 must not be less than 1"),
    (
        "[scenarios.training_loop]\nn_metrics = 1",
        "scenarios.training_loop.n_metrics: 1 must not be less than 2",
    ),
    ("[scenarios.crash]\nflush_every = 0", "scenarios.crash.flush_every: 0 must not be less than"),
    (HF + "n = 1", "scenarios.high_frequency.n: unknown parameter; known: n_values, n_metrics"),
    ("[scenarios.nosuch]\nn = 1", "scenarios.nosuch: unknown scenario 'nosuch'; known: startup"),
    ("scenarios = 3", "needs at least one [scenarios.NAME] table"),
    ("[scenarios]\nhigh_frequency = 3", "scenarios.high_frequency: 3 is not a table of parameters"),
    (
        "[scenarios.many_runs]\nn_runs = 100_000\nn_values = 100_000",
        "scenarios.many_runs: n_runs=100000, n_values=100000 logs 10,000,000,000 values and 0 MB",
    ),
    (
        "[scenarios.arrays]\nn_arrays = 1000\nn_elements = 1_000_000_000",
        "scenarios.arrays: n_arrays=1000, n_elements=1000000000 logs 1 values and 8,000,000 MB",
    ),
    ("repeat = 0\n" + HF, "repeat: 0 is not a whole number from 1 to 1000"),
    ('repeat = "3"\n' + HF, 'repeat: "3" is not a whole number from 1 to 1000'),
    ("repeat = 2.5\n" + HF, "repeat: 2.5 is not a whole number from 1 to 1000"),
    ("repeat = true\n" + HF, "repeat: true is not a whole number from 1 to 1000"),
    ("repeat = 1_000_000\n" + HF, "repeat: 1000000 is not a whole number from 1 to 1000"),
    ('frameworks = "mlflow"\n' + HF, 'frameworks: "mlflow" is not a list of strings'),
    ('frameworks = ["mlflow", 3]\n' + HF, "frameworks: 3 is not a non-empty string"),
    ('frameworks = ["nosuch"]\n' + HF, "frameworks: unknown framework 'nosuch'; known: tracker,"),
    ("frameworks = []\n" + HF, "frameworks: an empty list (leave the key out to run all)"),
    *[
        (f"{key} = {value}\n" + HF, f"{key}: {shown} is not a positive number")
        for key in ("budget", "timeout", "runs_per_day")
        for value, shown in NOT_POSITIVE
    ],
    ('with = "mlflow==2.11.0"\n' + HF, 'with: "mlflow==2.11.0" is not a list of strings'),
    ('with = ["mlflow==2.11.0", " "]\n' + HF, 'with: " " is not a non-empty string'),
    ("with = [1]\n" + HF, "with: 1 is not a non-empty string"),
    ("colour = 1\n" + HF, "unknown key 'colour'; known: budget, frameworks, repeat"),
]


@pytest.mark.parametrize(("text", "match"), BAD_SPECS)
def test_bad_specs_are_one_line_naming_the_file_key_and_type(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, match: str
) -> None:
    spec = tmp_path / "my.toml"
    spec.write_text(text + "\n", encoding="utf-8")
    db = tmp_path / "r.db"
    one_line_error(capsys, ["run", "--spec", str(spec), "--db", str(db)], f"spec {spec}: {match}")
    assert not db.exists()


# every parameter of every scenario, with each kind of value a whole number is not
EVERY_PARAMETER = [
    (name, param) for name in workloads.SCENARIOS for param in workloads.get(name).defaults
]
NOT_WHOLE = [
    ('"lots"', '"lots" is not a whole number'),
    ("false", "false is not a whole number"),
    ("2.5", "2.5 is not a whole number"),
    ("10_000_000_000", "10000000000 is more than 1e+09"),
    ("[3, 2.5]", "2.5 is not a whole number"),
    ("{ x = 1 }", "a table is not a whole number"),
]


@pytest.mark.parametrize(("scenario", "param"), EVERY_PARAMETER)
def test_every_parameter_refuses_what_is_not_a_count_in_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, scenario: str, param: str
) -> None:
    spec = tmp_path / "my.toml"
    least = workloads.get(scenario).least.get(param, 0)
    below = ("-1", "-1 must not be negative" if not least else f"-1 must not be less than {least}")
    for value, match in [*NOT_WHOLE, below]:
        spec.write_text(f"[scenarios.{scenario}]\n{param} = {value}\n", encoding="utf-8")
        where = f"spec {spec}: scenarios.{scenario}.{param}: {match}"
        one_line_error(capsys, ["run", "--spec", str(spec), "--db", str(tmp_path / "r.db")], where)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"[scenarios.high_frequency]\nn_values = \n", "is not valid TOML"),
        (b"\xff\xfe[scenarios]\n", "is not UTF-8 text (byte 0)"),
    ],
)
def test_unreadable_specs_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes, match: str
) -> None:
    spec = tmp_path / "spec.toml"
    spec.write_bytes(data)
    one_line_error(capsys, ["run", "--spec", str(spec), "--db", str(tmp_path / "r.db")], match)
    assert not (tmp_path / "r.db").exists()


@pytest.mark.parametrize(
    ("item", "match"),
    [
        ("high_frequency.n_metrics=0", "high_frequency.n_metrics=0: 0 must not be less than 1"),
        ("training_loop.n_metrics=1", "1 must not be less than 2"),
        ("many_runs.n_metrics=lots", "'lots' is not a whole number"),
    ],
)
def test_bad_n_metrics_overrides_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, item: str, match: str
) -> None:
    one_line_error(capsys, ["run", "--set", item, "--db", str(tmp_path / "r.db")], match)


def test_the_example_is_the_real_job_the_readme_describes() -> None:
    spec = userspec.load(EXAMPLE)
    assert spec.frameworks == ["tracker", "mlflow", "wandb", "trackio", "aim"]
    assert (spec.repeat, spec.runs_per_day, spec.with_) == (3, 50.0, ())
    # no budget: a spec runs every repetition it asks for
    assert spec.budget is None and spec.timeout is not None
    config = {"epochs": 20, "steps_per_epoch": 1000, "n_metrics": 30, "n_weights": 50_000_000}
    assert spec.scenarios == {"training_loop": [config]}
    (full,) = plan.scenario_configs(plan.grids.QUICK, spec=spec.scenarios)["training_loop"]
    assert full == config
    runs, values, megabytes = estimates.workload_size("training_loop", full)
    # 30 metrics x 20,000 steps, and val_loss and val_accuracy per epoch; 200 MB of float32
    assert (runs, values, megabytes) == (1, 30 * 20_000 + 2 * 20, 200.0)
    # the spec's timeout leaves room for what the estimates say of the slowest
    slowest = max(estimates.writer_seconds(f, "training_loop", full) for f in spec.frameworks)
    assert slowest < spec.timeout


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    assert f"\n## {title}\n" in text, f"README has no section {title!r}"
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_copy_of_the_example_is_the_file() -> None:
    blocks = re.findall(r"```toml\n(.*?)```", _section("Your own workload"), flags=re.S)
    assert blocks == [EXAMPLE.read_text(encoding="utf-8")]


def test_the_readme_names_every_spec_key() -> None:
    section = _section("Your own workload")
    for key in sorted(userspec.SPEC_KEYS - {"scenarios"}):
        assert f"| `{key}` |" in section, key
    assert "| `[scenarios.NAME]` |" in section


def params_table() -> str:
    """The README's table of every scenario's parameters, from the workloads' own docs."""
    rows = ["| scenario | parameter | default | least | what it sets |", "|---|---|---|---|---|"]
    for name in workloads.SCENARIOS:
        workload = workloads.get(name)
        if not workload.defaults:
            rows.append(f"| `{name}` | (none) | | | |")
        for param, default in workload.defaults.items():
            least = workload.least.get(param, 0)
            doc = workload.param_docs[param]
            rows.append(f"| `{name}` | `{param}` | {default:_} | {least} | {doc} |")
    return "\n".join(rows)


def test_the_readme_lists_every_scenario_and_parameter() -> None:
    table = "\n".join(
        line for line in _section("Scenarios and their parameters").splitlines() if line[:1] == "|"
    )
    assert table == params_table(), f"the README's table is stale; it should be:\n{params_table()}"


def test_every_parameter_of_every_workload_is_documented() -> None:
    for name, workload in workloads.WORKLOADS.items():
        assert set(workload.param_docs) == set(workload.defaults), name
        assert all(doc and "\n" not in doc for doc in workload.param_docs.values()), name
        assert set(workload.least) <= set(workload.defaults), name


def test_list_shows_every_parameter_with_its_doc(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in workloads.SCENARIOS:
        for param, doc in workloads.get(name).param_docs.items():
            assert f"{param}={workloads.get(name).defaults[param]}" in out and doc in out


def _options(tmp_path: Path, *flags: str) -> Any:
    spec = tmp_path / "s.toml"
    keys = 'budget = 100\ntimeout = 50\nruns_per_day = 7\nwith = ["mlflow==2.11.0"]\n'
    spec.write_text(keys + HF, encoding="utf-8")
    args = build_parser().parse_args(["run", "--spec", str(spec), *flags])
    return cmd_run.options_from(args)


def test_the_spec_sets_budget_timeout_runs_per_day_and_with_and_the_command_line_wins(
    tmp_path: Path,
) -> None:
    options = _options(tmp_path)
    assert (options.framework_budget, options.timeout, options.runs_per_day) == (100, 50, 7)
    assert options.with_ == ("mlflow==2.11.0",)
    options = _options(tmp_path, "--budget", "9", "--timeout", "8", "--with", "wandb==0.16.3")
    assert (options.framework_budget, options.timeout, options.runs_per_day) == (9, 8, 7)
    assert options.with_ == ("wandb==0.16.3",)


def test_with_is_a_list_of_requirements() -> None:
    data = {"with": ["mlflow==2.11.0", " wandb<0.20"], "scenarios": {"startup": {}}}
    spec = userspec.from_dict(data)
    assert spec.with_ == ("mlflow==2.11.0", "wandb<0.20")


# --- n_metrics ---------------------------------------------------------------------------


def _logged(scenario: str, params: dict[str, Any]) -> list[RunData]:
    workload = workloads.get(scenario)
    return expected_runs(workload, workload.prepare(workload.params(params)), Adapter)


def test_default_data_is_what_it_was_before_n_metrics() -> None:
    from scenarios.workloads.base import floats

    assert workloads.get("high_frequency").prepare({"n_values": 5, "n_metrics": 1}) == floats(0, 5)
    (run,) = _logged("high_frequency", {"n_values": 5})
    assert run.metrics == {"value": list(enumerate(floats(0, 5)))}
    runs = _logged("many_runs", {"n_runs": 2, "n_values": 3})
    flat = floats(1, 6)
    assert [r.metrics for r in runs] == [{"value": list(enumerate(flat[:3]))},
                                         {"value": list(enumerate(flat[3:]))}]  # fmt: skip
    (run,) = _logged("training_loop", {"epochs": 2, "steps_per_epoch": 3, "n_weights": 4})
    assert set(run.metrics) == {"loss", "lr", "val_loss", "val_accuracy"}
    assert (
        workloads.get("training_loop")
        .prepare(workloads.get("training_loop").params({"n_weights": 4}))
        .rows
        is None
    )  # the timed loop is the one it was


def test_more_metrics_add_seeded_floats_beside_the_default_ones() -> None:
    (base,) = _logged("high_frequency", {"n_values": 4})
    (run,) = _logged("high_frequency", {"n_values": 4, "n_metrics": 3})
    assert list(run.metrics) == ["value", "metric_01", "metric_02"]
    assert run.metrics["value"] == base.metrics["value"]
    assert run.metrics["metric_01"] != run.metrics["metric_02"]
    runs = _logged("many_runs", {"n_runs": 2, "n_values": 3, "n_metrics": 2})
    assert [sorted(r.metrics) for r in runs] == [["metric_01", "value"]] * 2
    small = {"epochs": 2, "steps_per_epoch": 3, "n_weights": 4}
    (base,) = _logged("training_loop", small)
    (run,) = _logged("training_loop", {**small, "n_metrics": 5})
    assert sorted(run.metrics) == sorted([*base.metrics, "metric_02", "metric_03", "metric_04"])
    assert all(run.metrics[k] == base.metrics[k] for k in base.metrics)
    assert all(len(run.metrics[f"metric_0{i}"]) == 6 for i in (2, 3, 4))
    (wide,) = _logged("training_loop", {**small, "n_metrics": 101})
    assert "metric_100" in wide.metrics and "metric_002" in wide.metrics  # they sort as logged


def test_the_fidelity_check_sees_every_metric() -> None:
    expected = _logged("high_frequency", {"n_values": 3, "n_metrics": 3})
    (run,) = expected
    lost = run._replace(metrics={k: v for k, v in run.metrics.items() if k != "metric_02"})
    assert diff_runs(expected, expected) is None
    assert diff_runs(expected, [lost]) == "run 'run-0': metric 'metric_02' missing"


def test_estimates_scale_with_values_per_step() -> None:
    one = estimates.workload_size("high_frequency", {"n_values": 1000, "n_metrics": 1})
    assert estimates.workload_size("high_frequency", {"n_values": 1000, "n_metrics": 30}) == (
        1, 30 * one[1], 0.0
    )  # fmt: skip
    many = {"n_runs": 10, "n_values": 10, "n_metrics": 3}
    assert estimates.workload_size("many_runs", many)[1] == 10 * 10 * 3
    small = {"epochs": 2, "steps_per_epoch": 10, "n_weights": 0}
    # epochs x (steps x metrics a step + val_loss and val_accuracy)
    for n_metrics in (2, 30):
        values = estimates.workload_size("training_loop", {**small, "n_metrics": n_metrics})[1]
        assert values == 2 * (10 * n_metrics + 2)
    default = workloads.get("training_loop").params(small)
    more = estimates.writer_seconds("mlflow", "training_loop", {**default, "n_metrics": 30})
    extra_values = 2 * 10 * 28
    assert more - estimates.writer_seconds("mlflow", "training_loop", default) == pytest.approx(
        extra_values * estimates.ESTIMATES["mlflow"].per_value
    )


@pytest.mark.parametrize(
    ("scenario", "params", "names"),
    [
        ("high_frequency", {"n_values": 20, "n_metrics": 3}, {"value", "metric_01", "metric_02"}),
        ("training_loop", {"epochs": 2, "steps_per_epoch": 5, "n_weights": 100, "n_metrics": 5},
         {"loss", "lr", "metric_02", "metric_03", "metric_04", "val_loss", "val_accuracy"}),
    ],
)  # fmt: skip
def test_a_real_tracker_cell_stores_and_reads_back_every_metric(
    scenario: str, params: dict[str, Any], names: set[str]
) -> None:
    # exact fidelity: the reader, a new process, read back every metric logged, bit for bit
    result = run_cell("tracker", scenario, params, 120, python=envs.ensure("tracker").python)
    assert (result[S.OUTCOME], result[S.FIDELITY]) == (S.OK, S.EXACT), result[S.REASON]
    (run,) = _logged(scenario, params)
    assert set(run.metrics) == names


# --- old results and new ones: one configuration -----------------------------------------


def test_implied_params_are_the_defaults() -> None:
    for scenario, implied in S.IMPLIED_PARAMS.items():
        defaults = workloads.get(scenario).defaults
        assert {k: defaults[k] for k in implied} == implied, scenario


def _ok(ns: float) -> dict[str, Any]:
    return {S.OUTCOME: S.OK, S.FIDELITY: S.EXACT, S.FRAMEWORK_VERSION: "1.0",
            S.DURABILITY: S.PROCESS, S.TRACKING_NS: int(ns)}  # fmt: skip


def test_old_results_and_new_ones_at_the_default_are_one_configuration(tmp_path: Path) -> None:
    before = {"n_values": 1000}  # as suites stored it before n_metrics
    now = workloads.get("high_frequency").params(before)
    assert now == {"n_values": 1000, "n_metrics": 1}
    training_before = {"epochs": 2, "steps_per_epoch": 20, "n_weights": 1000}
    training_now = workloads.get("training_loop").params(training_before)
    old = write_suite(tmp_path / "old.db", "old-1", {
        "high_frequency": {"tracker": [(before, [1e6] * 3)]},
        "training_loop": {"tracker": [(training_before, [2e6] * 3)]},
    }, _ok)  # fmt: skip
    new = write_suite(tmp_path / "new.db", "new-1", {
        "high_frequency": {"tracker": [(now, [1e6] * 3), ({**now, "n_metrics": 30}, [3e6] * 3)]},
        "training_loop": {"tracker": [(training_now, [2e6] * 3)]},
    }, _ok)  # fmt: skip
    cells = load(os.fspath(new)).cells
    labels = set(cells.loc[cells[SCENARIO] == "high_frequency", CONFIG])
    assert labels == {"n_values=1000", "n_metrics=30, n_values=1000"}
    _, old_section = compare.resolve(os.fspath(old), "")
    _, new_section = compare.resolve(os.fspath(new), "")
    kinds = {(c.scenario, c.config): c.kind for c in compare.compare(old_section, new_section)}
    assert kinds == {
        ("high_frequency", "n_values=1000"): compare.NOISE,
        ("high_frequency", "n_metrics=30, n_values=1000"): compare.ONLY_NEW,
        ("training_loop", "epochs=2, n_weights=1000, steps_per_epoch=20"): compare.NOISE,
    }
    # a committed database of results from before n_metrics (a copy: opening the file would
    # leave WAL files beside it) labels that configuration alike
    golden = tmp_path / "golden2.db"
    shutil.copyfile(GOLDEN, golden)
    cells = load(os.fspath(golden)).cells
    assert "n_values=1000" in set(cells.loc[cells[SCENARIO] == "high_frequency", CONFIG])


def test_one_database_of_old_and_new_cells_fills_in_what_the_old_ones_logged(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.db"
    for suite, config in (("old-1", {"n_values": 10}), ("new-1", {"n_values": 10, "n_metrics": 1})):
        write_suite(path, suite, {"high_frequency": {"tracker": [(config, [1e6])]}}, _ok)
    cells = load(os.fspath(path)).cells
    assert list(cells[CONFIG]) == ["n_values=10", "n_values=10"]
    assert list(cells["n_metrics"]) == [1, 1]
