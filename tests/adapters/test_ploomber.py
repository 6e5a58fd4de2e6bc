"""ploomber-engine: what maps (one value per name per run) works; steps and arrays do not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import ARRAYS, FLUSH, LOSSY, STEPS, expand_env
from adapters.ploomber import PloomberAdapter
from scenarios import envs


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract without steps (its 100 values as 100 names at step 0): 100 cells."""
    return run_cell("ploomber", tmp_path_factory.mktemp("ploomber"))


def test_contract_loses_exactly_what_is_documented(contract: Isolated) -> None:
    """Finite floats survive repr and ast.literal_eval; NaN and infinities become strings."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert contract.result["fidelity"] == LOSSY
    assert contract.result["reason"] == PloomberAdapter.fidelity_note


def test_ipython_and_matplotlib_stay_in_the_work_dir(contract: Isolated) -> None:
    """The IPython profile and matplotlib's font cache are redirected; nothing else anywhere."""
    top = sorted(p.name for p in contract.workdir.iterdir())
    assert top == ["ipython", "matplotlib", "ploomber"]
    assert (contract.workdir / "ploomber" / "contract.db").is_file()
    assert contract.outside_paths == []
    assert contract.result["leftover_processes"] == 0


def test_declares_no_flush() -> None:
    """The cells' values are stored once, after the whole execution."""
    assert FLUSH not in PloomberAdapter.supports
    assert "track_execution" in PloomberAdapter.lacks[FLUSH]


def test_series_and_arrays_are_unsupported(tmp_path: Path) -> None:
    """A workload that needs steps is `unsupported` before anything runs."""
    assert STEPS not in PloomberAdapter.supports and ARRAYS not in PloomberAdapter.supports
    result = run_cell("ploomber", tmp_path, workload="high_frequency").result
    assert result["outcome"] == "unsupported"
    assert "steps" in result["reason"]


def test_non_finite_values_come_back_as_strings_and_steps_are_refused(tmp_path: Path) -> None:
    """NaN/inf outputs are not literals (the documented loss); a second step is Unsupported."""
    code = """
import json
from pathlib import Path
from adapters.base import Unsupported
from adapters.ploomber import PloomberAdapter
a = PloomberAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
a.start_run("e", "r0", {"lr": 0.1, "opt": "adam"})
a.log({"nan": float("nan"), "inf": float("inf"), "neg": -0.0, "tiny": 5e-324}, 0)
try:
    a.log({"nan": 1.0}, 1)
except Unsupported as exc:
    print("refused:", exc)
a.end_run()
a.start_run("e", "r1", {"lr": 0.2, "opt": "sgd"})
a.log({"x": 0.1}, 0)
a.end_run()
a.finish()
print(json.dumps([[r.run_name, r.params, r.metrics] for r in a.read_back(Path(sys.argv[1]), None)]))
"""
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {"HOME": str(tmp_path / "home"), **expand_env(PloomberAdapter.env, workdir)}
    out = run_in_env(envs.ensure("ploomber").python, code, str(workdir), env=env).splitlines()
    assert out[0].startswith("refused: ploomber-engine tracking stores one value per name")
    (r0, r1) = json.loads(out[-1])
    assert r0[0] == "r0" and r0[1]["lr"] == 0.1 and r0[1]["opt"] == "adam"
    assert r0[2]["nan"] == [[0, "nan"]] and r0[2]["inf"] == [[0, "inf"]]
    kept = [[step, repr(value)] for step, value in r0[2]["neg"] + r0[2]["tiny"]]
    assert kept == [[0, "-0.0"], [0, "5e-324"]]
    assert r1[:2] == ["r1", {"lr": 0.2, "opt": "sgd", "x": 0.1}]
    adapter = PloomberAdapter()
    assert PloomberAdapter.fidelity == LOSSY
    assert [adapter.expect_scalar(v) for v in (float("nan"), float("-inf"), 0.5)] == [
        "nan",
        "-inf",
        0.5,
    ]
