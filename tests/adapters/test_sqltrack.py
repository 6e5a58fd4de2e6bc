"""SQLTrack beyond the shared contract: a cluster of its own, metrics as columns, no arrays."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell

from adapters.base import ARRAYS, EXACT, FLUSH, Unsupported
from adapters.sqltrack import SqltrackAdapter

pytestmark = pytest.mark.postgres


def _segments() -> set[str]:
    """Ids of the System V shared memory segments whose creator is gone (ipcs -m -p): those a
    server left behind; a live creator's is another server's, running on this machine."""
    out = subprocess.run(["ipcs", "-m", "-p"], capture_output=True, text=True, check=True)
    rows = [line.split() for line in out.stdout.splitlines()]
    return {row[0] for row in rows if len(row) >= 4 and row[0].isdigit() and not _alive(row[2])}


def _alive(pid: str) -> bool:
    return Path(f"/proc/{pid}").exists()


_BEFORE: set[str] = set()


@pytest.fixture(scope="module")
def contract() -> Iterator[Isolated]:
    """The contract workload against its own throwaway cluster, run once for this module."""
    # Not under pytest's tmp_path (mode 0700): the postgres user must reach the work dir.
    with tempfile.TemporaryDirectory(prefix="trackbench-sqltrack-") as parent:
        Path(parent).chmod(0o711)
        _BEFORE.update(_segments())
        yield run_cell("sqltrack", Path(parent))


def test_contract_is_exact(contract: Isolated) -> None:
    """DOUBLE PRECISION columns keep NaN, +-inf, -0.0 and subnormals; args keep params."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert contract.result["service_start_ns"] > 0
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_cluster_stays_in_the_work_directory(contract: Isolated) -> None:
    """Data directory and socket under the work dir; nothing in home or temp; no server left."""
    assert contract.result["outside_files"] == 0, contract.result["outside_paths"]
    assert contract.result["leftover_processes"] == 0
    assert [p.name for p in contract.workdir.iterdir()] == ["pg"]
    assert (contract.workdir / "pg" / "data" / "PG_VERSION").exists()


def test_server_stops_cleanly_and_frees_its_shared_memory(contract: Isolated) -> None:
    """The worker stops the server cleanly: no pid file, no shared memory left behind."""
    assert not (contract.workdir / "pg" / "data" / "postmaster.pid").exists()
    assert _segments() - _BEFORE == set()


def test_arrays_are_unsupported() -> None:
    """No blob or artifact API: the array cells are `unsupported`, not a crash."""
    assert ARRAYS not in SqltrackAdapter.supports
    with pytest.raises(Unsupported):
        SqltrackAdapter().log_array("weights", [1.0])


def test_declares_flush() -> None:
    """Client.commit() is sqltrack's own call for making a run's metrics durable."""
    assert FLUSH in SqltrackAdapter.supports and FLUSH not in SqltrackAdapter.lacks


@pytest.mark.parametrize("name", ["Loss", "eval/acc", "step", "a b", "x" * 64])
def test_names_that_are_not_columns_are_unsupported(name: str) -> None:
    """Metric names become SQL columns, unquoted: anything else is refused up front."""
    adapter = SqltrackAdapter()
    adapter._columns = set()
    with pytest.raises(Unsupported, match="names are SQL columns"):
        adapter.log({name: 1.0}, 0)
