"""Aim beyond the shared contract: the repository and artifacts in the work directory only."""

from __future__ import annotations

from pathlib import Path

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


# the crash cell: seed 0 kills the writer after 99 values, 80 of them flushed
CRASH = {"n_values": 200, "flush_every": 20}


def test_a_killed_writer_s_values_are_all_read_back(tmp_path: Path) -> None:
    """Killed before close(), the run is not in the index; read_back indexes it as Aim's
    index manager does, and every value is there: track() wrote each before returning."""
    cell = run_cell("aim", tmp_path, "crash", CRASH)
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert (result["fidelity"], result["store_opens"]) == (EXACT, True), result["reason"]
    assert result["flushed_values"] == 0  # no flush of its own
    assert result["survived_values"] == result["logged_values"] > 0
