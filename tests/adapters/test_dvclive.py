"""DVCLive beyond the shared contract: exact TSV, no DVC repository, arrays unsupported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import ARRAYS, EXACT, expand_env
from adapters.dvclive import DvcliveAdapter
from scenarios import envs


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("dvclive", tmp_path_factory.mktemp("dvclive"))


def test_contract_is_exact(contract: Isolated) -> None:
    """The csv module writes float reprs; NaN and infinities as nan/inf, read back exact."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_plain_files_only_and_nothing_outside(contract: Isolated) -> None:
    """No .dvc, no git repository, nothing in home or /tmp, no process left."""
    files = sorted(p.relative_to(contract.workdir).as_posix() for p in contract.workdir.rglob("*"))
    run = "dvclive/contract/run-0"
    assert files == [
        "dvclive",
        "dvclive/contract",
        run,
        f"{run}/dvc.yaml",
        f"{run}/dvclive",
        f"{run}/dvclive/metrics.json",
        f"{run}/dvclive/params.yaml",
        f"{run}/dvclive/plots",
        f"{run}/dvclive/plots/metrics",
        f"{run}/dvclive/plots/metrics/loss.tsv",
    ]
    assert contract.outside_paths == []
    assert contract.result["leftover_processes"] == 0


def test_dvc_yaml_does_not_grow_with_steps(contract: Isolated) -> None:
    """dvc.yaml beside the Live directory keeps one entry per section after 100 steps.

    Inside the Live directory, DVCLive 3.49 appends its entries again on every step, which
    makes each `next_step()` slower than the last; the adapter keeps DVCLive's own layout.
    """
    text = (contract.workdir / "dvclive" / "contract" / "run-0" / "dvc.yaml").read_text()
    assert text.count("dvclive/params.yaml") == 1
    assert text.count("dvclive/plots/metrics") == 1


def test_arrays_are_unsupported(tmp_path: Path) -> None:
    """Not declared, and log_array says why instead of storing nothing silently."""
    assert ARRAYS not in DvcliveAdapter.supports
    code = """
from pathlib import Path
import numpy as np
from adapters.base import Unsupported
from adapters.dvclive import DvcliveAdapter
a = DvcliveAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
a.start_run("e", "r", {})
try:
    a.log_array("w", np.zeros(3))
except Unsupported as exc:
    print("unsupported:", exc)
a.end_run()
"""
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {"HOME": str(tmp_path / "home"), **expand_env(DvcliveAdapter.env, workdir)}
    out = run_in_env(envs.ensure("dvclive").python, code, str(workdir), env=env)
    assert out.startswith("unsupported: DVCLive stores files only through DVC")


def test_steps_need_not_start_at_zero(tmp_path: Path) -> None:
    """Logged steps are set on the Live object, so gaps and offsets read back as logged."""
    code = """
import json
from pathlib import Path
from adapters.dvclive import DvcliveAdapter
a = DvcliveAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
a.start_run("e", "r", {"lr": 0.5, "name": "x"})
for step in (5, 6, 10):
    a.log({"a": step / 7, "b": -0.0}, step)
a.end_run()
a.finish()
print(json.dumps([[r.params, r.metrics] for r in a.read_back(Path(sys.argv[1]), None)]))
"""
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {"HOME": str(tmp_path / "home"), **expand_env(DvcliveAdapter.env, workdir)}
    out = run_in_env(envs.ensure("dvclive").python, code, str(workdir), env=env)
    ((params, metrics),) = json.loads(out)
    assert params == {"lr": 0.5, "name": "x"}
    assert metrics["a"] == [[5, 5 / 7], [6, 6 / 7], [10, 10 / 7]]
    assert [str(v) for _, v in metrics["b"]] == ["-0.0"] * 3
