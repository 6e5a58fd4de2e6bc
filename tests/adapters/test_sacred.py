"""Sacred beyond the shared contract: exact JSON files, no captured sources, runs kept apart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import EXACT, FLUSH, expand_env
from adapters.sacred import SacredAdapter
from scenarios import envs


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("sacred", tmp_path_factory.mktemp("sacred"))


def test_contract_is_exact(contract: Isolated) -> None:
    """metrics.json keeps NaN, infinities (as JSON extensions) and -0.0; the array is NPY."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_observer_files_only_and_nothing_outside(contract: Isolated) -> None:
    """One run directory; no _sources copy, no scratch file left; nothing in home or /tmp."""
    files = sorted(p.relative_to(contract.workdir).as_posix() for p in contract.workdir.rglob("*"))
    assert files == [
        "sacred",
        "sacred/1",
        "sacred/1/config.json",
        "sacred/1/cout.txt",
        "sacred/1/metrics.json",
        "sacred/1/run.json",
        "sacred/1/weights.npy",
    ]
    assert contract.outside_paths == []
    assert contract.result["leftover_processes"] == 0


def test_no_capture_of_output_sources_or_hardware(contract: Isolated) -> None:
    """Stdout capture, source and dependency discovery, CPU and GPU probes are all off."""
    run = json.loads((contract.workdir / "sacred" / "1" / "run.json").read_text())
    assert (contract.workdir / "sacred" / "1" / "cout.txt").read_text() == ""
    # numpy is the one dependency Sacred always records (it seeds numpy's generator)
    assert [d.split("==")[0] for d in run["experiment"]["dependencies"]] == ["numpy"]
    assert all(not path.startswith("_sources") for _, path in run["experiment"]["sources"])
    assert run["host"]["cpu"] is None and run["host"]["gpus"] is None
    assert run["meta"]["run_name"] == "run-0"
    assert run["status"] == "COMPLETED"


def test_declares_no_flush() -> None:
    """Metrics reach the observer only on Sacred's heartbeat or at the run's end."""
    assert FLUSH not in SacredAdapter.supports
    assert "heartbeat" in SacredAdapter.lacks[FLUSH]


def test_runs_in_one_process_keep_their_own_params(tmp_path: Path) -> None:
    """Three runs, a key added in the third: each run reads back its own config and values."""
    code = """
import json
from pathlib import Path
from adapters.sacred import SacredAdapter
a = SacredAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
for i, params in enumerate([{"lr": 0.1}, {"lr": 0.2}, {"lr": 0.3, "seed": 7}]):
    a.start_run("e", f"r{i}", params)
    a.log({"v": i + 0.5}, 0)
    a.log({"v": i + 1.5}, 1)
    a.end_run()
a.finish()
print(json.dumps([[r.run_name, r.params, r.metrics] for r in a.read_back(Path(sys.argv[1]), None)]))
"""
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {"HOME": str(tmp_path), **expand_env(SacredAdapter.env, workdir)}
    out = run_in_env(envs.ensure("sacred").python, code, str(workdir), env=env)
    assert json.loads(out) == [
        ["r0", {"lr": 0.1}, {"v": [[0, 0.5], [1, 1.5]]}],
        ["r1", {"lr": 0.2}, {"v": [[0, 1.5], [1, 2.5]]}],
        # a `seed` the caller passed is a param; the one Sacred adds by itself is not
        ["r2", {"lr": 0.3, "seed": 7}, {"v": [[0, 2.5], [1, 3.5]]}],
    ]
