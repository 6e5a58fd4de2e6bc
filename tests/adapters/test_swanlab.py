"""SwanLab beyond the shared contract: its own directories, no probes, the record log read back."""

from __future__ import annotations

from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import EXACT
from adapters.swanlab import ARRAYS_DIR, LOG_DIR


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("swanlab", tmp_path_factory.mktemp("swanlab"))


def test_contract_is_exact(contract: Isolated) -> None:
    """Protobuf doubles keep float64 bits: NaN, infinities and -0.0 come back as logged."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_nothing_outside_no_probes_no_processes(contract: Isolated) -> None:
    """The run folder and the array stay in the work directory; no machine probes ran."""
    assert contract.outside_paths == []
    assert contract.result["leftover_processes"] == 0
    assert sorted(p.name for p in contract.workdir.iterdir()) == [ARRAYS_DIR, LOG_DIR]
    (run_dir,) = (contract.workdir / LOG_DIR).glob("run-*")
    files = sorted(p.name for p in (run_dir / "files").iterdir())
    assert "requirements.txt" not in files  # no `pip freeze`
    assert "config.yaml" in files


def test_array_is_linked_into_the_run(contract: Isolated) -> None:
    """run.save() symlinks the NPY file into the run's files folder; the file stays put."""
    (link,) = (contract.workdir / LOG_DIR).glob("run-*/files/*.npy")
    assert link.is_symlink()
    assert link.resolve().parent.parent == contract.workdir / ARRAYS_DIR


def test_reader_stops_at_a_damaged_record(contract: Isolated) -> None:
    """SwanLab's reader checks each record's CRC and stops at the first bad one, so a
    damaged log reads back shorter (the fidelity check then reports what is missing)."""
    (log,) = (contract.workdir / LOG_DIR).glob("run-*/run-*.swanlab")
    code = """
from pathlib import Path
from swanlab.sdk.internal.core_python.store import DataStoreReader
def count(path):
    reader = DataStoreReader(); reader.open(path)
    n = sum(1 for _ in reader); reader.close(); return n
src = Path(sys.argv[1]); bad = Path(sys.argv[2])
data = bytearray(src.read_bytes()); data[len(data) // 2] ^= 0xFF; bad.write_bytes(bytes(data))
print(count(src), count(bad))
"""
    whole, damaged = run_in_env(
        contract.python, code, str(log), str(contract.cell_dir / "bad.swanlab")
    ).split()
    assert int(whole) > 100  # a scalar record per step, and the run's other records
    assert 0 < int(damaged) < int(whole)


# the crash cell: seed 0 kills the writer after 99 values, 80 of them flushed
CRASH = {"n_values": 200, "flush_every": 20}


def test_a_killed_run_keeps_only_what_filled_its_buffer(tmp_path: Path) -> None:
    """SwanLab has no flush: the record log reaches the OS one Python file buffer at a time,
    and the 99 values fill about one (how many depends on the records' paths). Killed,
    the writer loses the buffer's tail; what reached the OS reads back exactly, and a log
    without even its header is refused by SwanLab's own reader."""
    cell = run_cell("swanlab", tmp_path, "crash", CRASH)
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert (result["logged_values"], result["flushed_values"]) == (99, 0)  # no flush of its own
    assert result["survived_values"] < result["logged_values"]
    (log,) = (cell.workdir / LOG_DIR).glob("run-*/run-*.swanlab")
    if log.stat().st_size == 0:
        assert (result["store_opens"], result["survived_values"]) == (False, 0)
        assert "header is 0 bytes" in result["reason"]
    else:
        assert result["store_opens"]
        assert result["fidelity"] == EXACT, result["reason"]  # what survived, as logged
