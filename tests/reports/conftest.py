"""Fixtures: a private copy of the golden results database, and a report built from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

GOLDEN = Path(__file__).parent / "data" / "golden.db"


@pytest.fixture(scope="session")
def golden_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of golden.db: opening the committed file would leave WAL files beside it."""
    path = tmp_path_factory.mktemp("golden") / "golden.db"
    shutil.copyfile(GOLDEN, path)
    return path


@pytest.fixture(scope="session")
def report_dir(golden_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default report of the golden database (each machine's latest suite)."""
    from scenarios.cli import main

    out = tmp_path_factory.mktemp("report")
    assert main(["report", "--db", str(golden_db), "--out", str(out)]) == 0
    return out
