"""One real cell through the harness (`scenarios.cell.run_cell`), its directory kept to inspect.

The harness already gives the worker its own HOME and TMPDIR, counts files written outside
the work directory (there, in the project and in the real home) and processes left running;
this adds what the adapter tests want to look at afterwards: the work directory itself,
the service log and the worker's stderr.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from adapter_contract import environment

from scenarios import envs
from scenarios.cell import run_cell as harness_run_cell


@dataclass
class Isolated:
    """A finished cell: the harness's result and the folder it ran in."""

    result: dict[str, Any]
    cell_dir: Path
    python: Path

    @property
    def workdir(self) -> Path:
        """The cell's work directory, as the adapter left it after read_back."""
        return self.cell_dir / "work"

    @property
    def stderr(self) -> str:
        """The worker's stderr (for assertion messages)."""
        return (self.cell_dir / "stderr.txt").read_text(encoding="utf-8", errors="replace")

    @property
    def outside_paths(self) -> list[str]:
        """Files the cell left outside its work directory, as the harness lists them.

        Less new files in the project tree: other sessions edit it while these tests run,
        and the worker's current directory is the work directory (listed by the tests), so
        a framework's relative paths never land in the project.
        """
        root = os.fspath(envs.ROOT) + os.sep
        return [p for p in self.result["outside_paths"] if not p.startswith(root)]

    @property
    def service_log(self) -> str:
        """What the adapter's local server printed, or "" without one."""
        path = self.cell_dir / "service.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


def run_cell(
    framework: str,
    base: Path,
    workload: str = "contract",
    params: Mapping[str, Any] | None = None,
    timeout: float = 300.0,
) -> Isolated:
    """Run `workload` for `framework` as a benchmark cell does, its folder kept under `base`."""
    python = environment(framework).python
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", os.fspath(base))  # where run_cell makes its folder
        result = harness_run_cell(framework, workload, params, timeout, python=python, keep=True)
    (cell_dir,) = base.glob("trackbench-cell-*")
    return Isolated(result, cell_dir, python)


def run_in_env(python: Path, code: str, *args: str, env: Mapping[str, str] | None = None) -> str:
    """Run `code` with an environment's interpreter (project importable, `env` added to a
    minimal environment); its stdout."""
    prelude = f"import sys; sys.path.append({os.fspath(envs.ROOT)!r})\n"
    proc = subprocess.run(
        [os.fspath(python), "-I", "-c", prelude + code, *args],
        env={"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}:\n{proc.stderr[-3000:]}")
    return proc.stdout
