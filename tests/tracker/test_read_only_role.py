"""A PostgreSQL role with only SELECT reads everything and writes nothing: the database's own
privileges guard the data, and every refused write says so in one line (SQLSTATE 42501)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

import tracker
from tracker import schema
from tracker.backends import SQLAlchemyBackend
from tracker.encoded import CHUNK_BYTES
from tracker.run import open_runs

pytestmark = pytest.mark.postgres

README = Path(__file__).parent.parent.parent / "README.md"
BIG = np.arange(CHUNK_BYTES // 8 + 1000, dtype=np.float64)  # over 16 MiB: in `chunks`
LOSS = [1.0 / (step + 1) for step in range(50)] + [float("nan"), -0.0]


class Team(NamedTuple):
    """A team's database: owned by the role the tracker writes as, connected to by none else."""

    admin: Any  # a SQLAlchemy engine of the superuser, on this database
    database: str
    writer: str
    reader: str
    writer_url: str
    reader_url: str


@pytest.fixture
def team(postgres_url: str) -> Iterator[Team]:
    """A fresh database owned by a writer role; the reader role is made by the README's SQL."""
    import sqlalchemy

    base, database = postgres_url.rsplit("/", 1)
    host = base.rsplit("@", 1)[1]
    writer, reader = f"writer_{database}", f"reader_{database}"  # roles are server-wide
    admin = sqlalchemy.create_engine(
        postgres_url.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    execute(
        admin,
        f"CREATE ROLE {writer} LOGIN",
        f"ALTER DATABASE {database} OWNER TO {writer}",  # so it owns schema public too
        f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC",  # GRANT CONNECT must matter
    )
    yield Team(
        admin,
        database,
        writer,
        reader,
        f"postgresql://{writer}@{host}/{database}",
        f"postgresql://{reader}:change-me@{host}/{database}",
    )
    admin.dispose()


def execute(engine: Any, *statements: str) -> None:
    """Run statements in autocommit mode, one by one."""
    with engine.connect() as conn:
        for statement in statements:
            conn.exec_driver_sql(statement)


def readme_grants(team: Team) -> list[str]:
    """The README's SQL for a read-only role, for this test's database and role names."""
    block = re.search(r"```sql\n(.*?)```", README.read_text(), re.DOTALL)
    assert block, "README.md lost its SQL block of read-only grants"
    names = {"reader": team.reader, "writer": team.writer, "tracking": team.database}
    sql = re.sub(r"\b(reader|writer|tracking)\b", lambda m: names[m.group()], block.group(1))
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


class Filled(NamedTuple):
    """What the writer stored."""

    first: int
    second: int


def fill(team: Team) -> Filled:
    """Two runs as the writer: params, tags, a link, small and large fields, metrics."""
    with tracker.connect(team.writer_url) as db:
        exp = db.experiment("e")
        with exp.run("base", params={"lr": 0.1, "opt": "adam"}, tags=["baseline"]) as first:
            for step, value in enumerate(LOSS):
                first.log({"loss": value}, step=step)
            first["small"] = {"a": [1, 2]}
            first["big"] = BIG
        with exp.run(links={"finetunes": first.id}) as second:
            second.log({"loss": 0.5, "acc": None}, step=7)
        db.experiment("other")
    return Filled(first.id, second.id)


def dump(team: Team) -> dict[str, Any]:
    """Every table's rows (as hashes of their text), the sequences, relations and columns."""
    with team.admin.connect() as conn:

        def rows(sql: str) -> list[tuple[Any, ...]]:
            return [tuple(row) for row in conn.exec_driver_sql(sql).fetchall()]

        relations = rows(
            "SELECT c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text"
            " FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1"
        )
        out: dict[str, Any] = {
            "relations": relations,
            "columns": rows(
                "SELECT attrelid::regclass::text, attname, atttypid FROM pg_attribute"
                " WHERE attrelid IN (SELECT oid FROM pg_class"
                " WHERE relnamespace = 'public'::regnamespace) AND attnum > 0 ORDER BY 1, 2"
            ),
            "sequences": rows("SELECT sequencename, last_value FROM pg_sequences ORDER BY 1"),
        }
        for name, kind, *_ in relations:
            if kind == "r":
                out[name] = rows(f"SELECT md5(t::text) FROM {name} t ORDER BY 1")
    assert out["chunks"] and out["metrics"]  # the large field and the metrics are there
    return out


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[Callable[..., Any]]:
    """Every write a PostgreSQL connection of this test attempts (the work it was given)."""
    attempted: list[Callable[..., Any]] = []
    original = SQLAlchemyBackend.write

    def spy(self: SQLAlchemyBackend, work: Callable[..., Any]) -> Any:
        attempted.append(work)
        return original(self, work)

    monkeypatch.setattr(SQLAlchemyBackend, "write", spy)
    return attempted


def refused(role: str, table: str) -> str:
    """The one line a write refused for want of privilege says."""
    return (
        rf"^postgresql\+psycopg://{role}(:\*\*\*)?@[^ ]+ refused the write: role '{role}' may not"
        rf" write here \(permission denied for table {table}\); connect as a role that may"
        rf" write; nothing was written$"
    )


def check_reads_everything(db: tracker.Database, stored: Filled) -> None:
    """Every way of reading sees what the writer stored."""
    assert db.experiments() == ["e", "other"]
    exp = db.experiment("e")
    first, second = exp.runs()
    assert [first.id, second.id] == list(stored)
    assert first.status == second.status == "COMPLETED"
    run = db.get_run(stored.first)
    assert run.params == {"lr": 0.1, "opt": "adam"} and run.tags == ["baseline"]
    assert run.keys() == ["big", "small"] and run["small"] == {"a": [1, 2]}
    assert np.array_equal(run["big"], BIG)
    got = run.metrics()["loss"]
    assert got[:50] == list(enumerate(LOSS[:50])) and np.isnan(got[50][1])
    assert str(got[51][1]) == "-0.0"
    assert exp.get_run(stored.second).links == {"finetunes": [stored.first]}
    frame = exp.runs_df(objects=True)
    assert frame["id"].tolist() == list(stored) and frame["params.lr"].tolist()[0] == 0.1
    assert np.array_equal(frame["fields.big"][0], BIG)
    metrics = exp.metrics_df()
    assert len(metrics) == len(LOSS) + 2 and metrics["name"].tolist().count("acc") == 1
    overview = db.backend.read("SELECT id, experiment, status FROM run_overview ORDER BY id")
    assert overview == [(stored.first, "e", "COMPLETED"), (stored.second, "e", "COMPLETED")]
    nans = db.backend.read("SELECT count(*) FROM metric_values WHERE is_nan")
    assert nans == [(1,)]


def test_the_readme_grants_let_a_role_read_everything_without_writing(
    team: Team, writes: list[Callable[..., Any]]
) -> None:
    stored = fill(team)
    execute(team.admin, *readme_grants(team))
    before = dump(team)
    writes.clear()
    with tracker.connect(team.reader_url) as db:
        check_reads_everything(db, stored)
        assert db.schema_version == schema.SCHEMA_VERSION
    assert writes == []  # connecting and reading never attempted a write
    assert dump(team) == before


def test_every_write_of_a_read_only_role_fails_in_one_line_and_changes_nothing(
    team: Team, writes: list[Callable[..., Any]]
) -> None:
    stored = fill(team)
    execute(team.admin, *readme_grants(team))
    before = dump(team)
    with tracker.connect(team.reader_url) as db:
        exp = db.experiment("e")
        attempts = {
            "experiments": lambda: db.experiment("new"),
            "runs": exp.run,
        }
        for table, attempt in attempts.items():
            with pytest.raises(tracker.TrackerError) as caught:
                attempt()
            assert type(caught.value) is tracker.TrackerError  # not one bad value: RejectedData
            assert re.match(refused(team.reader, table), str(caught.value)), caught.value
        with pytest.raises(tracker.TrackerError, match=refused(team.reader, "runs")):
            exp.run("x", params={"lr": 1.0}, tags=["t"], links={"finetunes": stored.first})
        assert open_runs() == []  # no run was started, so none is flushed or ended
        # A run read here is not open in this process: writing to it fails before the database
        writes.clear()
        run = exp.get_run(stored.first)
        for write in (
            lambda: run.log({"loss": 1.0}),
            lambda: run.__setitem__("x", 1),
            lambda: run.__setitem__("big", BIG),
            lambda: run.params.__setitem__("wd", 1e-4),
            lambda: run.tags.append("late"),
            run.end,
        ):
            with pytest.raises(tracker.TrackerError, match=r"is closed \(COMPLETED\)"):
                write()
        assert writes == []
        check_reads_everything(db, stored)
    assert dump(team) == before


def test_a_run_whose_role_loses_its_rights_keeps_what_it_logged(team: Team) -> None:
    db = tracker.connect(team.writer_url, flush_every_seconds=3600)  # flushes only on call
    run = db.experiment("e").run(params={"lr": 0.1})
    run.flush()
    revoke = f"REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public FROM {team.writer}"
    execute(team.admin, revoke)
    for step, value in enumerate(LOSS):
        run.log({"loss": value}, step=step)
    run["small"] = "kept"
    with pytest.warns(tracker.TrackerWarning, match="kept in memory.*may not write here"):
        run.auto_flush()  # the flush thread's: warns, never raises
    for write in (run.flush, run.end):
        with pytest.raises(tracker.TrackerError, match=refused(team.writer, "metrics")):
            write()
    assert run.open and run.status == "RUNNING"
    with pytest.raises(tracker.TrackerError, match=refused(team.writer, "chunks")):
        run["big"] = BIG  # a large value is written at once: the call fails, nothing is kept
    with pytest.raises(tracker.TrackerError, match=refused(team.writer, "params")):
        run.params["wd"] = 1e-4
    with pytest.raises(tracker.TrackerError, match=refused(team.writer, "tags")):
        run.tags.append("late")
    assert run.params == {"lr": 0.1} and run.tags == []
    assert db.backend.read("SELECT count(*) FROM metrics") == [(0,)]
    execute(team.admin, revoke.replace("REVOKE", "GRANT").replace("FROM", "TO"))
    run.end()  # everything buffered while it could not write is written now
    db.close()
    with tracker.connect(team.writer_url) as db:
        stored = db.get_run(run.id)
        assert stored.status == "COMPLETED" and stored["small"] == "kept"
        got = stored.metrics()["loss"]
        assert len(got) == len(LOSS) and got[:50] == list(enumerate(LOSS[:50]))
        assert stored.keys() == ["small"] and stored.params == {"lr": 0.1}


# As a reader: a run cannot start, so nothing is left for the flush thread or the exit.
READER_EXITS = """
import sys, tracker
from tracker.run import open_runs
db = tracker.connect(sys.argv[1], flush_every_seconds=0.05)
try:
    db.experiment("e").run()
except tracker.TrackerError as exc:
    print(exc)
print(len(open_runs()))
"""
# As a writer that loses its rights while a run is open: the flush thread warns and keeps
# running, and the exit says which run it could not save; nothing hangs.
WRITER_LOSES_RIGHTS = """
import sys, time, sqlalchemy, tracker
db = tracker.connect(sys.argv[1], flush_every_seconds=0.05)
run = db.experiment("e").run()
print(run.id, flush=True)
admin = sqlalchemy.create_engine(sys.argv[2], isolation_level="AUTOCOMMIT")
with admin.connect() as conn:
    conn.exec_driver_sql(sys.argv[3])
run.log({"loss": 1.0}, step=0)
time.sleep(0.5)  # the flush thread tries (and fails) several times
run.log({"loss": 2.0}, step=1)
"""


def test_neither_the_flush_thread_nor_the_exit_crash_or_hang_without_rights(
    team: Team,
) -> None:
    execute(team.admin, *readme_grants(team))
    with tracker.connect(team.writer_url) as db:
        db.experiment("e")  # the schema and an experiment, created by the writer
    reader = subprocess.run(
        [sys.executable, "-c", READER_EXITS, team.reader_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reader.returncode == 0 and reader.stderr == ""
    message, still_open = reader.stdout.splitlines()
    assert re.match(refused(team.reader, "runs"), message) and still_open == "0"

    revoke = f"REVOKE INSERT, UPDATE ON ALL TABLES IN SCHEMA public FROM {team.writer}"
    admin_url = team.admin.url.render_as_string(hide_password=False)
    writer = subprocess.run(
        [sys.executable, "-c", WRITER_LOSES_RIGHTS, team.writer_url, admin_url, revoke],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert writer.returncode == 0, writer.stderr
    run_id = int(writer.stdout)
    warned, saved = writer.stderr.count("kept in memory"), writer.stderr.count("could not save")
    assert warned == 1 and saved == 1, writer.stderr  # warned once, not at every retry
    assert f"could not save run {run_id} at exit" in writer.stderr
    assert "may not write here (permission denied for table" in writer.stderr
    with tracker.connect(team.reader_url) as db:
        assert db.get_run(run_id).status == "LOST"  # its process is gone, nothing was written
        assert db.get_run(run_id).metrics() == {}


def downgrade_to_schema_1(team: Team) -> None:
    """Make the writer's database one an older tracker (schema version 1) wrote."""
    import sqlalchemy

    writer = sqlalchemy.create_engine(
        team.writer_url.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    execute(
        writer,
        "DROP VIEW run_overview",
        "DROP VIEW metric_values",
        "DROP VIEW param_values",
        "DROP INDEX params_by_value",
        "DROP INDEX tags_by_tag",
        "ALTER TABLE metrics DROP COLUMN logged_at",
        "ALTER TABLE runs DROP COLUMN writer_host, DROP COLUMN writer_pid, DROP COLUMN seen_at",
        "CREATE VIEW run_overview AS SELECT r.id, e.name AS experiment, r.name, r.status,"
        " r.created_at, r.ended_at FROM runs r JOIN experiments e ON e.id = r.experiment_id",
        "CREATE VIEW metric_values AS SELECT m.run_id, e.name AS experiment, r.name AS run,"
        " m.name, m.step, m.value FROM metrics m JOIN runs r ON r.id = m.run_id"
        " JOIN experiments e ON e.id = r.experiment_id",
        "UPDATE tracker_meta SET value = '1' WHERE key = 'schema_version'",
    )
    writer.dispose()


def test_an_older_schema_reads_as_it_is_and_only_its_owner_upgrades_it(
    team: Team, writes: list[Callable[..., Any]]
) -> None:
    stored = fill(team)
    downgrade_to_schema_1(team)
    execute(team.admin, *readme_grants(team))
    before = dump(team)
    writes.clear()
    with tracker.connect(team.reader_url) as db:
        assert db.schema_version == 1
        assert [run.status for run in db.experiment("e").runs()] == ["COMPLETED"] * 2
        assert np.array_equal(db.get_run(stored.first)["big"], BIG)
        assert db.experiment("e").runs_df()["params.lr"].tolist()[0] == 0.1
        assert len(db.experiment("e").metrics_df()) == len(LOSS) + 2
        assert db.backend.read("SELECT count(*) FROM run_overview") == [(2,)]
        assert writes == []
        with pytest.raises(tracker.TrackerError) as caught:
            db.experiment("e").run()
    assert re.match(
        rf"^\S+ refused the write: role '{team.reader}' may not upgrade the tracker's tables to"
        r" this version's schema \(must be owner of (table|view) \w+\); connect once as their"
        r" owner, then as any role that may write; nothing was written$",
        str(caught.value),
    ), caught.value
    assert dump(team) == before
    with tracker.connect(team.writer_url) as db:  # the owner upgrades at its first write
        db.experiment("e").run().end()
        assert db.schema_version == schema.SCHEMA_VERSION
    with tracker.connect(team.reader_url) as db:  # the views it re-created are readable too
        statuses = db.backend.read("SELECT status, writer_host FROM run_overview ORDER BY id")
        assert [row[0] for row in statuses] == ["COMPLETED"] * 3 and statuses[2][1]
        assert db.backend.read("SELECT count(*) FROM metric_values WHERE is_nan") == [(1,)]


def test_default_privileges_let_the_reader_read_what_the_writer_creates_later(
    team: Team,
) -> None:
    execute(team.admin, *readme_grants(team))  # on an empty database: no table to grant yet
    stored = fill(team)
    with tracker.connect(team.reader_url) as db:
        check_reads_everything(db, stored)


def test_a_role_missing_a_grant_is_told_which_and_attempts_no_write(
    team: Team, writes: list[Callable[..., Any]]
) -> None:
    fill(team)
    grants = readme_grants(team)
    execute(team.admin, grants[0])  # CREATE ROLE and nothing more
    with pytest.raises(tracker.TrackerError, match=r"GRANT CONNECT ON DATABASE \w+ TO reader_"):
        tracker.connect(team.reader_url)
    execute(team.admin, *grants[1:3])  # CONNECT and USAGE, but no SELECT
    writes.clear()
    with pytest.raises(
        tracker.TrackerError,
        match=rf"role '{team.reader}' may not read this \(permission denied for table"
        rf" tracker_meta\); the tables' owner can let it: GRANT SELECT ON ALL TABLES IN"
        rf" SCHEMA public TO {team.reader}$",
    ):
        tracker.connect(team.reader_url)
    assert writes == []  # it did not take the database for an empty one to create tables in


def test_a_session_that_only_reads_is_refused_the_same_way(team: Team) -> None:
    fill(team)
    execute(
        team.admin,
        *readme_grants(team),
        f"GRANT INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO {team.reader}",
        f"ALTER ROLE {team.reader} SET default_transaction_read_only = on",  # as on a standby
    )
    with tracker.connect(team.reader_url) as db, pytest.raises(tracker.TrackerError) as caught:
        db.experiment("e").run()
    assert type(caught.value) is tracker.TrackerError
    assert str(caught.value).endswith(
        " refused the write: this session or server only reads (cannot execute INSERT in a"
        " read-only transaction); connect to the primary server as a role that may write;"
        " nothing was written"
    )
