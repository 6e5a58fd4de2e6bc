"""MLtraq beyond the shared contract: exact, one SQLite file (large arrays in its DataStore
folder), nothing else anywhere."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from adapter_contract import environment
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import CAPABILITIES, CONCURRENCY, EXACT, FLUSH
from adapters.mltraq import DATASTORE_BYTES, MltraqAdapter


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


def test_declares_no_concurrency_and_no_flush() -> None:
    """persist() writes a whole experiment, so concurrent writers cannot share one, and a run
    in progress is not yet part of it, so nothing flushes it; `lacks` says so, and names no
    other capability."""
    assert CONCURRENCY not in MltraqAdapter.supports
    lacking = CAPABILITIES - MltraqAdapter.supports
    assert set(MltraqAdapter.lacks) == lacking == {CONCURRENCY, FLUSH}
    assert "persist()" in MltraqAdapter.lacks[CONCURRENCY]
    assert "persist()" in MltraqAdapter.lacks[FLUSH]
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


def test_arrays_over_16_mib_go_to_the_datastore(tmp_path: Path) -> None:
    """An array of 16 MiB stays a BLOB; one byte more and its field is a DataStore: a file
    in WORKDIR/mltraq.datastore/EXPERIMENT_ID/, its URL in the database; both read back."""
    code = """
import json
from pathlib import Path
import numpy as np
from adapters.mltraq import DATASTORE_BYTES, MltraqAdapter
work = Path(sys.argv[1])
a = MltraqAdapter(); a.load(); a.open(work, None)
a.start_run("e", "r", {})
a.log_array("fits", np.full(DATASTORE_BYTES, 1, dtype=np.int8))
a.log_array("over", np.full(DATASTORE_BYTES + 1, 2, dtype=np.int8))
a.end_run()
a.finish()
reader = MltraqAdapter(); reader.load()
(run,) = reader.read_back(work, None)
print(json.dumps({k: [v.size, int(v[-1])] for k, v in run.arrays.items()}))
"""
    out = run_in_env(environment("mltraq").python, code, str(tmp_path))
    assert json.loads(out) == {"fits": [DATASTORE_BYTES, 1], "over": [DATASTORE_BYTES + 1, 2]}
    (stored,) = [p for p in (tmp_path / "mltraq.datastore").rglob("*") if p.is_file()]
    assert stored.stat().st_size > DATASTORE_BYTES + 1
    with closing(sqlite3.connect(tmp_path / "mltraq.db")) as db:
        fits, over = db.execute("SELECT length(fits), length(over) FROM experiment_e").fetchone()
    assert fits > DATASTORE_BYTES  # the NPY bytes themselves
    assert over < 1000  # the DataStore's URL only


def test_large_array_cell_stays_in_the_work_directory(tmp_path: Path) -> None:
    """The large array cell just over the threshold: exact, the database and one DataStore
    file, nothing in home or /tmp."""
    cell = run_cell("mltraq", tmp_path, "large_array", {"n_elements": DATASTORE_BYTES + 1})
    assert cell.result["outcome"] == "ok", cell.stderr
    assert (cell.result["fidelity"], cell.result["reason"]) == (EXACT, "")
    files = sorted(p.relative_to(cell.workdir) for p in cell.workdir.rglob("*") if p.is_file())
    assert [f.parts[0] for f in files] == ["mltraq.datastore", "mltraq.db"]
    assert cell.outside_paths == []
    assert cell.result["leftover_processes"] == 0


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
