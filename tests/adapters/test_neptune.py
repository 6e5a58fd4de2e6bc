"""Neptune beyond the shared contract: the values it skips, exactly, and nothing outside."""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import DROPPED, EXACT, LOSSY
from adapters.neptune import FILES, NeptuneAdapter
from scenarios import workloads


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("neptune", tmp_path_factory.mktemp("neptune"))


def _bits(value: float) -> str:
    return "nan" if math.isnan(value) else struct.pack("<d", value).hex()


def test_non_finite_values_are_not_stored(contract: Isolated) -> None:
    """The offline log holds every finite value bit for bit; NaN and +-inf are skipped."""
    assert contract.result["outcome"] == "ok", contract.stderr
    code = """
import json
from pathlib import Path
from adapters.neptune import NeptuneAdapter
adapter = NeptuneAdapter()
adapter.load()
(run,) = adapter.read_back(Path(sys.argv[1]), None)
print(json.dumps({
    "experiment": run.experiment, "run_name": run.run_name, "params": run.params,
    "loss": [(step, value.hex()) for step, value in run.metrics["loss"]],
    "weights": run.arrays["weights"].tobytes().hex(),
    "dtype": str(run.arrays["weights"].dtype),
}))
"""
    back = json.loads(run_in_env(contract.python, code, str(contract.workdir)))
    inputs = workloads.CONTRACT.prepare(workloads.CONTRACT.params())
    want = [(step, v) for step, v in enumerate(inputs.values) if math.isfinite(v)]
    assert len(want) == len(inputs.values) - 3  # NaN, inf and -inf
    got = [(step, float.fromhex(v)) for step, v in back["loss"]]
    assert [s for s, _ in got] == [s for s, _ in want]
    assert [_bits(v) for _, v in got] == [_bits(v) for _, v in want]  # -0.0 and 5e-324 too
    assert (back["experiment"], back["run_name"]) == ("contract", "run-0")
    assert back["params"] == inputs.params
    assert (back["dtype"], back["weights"]) == ("float64", inputs.array.tobytes().hex())


def test_expected_loss() -> None:
    """expect_scalar keeps finite values and marks non-finite ones as not stored."""
    adapter = NeptuneAdapter()
    assert adapter.expect_scalar(0.1) == 0.1
    assert struct.pack("<d", adapter.expect_scalar(-0.0)) == struct.pack("<d", -0.0)
    for value in (math.nan, math.inf, -math.inf):
        assert adapter.expect_scalar(value) is DROPPED


def test_declared_fidelity(contract: Isolated) -> None:
    """The worker's own check agrees with the declared loss: three points missing, no more."""
    assert (contract.result["fidelity"], contract.result["reason"]) == (
        LOSSY,
        NeptuneAdapter.fidelity_note,
    )


def test_stays_in_the_work_directory(contract: Isolated) -> None:
    """Offline data under NEPTUNE_DATA_DIRECTORY, the uploaded NPY file where it was saved
    (the offline log keeps its path, no copy): no ./.neptune, no processes left."""
    assert contract.result["outside_files"] == 0, contract.result["outside_paths"]
    assert contract.result["leftover_processes"] == 0
    assert sorted(p.name for p in contract.workdir.iterdir()) == [".neptune", FILES]
    assert not list((contract.workdir / ".neptune").rglob("*.npy"))
    (npy,) = (contract.workdir / FILES).rglob("*.npy")
    assert npy.name == "weights.npy"
    assert npy.read_bytes().startswith(b"\x93NUMPY")


# the crash cell: seed 0 kills the writer after 99 values, 80 of them flushed
CRASH = {"n_values": 200, "flush_every": 20}


def test_what_wait_flushed_survives_a_kill(tmp_path: Path) -> None:
    """run.wait(disk_only=True) puts the offline log in the OS: every flushed value of a
    writer killed with SIGKILL is read back; after the last flush, what the buffer held."""
    cell = run_cell("neptune", tmp_path, "crash", CRASH)
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert result["fidelity"] == EXACT and result["store_opens"], result["reason"]
    assert 0 < result["flushed_values"] <= result["survived_values"] <= result["logged_values"]
