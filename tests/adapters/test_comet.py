"""Comet beyond the shared contract: one archive, its documented contents, nothing outside."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell

from adapters.base import EXACT


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
