"""SQLTrack beyond the shared contract: a cluster of its own, metrics as columns, no arrays."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell

from adapters.base import ARRAYS, EXACT, Unsupported
from adapters.sqltrack import SqltrackAdapter
from scenarios import postgres

pytestmark = pytest.mark.postgres


def _segments_created_by(pid: int) -> list[str]:
    """System V shared memory segments whose creator was process `pid` (ipcs -m -p)."""
    out = subprocess.run(["ipcs", "-m", "-p"], capture_output=True, text=True, check=True)
    return [
        line.split()[0]
        for line in out.stdout.splitlines()
        if line[:1].isdigit() and len(line.split()) >= 3 and line.split()[2] == str(pid)
    ]


@pytest.fixture(scope="module")
def contract() -> Iterator[Isolated]:
    """The contract workload against its own throwaway cluster, run once for this module."""
    # Not under pytest's tmp_path (mode 0700): the postgres user must reach the work dir.
    with tempfile.TemporaryDirectory(prefix="trackbench-sqltrack-") as parent:
        Path(parent).chmod(0o711)
        cell = run_cell("sqltrack", Path(parent))
        yield cell
        _clean_up_after_sigkill(cell.workdir / "pg" / "data")


def _clean_up_after_sigkill(data_dir: Path) -> None:
    """Start and stop the cluster once: a starting server frees what a killed one left."""
    # PostgreSQL removes a crashed predecessor's System V segment and /dev/shm segments
    # (found through postmaster.pid) when it starts; a fast shutdown then frees its own.
    if not (data_dir / "postmaster.pid").exists():
        return
    pg_ctl = [
        "runuser", "-u", "postgres", "--", str(postgres.bin_dir() / "pg_ctl"), "-D", str(data_dir)
    ]  # fmt: skip
    options = f"-c listen_addresses='' -c unix_socket_directories={data_dir}"
    start = [*pg_ctl, "-l", str(data_dir / "cleanup.log"), "start", "-w", "-o", options]
    deadline = time.monotonic() + 30
    # The killed postmaster stays a zombie until init reaps it, and a live pid in
    # postmaster.pid makes the new server refuse to start: retry until it is gone.
    while subprocess.run(start, capture_output=True, check=False).returncode != 0:
        if time.monotonic() > deadline:
            return
        time.sleep(0.2)
    subprocess.run([*pg_ctl, "stop", "-m", "fast"], capture_output=True, check=False)


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


@pytest.mark.xfail(
    strict=True,
    reason="the worker stops local servers with SIGKILL, so PostgreSQL cannot remove its "
    "System V segment (nor its /dev/shm files); a SIGINT first would let it",
)
def test_no_shared_memory_left(contract: Isolated) -> None:
    """Once the server is stopped, none of its shared memory is left behind."""
    pid = int((contract.workdir / "pg" / "data" / "postmaster.pid").read_text().split()[0])
    assert _segments_created_by(pid) == []


def test_arrays_are_unsupported() -> None:
    """No blob or artifact API: the array cells are `unsupported`, not a crash."""
    assert ARRAYS not in SqltrackAdapter.supports
    with pytest.raises(Unsupported):
        SqltrackAdapter().log_array("weights", [1.0])


@pytest.mark.parametrize("name", ["Loss", "eval/acc", "step", "a b", "x" * 64])
def test_names_that_are_not_columns_are_unsupported(name: str) -> None:
    """Metric names become SQL columns, unquoted: anything else is refused up front."""
    adapter = SqltrackAdapter()
    adapter._columns = set()
    with pytest.raises(Unsupported, match="names are SQL columns"):
        adapter.log({name: 1.0}, 0)
