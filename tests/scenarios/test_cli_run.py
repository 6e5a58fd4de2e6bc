"""`trackbench run`, `list`, `profile`: one-line errors for bad input, and a real tiny suite."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import tracker
from results import schema as S
from scenarios import envs
from scenarios.cli import main

MEMORY = "tests.scenarios.fake_adapters:Memory"


def one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str], match: str) -> None:
    """`trackbench ARGV` exits 2 with exactly one line on stderr, containing `match`."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("trackbench: error: "), err
    assert match in err, err


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["run", "--frameworks", "nosuch"], "unknown framework 'nosuch'; known: tracker"),
        (["run", "--scenarios", "nosuch"], "unknown scenario 'nosuch'; known: startup"),
        (["run", "--grid", "huge"], "unknown grid 'huge'; known: quick, reference, full"),
        (["run", "--repeat", "0"], "--repeat must be at least 1"),
        (["run", "--shard", "3/2"], "--shard wants i/n"),
        (["run", "--budget", "0"], "--budget must be positive"),
        (["run", "--set", "startup.n=1"], "scenario 'startup' has no parameter 'n'"),
        (["run", "--set", "n_values=1"], "scenario.param=value"),
        (["run", "--spec", "/no/such/spec.toml"], "cannot read spec /no/such/spec.toml"),
        (["run", "--set", "high_frequency.n_values=1e400"], "inf is not a whole number"),
        (["run", "--set", "high_frequency.n_values=nan"], "nan is not a whole number"),
        (["run", "--set", "high_frequency.n_values=abc"], "'abc' is not a whole number"),
        (["run", "--set", "high_frequency.n_values=1.5"], "1.5 is not a whole number"),
        (["profile", "tracker", "nosuch"], "unknown scenario 'nosuch'"),
        (["profile", "tracker", "startup", "n=1"], "has no parameter 'n'"),
        (["profile", "nosuch", "startup"], "framework 'nosuch'"),
    ],
)
def test_bad_arguments_are_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], match: str
) -> None:
    one_line_error(capsys, [*argv, *(["--db", str(tmp_path / "r.db")] if argv[0] == "run" else [])],
                   match)  # fmt: skip


def test_a_closed_pipe_ends_list_quietly(tmp_path: Path) -> None:
    import subprocess
    import sys

    command = f"{sys.executable} -m scenarios.cli list | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.strip() and done.stderr == "", done.stderr
    assert done.returncode in (0, 141)


def test_unreachable_database_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    # port 1 on the loopback: nothing listens, so the connection is refused at once
    url = "postgresql://nobody@127.0.0.1:1/results"
    one_line_error(
        capsys, ["run", "--frameworks", MEMORY, "--db", url], "cannot open results database"
    )


def test_unwritable_database_path_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    one_line_error(
        capsys,
        ["run", "--frameworks", MEMORY, "--db", "/proc/no/such/r.db"],
        "cannot open results database",
    )


def test_list_shows_frameworks_scenarios_and_grids(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for word in ("frameworks:", "tracker", "scenarios:", "training_loop", "grids:", "reference"):
        assert word in out


@pytest.mark.slow
def test_real_tiny_suite_over_the_tracker_and_two_peers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole path: environments (built if missing), workers, the results database."""
    frameworks = ["tracker", "sacred", "tensorboard"]
    for name in frameworks:
        envs.ensure(name)
    db = tmp_path / "results.db"
    scenarios = ["startup", "high_frequency", "many_runs", "arrays", "large_array", "readback",
                 "concurrency", "training_loop"]  # fmt: skip
    argv = ["run", "--db", os.fspath(db), "--frameworks", *frameworks, "--repeat", "1",
            "--scenarios", *scenarios, "--seed", "3",
            "--set", "high_frequency.n_values=100", "--set", "large_array.n_elements=1000000",
            "--set", "many_runs.n_runs=3", "--set", "concurrency.n_runs=1",
            "--set", "training_loop.steps_per_epoch=10"]  # fmt: skip
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "[24/24]" in err and "ETA" in err
    conn = tracker.connect(f"sqlite:///{db}")
    try:
        outcomes = {}
        for scenario in scenarios:
            for run in conn.experiment(scenario).runs():
                params = run.params
                outcomes[(params[S.FRAMEWORK], scenario)] = (run[S.OUTCOME], run[S.REASON])
                assert params[S.SUITE_ID] and params[S.REPETITION] == 0
        suite = conn.experiment(S.SUITES_EXPERIMENT).runs()[0].params
    finally:
        conn.close()
    assert len(outcomes) == 24
    unsupported = {("tensorboard", "large_array")}
    for (framework, scenario), (outcome, reason) in outcomes.items():
        if (framework, scenario) in unsupported:
            assert outcome == "unsupported", (framework, scenario, reason)
            assert "tensorboard has no large_arrays: an array is kept only as a histogram" in reason
        else:
            assert outcome == "ok", (framework, scenario, reason)
    assert suite[S.SEED] == 3 and suite[S.COMMAND].startswith("trackbench run")
    assert suite[S.COMMIT] and suite[S.MACHINE] and suite[S.CPU]


def test_demo_works_in_a_fresh_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no results/ folder here: the demo makes it
    assert main(["demo"]) == 0
    assert "finetune" in capsys.readouterr().out
    with tracker.connect(tmp_path / "results" / "demo.db") as conn:
        pretrain, finetune = conn.experiment("demo").runs()
        assert finetune.links == {"finetunes": [pretrain.id]}
        assert len(pretrain.metrics()["loss"]) == 300
