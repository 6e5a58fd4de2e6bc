"""DVCLive beyond the shared contract: exact TSV, a DVC project, arrays in the DVC cache."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from adapter_isolation import Isolated, run_cell, run_in_env

from adapters.base import CAPABILITIES, EXACT, FLUSH, expand_env
from adapters.dvclive import DvcliveAdapter
from scenarios import envs


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Isolated:
    """The contract workload, run once for this module in sealed-off directories."""
    return run_cell("dvclive", tmp_path_factory.mktemp("dvclive"))


def test_contract_is_exact(contract: Isolated) -> None:
    """The csv module writes float reprs; NaN and infinities as nan/inf, read back exact."""
    assert contract.result["outcome"] == "ok", contract.stderr
    assert (contract.result["fidelity"], contract.result["reason"]) == (EXACT, "")


def test_dvc_project_files_and_nothing_outside(contract: Isolated) -> None:
    """A `dvc init --no-scm` project: the run's files and the array's .dvc file, DVC's cache,
    state and site cache in the work directory; no git repository, nothing in home or /tmp,
    no process left."""
    work = contract.workdir
    files = sorted(p.relative_to(work).as_posix() for p in work.rglob("*") if p.is_file())
    run = "dvclive/contract/run-0"
    # DVC's own bookkeeping, whose names are hashes: looked at in the test below
    internal = (".dvc/cache/", ".dvc/tmp/", "dvc-site-cache/")
    assert [f for f in files if not f.startswith(internal)] == [
        ".dvc/config",
        ".dvcignore",
        f"{run}/dvc.yaml",
        f"{run}/dvclive/artifacts/weights.npy",
        f"{run}/dvclive/artifacts/weights.npy.dvc",
        f"{run}/dvclive/metrics.json",
        f"{run}/dvclive/params.yaml",
        f"{run}/dvclive/plots/metrics/loss.tsv",
    ]
    assert "no_scm = True" in (work / ".dvc" / "config").read_text()
    assert not (work / ".git").exists()
    assert any(f.startswith("dvc-site-cache/repo/") for f in files)
    assert contract.outside_paths == []
    assert contract.result["leftover_processes"] == 0


def test_dvc_yaml_does_not_grow_with_steps(contract: Isolated) -> None:
    """dvc.yaml beside the Live directory keeps one entry per section after 100 steps.

    Inside the Live directory, DVCLive 3.49 appends its entries again on every step, which
    makes each `next_step()` slower than the last; the adapter keeps DVCLive's own layout.
    """
    text = (contract.workdir / "dvclive" / "contract" / "run-0" / "dvc.yaml").read_text()
    assert text.count("dvclive/params.yaml") == 1
    assert text.count("dvclive/plots/metrics") == 1


def test_declares_every_capability_but_flush() -> None:
    """With a DVC project, DVCLive has a mechanism for everything but a flush, which it does
    not need: each value is in its file when log_metric() returns."""
    assert DvcliveAdapter.supports == CAPABILITIES - {FLUSH}
    assert set(DvcliveAdapter.lacks) == {FLUSH}


def test_large_array_is_a_copy_in_the_dvc_cache(tmp_path: Path) -> None:
    """The large array cell: `dvc add` copied the NPY file into DVC's content-addressed
    cache under the md5 its .dvc file records, and the cell read it back exact."""
    n = 1_000_000
    cell = run_cell("dvclive", tmp_path, "large_array", {"n_elements": n})
    assert cell.result["outcome"] == "ok", cell.stderr
    assert (cell.result["fidelity"], cell.result["reason"]) == (EXACT, "")
    artifacts = cell.workdir / "dvclive" / "large_array" / "run-0" / "dvclive" / "artifacts"
    npy = artifacts / "large.npy"
    match = re.search(r"md5: ([0-9a-f]{32})", (artifacts / "large.npy.dvc").read_text())
    assert match is not None
    md5 = match.group(1)
    cached = cell.workdir / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]
    data = npy.read_bytes()
    assert hashlib.md5(data).hexdigest() == md5
    assert cached.read_bytes() == data
    # DVC's default cache.type (reflink, else copy) never shares the workspace inode
    assert cached.stat().st_ino != npy.stat().st_ino
    assert len(data) == n + 128  # NPY header and the int8 bytes
    assert cell.outside_paths == []


def test_steps_need_not_start_at_zero(tmp_path: Path) -> None:
    """Logged steps are set on the Live object, so gaps and offsets read back as logged."""
    code = """
import json
from pathlib import Path
from adapters.dvclive import DvcliveAdapter
a = DvcliveAdapter(); a.load(); a.open(Path(sys.argv[1]), None)
a.start_run("e", "r", {"lr": 0.5, "name": "x"})
for step in (5, 6, 10):
    a.log({"a": step / 7, "b": -0.0}, step)
a.end_run()
a.finish()
print(json.dumps([[r.params, r.metrics] for r in a.read_back(Path(sys.argv[1]), None)]))
"""
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {"HOME": str(tmp_path / "home"), **expand_env(DvcliveAdapter.env, workdir)}
    out = run_in_env(envs.ensure("dvclive").python, code, str(workdir), env=env)
    ((params, metrics),) = json.loads(out)
    assert params == {"lr": 0.5, "name": "x"}
    assert metrics["a"] == [[5, 5 / 7], [6, 6 / 7], [10, 10 / 7]]
    assert [str(v) for _, v in metrics["b"]] == ["-0.0"] * 3


# the crash cell: seed 0 kills the writer after 99 values, 80 of them flushed
CRASH = {"n_values": 200, "flush_every": 20}


def test_a_killed_writer_s_values_are_all_read_back(tmp_path: Path) -> None:
    """No flush needed: each value is in its TSV file when log_metric() returns."""
    cell = run_cell("dvclive", tmp_path, "crash", CRASH)
    result = cell.result
    assert result["outcome"] == "ok", cell.stderr
    assert (result["fidelity"], result["store_opens"]) == (EXACT, True), result["reason"]
    assert result["flushed_values"] == 0  # no flush of its own
    assert result["survived_values"] == result["logged_values"] > 0
