"""neptune-scale beyond the shared contract: its SQLite operation log, exact, nothing outside."""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import sqlite3
import struct
import subprocess
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import EXACT, FLUSH, POWER, expand_env
from adapters.neptune_scale import DB_NAME, FILES, LOG_DIRECTORY, PROJECT, NeptuneScaleAdapter
from scenarios import envs, workloads


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("neptune-scale", tmp_path_factory.mktemp("neptune-scale"))


def _bits(value: float) -> str:
    return "nan" if math.isnan(value) else struct.pack("<d", value).hex()


def _open(db: Path) -> contextlib.closing[sqlite3.Connection]:
    """The closed SQLite file as it is: immutable, so reading it leaves no -wal or -shm."""
    return contextlib.closing(sqlite3.connect(f"file:{db}?immutable=1", uri=True))


def _adapter_env(workdir: Path, home: Path) -> dict[str, str]:
    """What a cell's writer gets: the adapter's variables and a home of its own."""
    return {"HOME": str(home), **expand_env(NeptuneScaleAdapter.env, workdir)}


def test_contract_is_exact(contract: Isolated) -> None:
    """Protobuf doubles in SQLite keep every float64, NaN, infinities and -0.0 included."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")
    assert contract.result["framework_version"] == "0.30.0"


def test_read_back_bit_for_bit(contract: Isolated) -> None:
    """What read_back returns from the SQLite file: every value's bits, typed params, the
    experiment and run id, the array."""
    code = """
import json
from pathlib import Path
from adapters.neptune_scale import NeptuneScaleAdapter
adapter = NeptuneScaleAdapter()
adapter.load()
(run,) = adapter.read_back(Path(sys.argv[1]), None)
print(json.dumps({
    "experiment": run.experiment, "run_name": run.run_name, "params": run.params,
    "types": {k: type(v).__name__ for k, v in run.params.items()},
    "loss": [(step, value.hex()) for step, value in run.metrics["loss"]],
    "weights": run.arrays["weights"].tobytes().hex(),
    "dtype": str(run.arrays["weights"].dtype),
}))
"""
    back = json.loads(run_in_env(contract.python, code, str(contract.workdir)))
    inputs = workloads.CONTRACT.prepare(workloads.CONTRACT.params())
    got = [(step, float.fromhex(v)) for step, v in back["loss"]]
    assert [s for s, _ in got] == list(range(len(inputs.values)))
    assert [_bits(v) for _, v in got] == [_bits(v) for v in inputs.values]
    assert (back["experiment"], back["run_name"]) == ("contract", "run-0")
    assert back["params"] == inputs.params
    assert back["types"] == {"lr": "float", "batch_size": "int", "optimizer": "str"}
    assert (back["dtype"], back["weights"]) == ("float64", inputs.array.tobytes().hex())


def test_stays_in_the_work_directory(contract: Isolated) -> None:
    """One run folder under .neptune holding only its SQLite file (closed: no WAL left), the
    NPY file where log_array saved it; nothing outside, no sync process left."""
    assert contract.outside_paths == []
    assert contract.result["outside_files"] == 0
    assert contract.result["leftover_processes"] == 0
    assert sorted(p.name for p in contract.workdir.iterdir()) == [LOG_DIRECTORY, FILES]
    (run_dir,) = (contract.workdir / LOG_DIRECTORY).iterdir()
    assert run_dir.name.startswith("trackbench_offline_run-0_")  # project, run id, time in ns
    assert [p.name for p in run_dir.iterdir()] == [DB_NAME]
    (npy,) = (contract.workdir / FILES).rglob("*.npy")
    assert npy.name == "weights.npy"
    assert npy.read_bytes().startswith(b"\x93NUMPY")


def test_what_the_sqlite_file_holds(contract: Isolated) -> None:
    """Plain SQL on the run's file: WAL mode, the run's metadata, one operation to create the
    run, one for the params, one per step, one assigning the file; the file's path kept."""
    (db,) = (contract.workdir / LOG_DIRECTORY).glob(f"*/{DB_NAME}")
    assert db.read_bytes()[18:20] == b"\x02\x02"  # the header's WAL mode (read/write version 2)
    with _open(db) as conn:
        assert conn.execute("SELECT version, project, run_id FROM metadata").fetchall() == [
            ("v5", PROJECT, "run-0")
        ]
        kinds = conn.execute(
            "SELECT operation_type, COUNT(*) FROM run_operations GROUP BY operation_type"
        ).fetchall()
        files = conn.execute(
            "SELECT source_path, mime_type, size_bytes, is_temporary FROM file_upload_requests"
        ).fetchall()
        submitted = conn.execute("SELECT COUNT(*) FROM run_operation_submission").fetchone()
    # 0 = UpdateRunSnapshot (params, 100 steps, the file), 1 = CreateRun
    assert dict(kinds) == {1: 1, 0: 1 + 100 + 1}
    ((source, mime, size, temporary),) = files
    npy = Path(source)
    assert npy.parent.parent == contract.workdir / FILES  # referenced where it was saved
    assert (mime, size, temporary) == ("application/octet-stream", npy.stat().st_size, 0)
    assert submitted == (0,)  # nothing was ever sent


def test_params_runs_and_wait_offline(tmp_path: Path) -> None:
    """int64 extremes and bools keep their type; runs in one process each get a file of
    their own; wait_for_submission returns False at once offline (no sync process); no
    home files."""
    code = """
import json, time
from pathlib import Path
from adapters.neptune_scale import NeptuneScaleAdapter
a = NeptuneScaleAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
params = {"int64_min": -(2**63), "int64_max": 2**63 - 1, "flag": True, "name": "adam", "x": -0.0}
for i in range(2):
    a.start_run("e", f"r{i}", {**params, "i": i})
    a.log({"v": i / 3}, 0)
    a.log({"v": 1e-300}, 5)
    if i == 1:
        t = time.perf_counter()
        waited = a._run.wait_for_submission(timeout=30, verbose=False)
        wait_s = time.perf_counter() - t
    a.end_run()
a.finish()
runs = a.read_back(Path(sys.argv[1]), None)
print(json.dumps({"waited": waited, "wait_s": wait_s, "runs": [
    [r.experiment, r.run_name, {k: [repr(v), type(v).__name__] for k, v in r.params.items()},
     r.metrics] for r in runs]}))
"""
    workdir = tmp_path / "work"
    workdir.mkdir()
    home = tmp_path / "home"
    out = run_in_env(
        envs.ensure("neptune-scale").python, code, str(workdir), env=_adapter_env(workdir, home)
    )
    back = json.loads(out.splitlines()[-1])
    assert back["waited"] is False and back["wait_s"] < 5
    runs = sorted(back["runs"], key=lambda r: r[1])
    want = {
        "int64_min": [repr(-(2**63)), "int"],
        "int64_max": [repr(2**63 - 1), "int"],
        "flag": ["True", "bool"],
        "name": ["'adam'", "str"],
        "x": ["-0.0", "float"],
    }
    assert runs == [
        ["e", "r0", {**want, "i": ["0", "int"]}, {"v": [[0, 0.0], [5, 1e-300]]}],
        ["e", "r1", {**want, "i": ["1", "int"]}, {"v": [[0, 1 / 3], [5, 1e-300]]}],
    ]
    assert len(list((workdir / LOG_DIRECTORY).glob(f"*/{DB_NAME}"))) == 2
    assert not home.exists()


def test_declares_no_flush_and_power_durability() -> None:
    """Every call is its own committed, synced transaction: nothing for a flush to do."""
    assert FLUSH not in NeptuneScaleAdapter.supports
    assert "synchronous=FULL" in NeptuneScaleAdapter.lacks[FLUSH]
    assert NeptuneScaleAdapter.durability == POWER


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_every_log_call_is_synced(tmp_path: Path) -> None:
    """strace: at least one fdatasync per logged step (the WAL synced at each commit)."""
    code = """
from pathlib import Path
from adapters.neptune_scale import NeptuneScaleAdapter
a = NeptuneScaleAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
a.start_run("e", "r0", {})
for step in range(int(sys.argv[2])):
    a.log({"v": step / 7}, step)
a.end_run()
a.finish()
"""
    python = envs.ensure("neptune-scale").python
    strace = shutil.which("strace")
    assert strace is not None
    prelude = f"import sys; sys.path.append({str(envs.ROOT)!r})\n"
    counts: dict[int, int] = {}
    for n in (50, 150):
        workdir = tmp_path / f"work{n}"
        workdir.mkdir()
        trace = tmp_path / f"strace{n}.txt"
        proc = subprocess.run(
            [strace, "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(trace),
             str(python), "-I", "-c", prelude + code, str(workdir), str(n)],
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8",
                 **_adapter_env(workdir, tmp_path / "home")},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        if proc.returncode != 0 and "ptrace" in proc.stderr:
            pytest.skip(f"strace cannot trace here: {proc.stderr.strip()[:200]}")
        assert proc.returncode == 0, proc.stderr[-2000:]
        lines = trace.read_text().splitlines()
        counts[n] = sum("fdatasync(" in line or "fsync(" in line for line in lines)
    assert counts[150] - counts[50] >= 100, counts


def test_fidelity_matrix_keeps_every_kind(tmp_path: Path) -> None:
    """The values that break trackers, one call each: neptune-scale stores every kind as it
    was given (non-finite floats, 300-character and non-ASCII names, 1000 metrics in a step,
    steps with gaps, int64 extremes, arrays of each dtype); 4 writers starting one new
    experiment at once each write their own file."""
    cell = run_cell("neptune-scale", tmp_path, "fidelity")
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert set(result["fidelity_matrix"].values()) == {"kept"}, result["fidelity_matrix"]
    assert (result["fidelity"], result["concurrent_start"]) == (EXACT, "safe")
    assert cell.outside_paths == []
    assert result["leftover_processes"] == 0


# the crash cell: seed 0 kills the writer after 99 values
CRASH = {"n_values": 200, "flush_every": 20}


def test_a_killed_writer_keeps_every_value(tmp_path: Path) -> None:
    """No flush of its own, none needed: each log_metrics was committed before it returned,
    so every value a SIGKILLed writer logged is read back from its SQLite file (the reader,
    neptune-scale's repository, recovers the WAL the killed writer left)."""
    cell = run_cell("neptune-scale", tmp_path, "crash", CRASH)
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert (result["fidelity"], result["reason"]) == (EXACT, "")
    assert result["store_opens"] is True
    assert result["flushed_values"] == 0  # never called: FLUSH is not declared
    assert result["logged_values"] == result["survived_values"] == 99
    assert result["leftover_processes"] == 0
    (db,) = (cell.workdir / LOG_DIRECTORY).glob(f"*/{DB_NAME}")
    with _open(db) as conn:
        (updates,) = conn.execute(
            "SELECT COUNT(*) FROM run_operations WHERE operation_type = 0"
        ).fetchone()
    assert updates == 99  # one per logged value (the run has no params)
