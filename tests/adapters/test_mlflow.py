"""MLflow beyond the shared contract: its documented losses, exactly, and nothing outside."""

from __future__ import annotations

import math
import os
import struct
import sys

import pytest
from adapter_isolation import Isolated, run_cell

from adapters.base import FLUSH, LOSSY
from adapters.mlflow import MlflowAdapter, MlflowServerAdapter

SHM = "/dev/shm"


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload into a SQLite file, run once for this module."""
    return run_cell("mlflow", tmp_path_factory.mktemp("mlflow"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> tuple[Isolated, set[str]]:
    """The contract workload through `mlflow server`, run once; and new folders in /dev/shm."""
    # /dev/shm is where the server's job runner would keep its queue, outside the work dir
    before = set(os.listdir(SHM)) if os.path.isdir(SHM) else set()
    cell = run_cell("mlflow-server", tmp_path_factory.mktemp("mlflow-server"))
    after = set(os.listdir(SHM)) if os.path.isdir(SHM) else set()
    return cell, {name for name in after - before if name.startswith("tmp")}


def test_expected_losses() -> None:
    """Infinities become +/-max float64, -0.0 becomes 0.0, params become strings."""
    adapter = MlflowAdapter()
    assert adapter.expect_scalar(math.inf) == sys.float_info.max
    assert adapter.expect_scalar(-math.inf) == -sys.float_info.max
    assert struct.pack("<d", adapter.expect_scalar(-0.0)) == struct.pack("<d", 0.0)
    assert math.isnan(adapter.expect_scalar(math.nan))
    assert adapter.expect_scalar(0.1) == 0.1
    assert adapter.expect_param(0.001) == "0.001"
    assert adapter.expect_param(32) == "32"


def test_declares_no_flush_of_its_own() -> None:
    """Synchronous logging commits every call: MLflow's only flush is for async logging."""
    for cls in (MlflowAdapter, MlflowServerAdapter):
        assert FLUSH not in cls.supports
        assert "flush_async_logging" in cls.lacks[FLUSH]
    assert "server" in MlflowServerAdapter.lacks[FLUSH]


@pytest.mark.slow  # MLflow's own start: seconds of imports and migrations
def test_direct_loses_exactly_what_it_declares(direct: Isolated) -> None:
    """Read back through MlflowClient: the declared loss and nothing more."""
    assert direct.result["outcome"] == "ok", direct.stderr
    assert (direct.result["fidelity"], direct.result["reason"]) == (
        LOSSY,
        MlflowAdapter.fidelity_note,
    )


@pytest.mark.slow  # MLflow's own start: seconds of imports and migrations
def test_direct_stays_in_the_work_directory(direct: Isolated) -> None:
    """Telemetry off: no ~/.config/mlflow; the array is one NPY artifact, no scratch left."""
    assert direct.outside_paths == []
    assert direct.result["leftover_processes"] == 0
    assert sorted(p.name for p in direct.workdir.iterdir()) == ["artifacts", "mlflow.db"]
    (npy,) = (direct.workdir / "artifacts").rglob("*.npy")
    assert npy.name == "weights.npy"
    assert npy.read_bytes().startswith(b"\x93NUMPY")


@pytest.mark.slow
def test_server_loses_exactly_what_it_declares(server: tuple[Isolated, set[str]]) -> None:
    """The same store behind the REST API: the same declared loss, no other."""
    cell, _ = server
    assert cell.result["outcome"] == "ok", cell.stderr
    assert cell.result["service_start_ns"] > 0
    assert (cell.result["fidelity"], cell.result["reason"]) == (
        LOSSY,
        MlflowServerAdapter.fidelity_note,
    )


@pytest.mark.slow
def test_server_stays_in_the_work_directory(server: tuple[Isolated, set[str]]) -> None:
    """No job queue in /dev/shm, nothing in home or temp, no server left running."""
    cell, new_in_shm = server
    assert new_in_shm == set()
    assert cell.outside_paths == []
    assert cell.result["leftover_processes"] == 0
    assert {p.name for p in cell.workdir.iterdir()} == {"mlartifacts", "mlflow.db"}
    (npy,) = (cell.workdir / "mlartifacts").rglob("*.npy")
    assert npy.name == "weights.npy"
    assert '"POST /' not in cell.service_log  # no access log line per request
