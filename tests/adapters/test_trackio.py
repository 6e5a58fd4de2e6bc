"""Trackio beyond the shared contract: exact, all under TRACKIO_DIR, each run its own array."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import EXACT, FLUSH, expand_env
from adapters.trackio import TrackioAdapter
from scenarios import envs


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("trackio", tmp_path_factory.mktemp("trackio"))


def test_contract_is_exact(contract: Isolated) -> None:
    """orjson text keeps float64 bits; NaN and infinities round-trip through its strings."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_everything_under_trackio_dir(contract: Isolated) -> None:
    """The SQLite file, its lock and the array blob; no HF cache, home or temp files."""
    top = sorted(p.name for p in contract.workdir.iterdir())
    assert top == ["trackio"]
    trackio_dir = contract.workdir / "trackio"
    assert (trackio_dir / "contract.db").is_file()
    blobs = [p for p in (trackio_dir / "artifacts" / "contract").rglob("*") if p.is_file()]
    assert len(blobs) == 1  # the NPY file, content-addressed
    assert contract.outside_paths == []
    assert contract.result["leftover_processes"] == 0


def test_declares_no_flush() -> None:
    """Only finish() waits for trackio's background writer."""
    assert FLUSH not in TrackioAdapter.supports
    assert "finish()" in TrackioAdapter.lacks[FLUSH]


def test_runs_share_an_artifact_name_but_keep_their_arrays(tmp_path: Path) -> None:
    """Artifact names are per project: each run's `w` is a version of its own, read back."""
    code = """
import json
from pathlib import Path
import numpy as np
from adapters.trackio import TrackioAdapter
a = TrackioAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
for i in range(2):
    a.start_run("e", f"r{i}", {"i": i})
    a.log({"v": i / 3}, 0)
    a.log_array("w", np.arange(4, dtype=np.int8) + i)
    a.end_run()
a.finish()
print(json.dumps([[r.run_name, r.params, r.metrics, r.arrays["w"].tolist(),
                   str(r.arrays["w"].dtype)] for r in a.read_back(Path(sys.argv[1]), None)]))
"""
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {"HOME": str(tmp_path / "home"), **expand_env(TrackioAdapter.env, workdir)}
    out = run_in_env(envs.ensure("trackio").python, code, str(workdir), env=env)
    runs = sorted(json.loads(out.splitlines()[-1]))
    assert runs == [
        ["r0", {"i": 0}, {"v": [[0, 0.0]]}, [0, 1, 2, 3], "int8"],
        ["r1", {"i": 1}, {"v": [[0, 1 / 3]]}, [1, 2, 3, 4], "int8"],
    ]
    assert not (tmp_path / "home").exists()
