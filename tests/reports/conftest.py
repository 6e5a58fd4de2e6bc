"""Fixtures: private copies of the golden results databases, and reports built from them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def golden_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of golden.db (results schema 1): opening the committed file would leave WAL
    files beside it."""
    path = tmp_path_factory.mktemp("golden") / "golden.db"
    shutil.copyfile(DATA / "golden.db", path)
    return path


@pytest.fixture(scope="session")
def golden2_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of golden2.db (results schema 2)."""
    path = tmp_path_factory.mktemp("golden2") / "golden2.db"
    shutil.copyfile(DATA / "golden2.db", path)
    return path


@pytest.fixture(scope="session")
def report_dir(golden_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default report of the golden database (each machine's latest suite)."""
    from scenarios.cli import main

    out = tmp_path_factory.mktemp("report")
    assert main(["report", "--db", str(golden_db), "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="session")
def report2_dir(golden2_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default report of the schema 2 golden database."""
    from scenarios.cli import main

    out = tmp_path_factory.mktemp("report2")
    assert main(["report", "--db", str(golden2_db), "--out", str(out)]) == 0
    return out
