"""Fixtures shared by all tests: fresh tracker databases, a throwaway PostgreSQL server."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import tracker
from scenarios import postgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL cluster started for this test session (as the postgres user)."""
    # Not under pytest's tmp_path: the postgres user must be able to reach the folder.
    with (
        tempfile.TemporaryDirectory(prefix="trackbench-pg-") as parent,
        postgres.cluster(Path(parent)) as url,
    ):
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """URL of a fresh, empty database on the session's PostgreSQL server."""
    import sqlalchemy

    name = f"t_{next(_counter)}"
    admin = sqlalchemy.create_engine(
        postgres_server.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    yield postgres_server.rsplit("/", 1)[0] + f"/{name}"
    admin.dispose()


_counter = iter(range(1, 1_000_000))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh tracker database URL: an embedded SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tracker.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db(db_url: str) -> Iterator[tracker.Database]:
    """A connected, fresh tracker database on each backend."""
    database = tracker.connect(db_url)
    yield database
    database.close()
