"""MLtraq beyond the shared contract: exact, one SQLite file, nothing else anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from adapter_contract import environment
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import CONCURRENCY, EXACT
from adapters.mltraq import MltraqAdapter


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("mltraq", tmp_path_factory.mktemp("mltraq"))


def test_contract_is_exact(contract: Isolated) -> None:
    """NaN, -0.0, infinities and the array all survive pickling and NPY, bit for bit."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_one_sqlite_file_and_nothing_outside(contract: Isolated) -> None:
    """persist() writes only the database: no datastore folder, no home or temp files."""
    assert sorted(p.name for p in contract.workdir.iterdir()) == ["mltraq.db"]
    assert contract.outside_paths == []
    assert contract.result["leftover_processes"] == 0


def test_declares_no_concurrency() -> None:
    """persist() replaces an experiment's table, so concurrent writers cannot share one."""
    assert CONCURRENCY not in MltraqAdapter.supports
    assert MltraqAdapter.fidelity == EXACT


def test_names_are_checked_against_run_fields(tmp_path: Path) -> None:
    """A metric named like a reserved field raises instead of overwriting the params."""
    code = """
from pathlib import Path
from adapters.mltraq import MltraqAdapter
a = MltraqAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
a.start_run("e", "r", {"p": 1})
try:
    a.log({"params": 1.0}, 0)
except ValueError as exc:
    print("refused:", exc)
"""
    out = run_in_env(environment("mltraq").python, code, str(tmp_path))
    assert out.startswith("refused:")


def test_array_over_sqlite_blob_limit_is_unsupported(tmp_path: Path) -> None:
    """An array that cannot fit one SQLite BLOB is refused as unsupported at log_array."""
    code = """
from pathlib import Path
import numpy as np
from adapters.base import Unsupported
from adapters.mltraq import MltraqAdapter
a = MltraqAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
print(a.max_blob)
a.max_blob = 100_000  # as if this SQLite took 10^5 bytes at most
a.start_run("e", "r", {})
a.log_array("fits", np.zeros(1000))
try:
    a.log_array("big", np.zeros(100_000, dtype=np.int8))
except Unsupported as exc:
    print("unsupported:", exc)
"""
    limit, refused = run_in_env(environment("mltraq").python, code, str(tmp_path)).splitlines()
    assert int(limit) == 1_000_000_000  # SQLite's default SQLITE_MAX_LENGTH
    assert refused.startswith("unsupported: MLtraq stores an array as one BLOB")


def test_nothing_reaches_the_database_before_finish(tmp_path: Path) -> None:
    """Runs live in memory until persist(): a process dying before finish() loses them."""
    code = """
import sqlite3
from pathlib import Path
import numpy as np
from adapters.mltraq import MltraqAdapter
work = Path(sys.argv[1])
a = MltraqAdapter(); a.load(); a.open(work, None)
a.start_run("e", "r", {"p": 1})
for step in range(100):
    a.log({"v": step / 3}, step)
a.log_array("w", np.arange(10.0))
a.end_run()
def count():
    with sqlite3.connect(work / "mltraq.db") as db:
        return db.execute("SELECT count(*) FROM experiments").fetchone()[0]
print(count())
a.finish()
print(count())
"""
    before, after = run_in_env(environment("mltraq").python, code, str(tmp_path)).split()
    assert (before, after) == ("0", "1")
