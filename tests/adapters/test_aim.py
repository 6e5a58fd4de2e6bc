"""Aim beyond the shared contract: the repository and artifacts in the work directory only."""

from __future__ import annotations

import pytest
from adapter_isolation import Isolated, run_cell

from adapters.base import EXACT


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("aim", tmp_path_factory.mktemp("aim"))


def test_contract_is_exact(contract: Isolated) -> None:
    """Read back after `aim storage reindex`: float64 bits, NaN and -0.0 included."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_stays_in_the_work_directory(contract: Isolated) -> None:
    """No ./.aim, nothing in home or temp, no process left; the array is one NPY artifact."""
    assert contract.result["outside_files"] == 0, contract.result["outside_paths"]
    assert contract.result["leftover_processes"] == 0
    assert sorted(p.name for p in contract.workdir.iterdir()) == ["aim", "aim-artifacts"]
    (npy,) = (contract.workdir / "aim-artifacts").rglob("*.npy")
    assert npy.name == "weights.npy"
    assert npy.read_bytes().startswith(b"\x93NUMPY")
