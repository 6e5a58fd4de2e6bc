"""ClearML beyond the shared contract: the offline session's files, NaN and inf as 0.0, the
work directory only, and what a killed writer's reporting subprocess still writes."""

from __future__ import annotations

import json
import math
import struct
import zipfile
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell

from adapters.base import EXACT, LOSSY
from adapters.clearml import CACHE, ClearmlAdapter
from scenarios import workloads


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("clearml", tmp_path_factory.mktemp("clearml"))


def _offline(workdir: Path) -> Path:
    return workdir / CACHE / "offline"


def test_contract_loses_exactly_what_is_documented(contract: Isolated) -> None:
    """NaN and the infinities come back as 0.0, nothing else is changed."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (
        LOSSY,
        ClearmlAdapter.fidelity_note,
    )


def test_expected_loss() -> None:
    """expect_scalar: 0.0 for NaN, inf and -inf; finite values (-0.0 too) bit for bit."""
    adapter = ClearmlAdapter()
    for value in (math.nan, math.inf, -math.inf):
        assert struct.pack("<d", adapter.expect_scalar(value)) == struct.pack("<d", 0.0)
    for value in (-0.0, 5e-324, 0.1, 1.7976931348623157e308):
        assert struct.pack("<d", adapter.expect_scalar(value)) == struct.pack("<d", value)


def test_one_session_zip_and_its_folder(contract: Isolated) -> None:
    """Task.close() zips the session folder and leaves it: task.json, metrics.jsonl (JSON
    lines of event lists, NaN and inf written as 0.0), log.jsonl and the artifact's .npz."""
    offline = _offline(contract.workdir)
    (session,) = offline.glob("offline-*.zip")
    assert (offline / session.stem).is_dir()
    with zipfile.ZipFile(session) as zf:
        names = sorted(zf.namelist())
        task = json.loads(zf.read("task.json"))
        events = [e for line in zf.read("metrics.jsonl").splitlines() for e in json.loads(line)]
    task_id = session.stem
    assert names == [
        f"data/contract/run-0.{task_id}/artifacts/weights/weights.npz",
        "log.jsonl",
        "metrics.jsonl",
        "task.json",
    ]
    assert (task["id"], task["project_name"], task["name"]) == (task_id, "contract", "run-0")
    general = task["hyperparams"]["General"]
    assert {k: (v["type"], v["value"]) for k, v in general.items()} == {
        "lr": ("float", "0.001"),
        "batch_size": ("int", "32"),
        "optimizer": ("str", "adam"),
    }
    (artifact,) = task["execution"]["artifacts"]
    assert (artifact["key"], artifact["type"]) == ("weights", "numpy")
    # no code diff, no requirements, no repository: capture is off
    script = task["script"]
    assert (script["diff"], script["repository"], script.get("requirements")) == ("", "", None)
    values = workloads.CONTRACT.prepare(workloads.CONTRACT.params()).values
    scalars = [(e["iter"], e["value"]) for e in events if e["type"] == "training_stats_scalar"]
    assert [step for step, _ in scalars] == list(range(len(values)))
    for step, value in scalars:
        want = 0.0 if not math.isfinite(values[step]) else values[step]
        assert struct.pack("<d", value) == struct.pack("<d", want), step


def test_stays_in_the_work_directory(contract: Isolated) -> None:
    """Cache, configuration, session cache and staging inside the work directory; nothing
    in home or temp (no ~/.clearml), no reporting subprocess left."""
    assert contract.outside_paths == []
    assert contract.result["outside_files"] == 0
    assert contract.result["leftover_processes"] == 0
    assert {p.name for p in contract.workdir.iterdir()} <= {
        CACHE,
        "clearml.conf",
        "clearml-session",
        "clearml-tmp",
    }
    staging = contract.workdir / "clearml-tmp"
    assert not staging.exists() or not list(staging.iterdir())  # the .npz was moved away


# the crash cell: seed 0 kills the writer after 99 values, 80 of them flushed
CRASH = {"n_values": 200, "flush_every": 20}


def test_a_killed_writer_keeps_what_it_flushed(tmp_path: Path) -> None:
    """task.flush(wait_for_uploads=True) returns once the reporting subprocess has appended
    the reports to metrics.jsonl; killed, the writer leaves its session folder (no zip) and
    the subprocess writes what it had already received before it exits: at least every
    flushed value survives, exactly."""
    cell = run_cell("clearml", tmp_path, "crash", CRASH)
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert result["flushed_values"] == 80
    assert result["store_opens"]
    assert result["flushed_values"] <= result["survived_values"] <= result["logged_values"]
    assert (result["fidelity"], result["reason"]) == (EXACT, "")
    offline = _offline(cell.workdir)
    assert not list(offline.glob("*.zip"))  # close() never ran
    (session,) = offline.glob("offline-*")
    assert {p.name for p in session.iterdir()} >= {"task.json", "metrics.jsonl"}
    assert result["leftover_processes"] == 0
