"""TensorBoard beyond the shared contract: float32 scalars, histograms for arrays, all local."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import LOSSY, expand_env
from adapters.tensorboard import TensorboardAdapter
from scenarios import envs


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("tensorboard", tmp_path_factory.mktemp("tensorboard"))


def test_contract_loses_exactly_what_is_documented(contract: Isolated) -> None:
    """float32 scalars, float params, a histogram for the array, and nothing more lost."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert contract.result["fidelity"] == LOSSY
    assert contract.result["reason"] == TensorboardAdapter.fidelity_note


def test_event_files_only_and_quiet(contract: Isolated) -> None:
    """One event file per run plus the HParams one; nothing outside; no NaN warnings."""
    files = sorted(
        p.relative_to(contract.workdir).parent.as_posix()
        for p in contract.workdir.rglob("events.out.tfevents.*")
    )
    assert files == ["tensorboard/contract/run-0", "tensorboard/contract/run-0/hparams"]
    assert contract.outside_paths == []
    assert contract.result["leftover_processes"] == 0
    assert "NaN or Inf" not in contract.stderr


def test_what_is_kept_of_values_and_arrays(tmp_path: Path) -> None:
    """0.1 reads back as float32's 0.1; a histogram keeps min, max, count and sums exactly."""
    code = """
import json
from pathlib import Path
import numpy as np
from adapters.tensorboard import TensorboardAdapter
a = TensorboardAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
array = np.random.default_rng(1).standard_normal(1000)
a.start_run("e", "r", {"n": 3, "opt": "adam", "flag": True})
a.log({"v": 0.1, "big": 1e300}, 0)
a.log_array("w", array)
a.end_run()
a.finish()
(run,) = a.read_back(Path(sys.argv[1]), None)
kept = run.arrays["w"]
print(json.dumps({
    "params": run.params,
    "v": run.metrics["v"], "big": run.metrics["big"],
    "stats": kept[:5].tolist(),
    "expected": [array.min(), array.max(), 1000.0, array.sum(), array.dot(array)],
    "buckets": int((kept.size - 5) // 2),
    "counted": float(kept[5 + (kept.size - 5) // 2:].sum()),
    "same_as_expected": bool(np.array_equal(kept, a.expect_array(array))),
}))
"""
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {"HOME": str(tmp_path / "home"), **expand_env(TensorboardAdapter.env, workdir)}
    out = json.loads(run_in_env(envs.ensure("tensorboard").python, code, str(workdir), env=env))
    assert out["params"] == {"n": 3.0, "opt": "adam", "flag": True}
    assert out["v"] == [[0, 0.10000000149011612]]
    assert out["big"] == [[0, float("inf")]]  # beyond float32's range
    assert out["stats"] == out["expected"]
    assert out["buckets"] > 10 and out["counted"] == 1000.0
    assert out["same_as_expected"]


# the crash cell: seed 0 kills the writer after 99 values, 80 of them flushed
CRASH = {"n_values": 200, "flush_every": 20}

# Events SummaryWriter.flush() may leave unwritten: its queue (max_queue=10) and the one
# its writer thread holds
QUEUED = 10 + 1


def test_flush_keeps_all_but_the_queued_events(tmp_path: Path) -> None:
    """SummaryWriter.flush() fsyncs what its writer thread has written and does not wait
    for the events still queued: a kill loses at most those of the flushed values."""
    cell = run_cell("tensorboard", tmp_path, "crash", CRASH)
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert result["store_opens"] and result["flushed_values"] > 0
    assert result["survived_values"] >= result["flushed_values"] - QUEUED
