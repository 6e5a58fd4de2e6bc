"""Comet beyond the shared contract: one archive, its documented contents, nothing outside."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell

from adapters.base import EXACT
from results.schema import WRONG_DATA


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("comet", tmp_path_factory.mktemp("comet"))


def test_contract_is_exact(contract: Isolated) -> None:
    """messages.json keeps float64 as repr text, NaN and Infinity as strings."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_one_archive_with_no_environment_capture(contract: Isolated) -> None:
    """Only `<key>.zip` in the offline directory; no git, host, package or code messages."""
    (archive,) = (contract.workdir / "comet").iterdir()
    assert archive.suffix == ".zip"
    with zipfile.ZipFile(archive) as zf:
        kinds = {json.loads(line)["type"] for line in zf.read("messages.json").splitlines()}
    assert kinds <= {"metric_msg", "parameter_msg", "log_other", "file_upload"}, kinds


def test_stays_in_the_work_directory(contract: Isolated) -> None:
    """No ./.cometml-runs, nothing in home or temp, no process left; no summary printed."""
    assert contract.result["outside_files"] == 0, contract.result["outside_paths"]
    assert contract.result["leftover_processes"] == 0
    assert sorted(p.name for p in contract.workdir.iterdir()) == ["comet", "comet-staging"]
    assert list((contract.workdir / "comet-staging").iterdir()) == []  # end() cleared it
    assert "COMET INFO" not in contract.stderr


def test_large_array_is_a_stored_asset_of_the_archive(tmp_path: Path) -> None:
    """10^8 int8 elements logged by log_asset(path): one NPY member of the run's archive,
    stored uncompressed (what lets the reader stream it), and no scratch file left."""
    n_elements = 100_000_000
    cell = run_cell("comet", tmp_path, "large_array", {"n_elements": n_elements})
    assert (cell.result["outcome"], cell.result["fidelity"]) == ("ok", EXACT), cell.stderr
    assert sorted(p.name for p in cell.workdir.iterdir()) == ["comet", "comet-staging"]
    (archive,) = (cell.workdir / "comet").iterdir()
    with zipfile.ZipFile(archive) as zf:
        messages = [json.loads(line) for line in zf.read("messages.json").splitlines()]
        (upload,) = [m["payload"] for m in messages if m["type"] == "file_upload"]
        assert upload["additional_params"]["fileName"] == "large.npy"
        member = zf.getinfo(upload["file_path"])
        assert member.compress_type == zipfile.ZIP_STORED
        assert n_elements < member.file_size < n_elements + 1024  # the NPY header
        with zf.open(member) as asset:
            assert asset.read(6) == b"\x93NUMPY"


# the crash cell: seed 0 kills the writer after 99 values, 80 of them flushed
CRASH = {"n_values": 200, "flush_every": 20}


def test_a_killed_writer_leaves_an_empty_archive(tmp_path: Path) -> None:
    """Experiment.flush() writes nothing offline: the archive of a run killed before end()
    is the empty ZIP made at the start, which no reader of Comet's opens; all lost."""
    cell = run_cell("comet", tmp_path, "crash", CRASH)
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert result["flushed_values"] > 0
    assert (result["store_opens"], result["survived_values"]) == (False, 0)
    assert result["fidelity"] == WRONG_DATA  # flushed values lost
    (archive,) = (cell.workdir / "comet").glob("*.zip")
    with zipfile.ZipFile(archive) as opened:
        assert opened.namelist() == []
