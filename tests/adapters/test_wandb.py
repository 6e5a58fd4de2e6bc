"""W&B beyond the shared contract: its own directories, wandb-core gone, the .wandb reader."""

from __future__ import annotations

from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import EXACT
from adapters.wandb import WANDB_HEADER


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("wandb", tmp_path_factory.mktemp("wandb"))


def test_contract_is_exact(contract: Isolated) -> None:
    """History JSON written by wandb-core keeps float64 bits, -0.0 ("-0") included."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_nothing_outside_and_no_wandb_core_left(contract: Isolated) -> None:
    """Logs, staging and settings stay in the work directory; teardown ends wandb-core."""
    assert contract.outside_paths == []
    assert contract.result["leftover_processes"] == 0
    assert not list(contract.workdir.glob("wandb/*/files/code"))  # no copy of the script


def test_array_is_an_offline_artifact(contract: Isolated) -> None:
    """The NPY file is staged inside WANDB_DATA_DIR, where the .wandb manifest points."""
    staged = list((contract.workdir / "wandb-data" / "artifacts" / "staging").rglob("*"))
    assert [p for p in staged if p.is_file()]


def test_reader_checks_every_chunk(contract: Isolated) -> None:
    """A flipped byte in the .wandb log is reported, never silently misread."""
    (log,) = contract.workdir.glob("wandb/offline-run-*/run-*.wandb")
    code = """
from pathlib import Path
from adapters.wandb import read_wandb_records
src = Path(sys.argv[1]); bad = Path(sys.argv[2])
data = bytearray(src.read_bytes()); data[len(data) // 2] ^= 0xFF; bad.write_bytes(bytes(data))
print(len(list(read_wandb_records(src))))
try:
    list(read_wandb_records(bad))
except ValueError as exc:
    print("refused:", exc)
"""
    count, refused = run_in_env(
        contract.python, code, str(log), str(log.parent.parent.parent / "bad.wandb")
    ).splitlines()
    assert int(count) > 100  # a history record per step, and the run's other records
    assert refused.startswith("refused:")


@pytest.mark.slow
def test_records_across_blocks(tmp_path_factory: pytest.TempPathFactory) -> None:
    """5,000 steps fill several 32 KiB blocks: records split over blocks read back exactly."""
    cell = run_cell("wandb", tmp_path_factory.mktemp("wandb-5k"), params={"values": 5000})
    assert (cell.result["outcome"], cell.result["fidelity"]) == ("ok", EXACT), cell.result
    (log,) = cell.workdir.glob("wandb/offline-run-*/run-*.wandb")
    assert log.stat().st_size > 3 * 32 * 1024


# the crash cell: seed 0 kills the writer after 99 values, 80 of them flushed
CRASH = {"n_values": 200, "flush_every": 20}


def test_a_killed_run_keeps_only_what_wandb_core_wrote(tmp_path: Path) -> None:
    """W&B has no flush: wandb-core writes the .wandb log 32 KiB at a time and, its parent
    killed, shuts down without writing the rest. How much of the 99 values that is depends
    on when it last wrote (here none; in one CI run 30): what survived reads back exactly,
    the log opens, and the tail is lost."""
    cell = run_cell("wandb", tmp_path, "crash", CRASH)
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert result["flushed_values"] == 0  # no flush of its own
    assert result["store_opens"] and result["logged_values"] > 0
    assert result["survived_values"] < result["logged_values"]
    assert result["fidelity"] == EXACT, result["reason"]  # what survived, as logged
    (log,) = (cell.workdir / "wandb").glob("offline-run-*/run-*.wandb")
    assert log.stat().st_size >= len(WANDB_HEADER)
