"""FastTrackML beyond the shared contract: its documented losses, and no `fml` left running."""

from __future__ import annotations

import math
import struct
import sys

import pytest
from adapter_isolation import Isolated, run_cell

from adapters.base import FLUSH, LOSSY
from adapters.fasttrackml import FasttrackmlAdapter


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload through `fml server` on the loopback, run once."""
    return run_cell("fasttrackml", tmp_path_factory.mktemp("fasttrackml"))


def test_expected_losses() -> None:
    """Infinities become +/-max float64, -0.0 becomes 0.0, params become strings."""
    adapter = FasttrackmlAdapter()
    assert adapter.expect_scalar(math.inf) == sys.float_info.max
    assert adapter.expect_scalar(-math.inf) == -sys.float_info.max
    assert struct.pack("<d", adapter.expect_scalar(-0.0)) == struct.pack("<d", 0.0)
    assert math.isnan(adapter.expect_scalar(math.nan))
    assert adapter.expect_scalar(5e-324) == 5e-324
    assert adapter.expect_param(0.001) == "0.001"


def test_declares_no_flush_of_its_own() -> None:
    """Each log_batch is a synchronous request the server answers after writing it."""
    assert FLUSH not in FasttrackmlAdapter.supports
    assert "fml" in FasttrackmlAdapter.lacks[FLUSH]


def test_loses_exactly_what_it_declares(contract: Isolated) -> None:
    """Read back through MlflowClient from `fml`: the declared loss and nothing more."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert contract.result["service_start_ns"] > 0
    assert (contract.result["fidelity"], contract.result["reason"]) == (
        LOSSY,
        FasttrackmlAdapter.fidelity_note,
    )


def test_stays_in_the_work_directory(contract: Isolated) -> None:
    """No ./fasttrackml.db or ./artifacts, nothing in home or temp, no `fml` left running."""
    assert contract.result["outside_files"] == 0, contract.result["outside_paths"]
    assert contract.result["leftover_processes"] == 0
    names = {p.name for p in contract.workdir.iterdir()}
    assert names - {"fml.db-wal", "fml.db-shm"} == {"artifacts", "fml.db"}
    (npy,) = (contract.workdir / "artifacts").rglob("*.npy")
    assert npy.name == "weights.npy"
