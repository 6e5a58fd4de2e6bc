"""A tracking database and its experiments."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tracker import liveness, query, schema
from tracker.backends import Backend, Transaction, open_backend
from tracker.errors import TrackerError
from tracker.run import (
    COMPLETED,
    FAILED,
    RUNNING,
    UPSERT_PARAM,
    Run,
    check_name,
    open_runs,
    param_row,
)
from tracker.schema import VALUE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

_TABLES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    # The catalog, not information_schema: that lists only the tables this role may use, so
    # a role without SELECT would take a tracker database for an empty one and try to create
    # the schema; this way it reads tracker_meta and is told what it lacks.
    "postgresql": "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
    " ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
    " AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
}
WRITER_COLUMNS = "writer_host, writer_pid, seen_at"
_SET_WRITER = "writer_host = ?, writer_pid = ?, seen_at = ?"
# tracker.blobs.EXTERNAL, the `chunks` of a field whose value is in a file (blobs is not
# imported for it: it loads re, uuid and pathlib)
EXTERNAL = -1


def connect(
    url: str | os.PathLike[str] | None = None,
    *,
    flush_every_rows: int = 100_000,
    flush_every_seconds: float = 2.0,
    fsync: bool = False,
    create_schema: bool = False,
) -> Database:
    """Open (creating if needed) a tracking database: ./tracker.db, a path, or a URL.

    Opening a database only reads it (`sqlite:///path?mode=ro`, or a file this process
    cannot write, is read-only); a new or empty one gets the tracker's tables, and one that
    holds other tables gets them only with `create_schema=True`.

    Metric values and fields are buffered and written in one transaction by a background
    thread when a run has `flush_every_rows` of them or `flush_every_seconds` after its last
    write (log() never waits for the database), and by the caller on flush(), when the run
    ends, and at interpreter exit. A written transaction survives the process being killed;
    with `fsync` (a SQLite file) it is on the disk, and survives a power cut too.
    """
    backend = open_backend(url, fsync)
    try:
        return Database(backend, flush_every_rows, flush_every_seconds, create_schema)
    except BaseException:
        backend.close()
        raise


class Database:
    """A connection to one tracking database."""

    def __init__(
        self,
        backend: Backend,
        flush_every_rows: int,
        flush_every_seconds: float,
        create_schema: bool = False,
    ):
        self.backend = backend
        self.flush_every_rows = flush_every_rows
        self.flush_every_seconds = flush_every_seconds
        self._experiment_ids: dict[str, int] = {}
        self.schema_version = self._ensure_schema(create_schema)

    def __repr__(self) -> str:
        return f"<tracker.Database {self.backend.url}>"

    def _ensure_schema(self, create: bool) -> int:
        """The stored schema version; a new database gets the schema, an older one is
        upgraded at its first write (so that reading it changes nothing)."""
        tables = {row[0] for row in self.backend.read(_TABLES[self.backend.dialect])}
        if "tracker_meta" not in tables:
            if tables and not create:
                raise TrackerError(
                    f"{self.backend.url} holds other tables ({', '.join(sorted(tables)[:5])}) "
                    f"and no tracker tables; pass connect(..., create_schema=True) to add them"
                )
            self.backend.write(self._create_schema)
        stored = self._stored_version()
        if stored > schema.SCHEMA_VERSION:
            raise TrackerError(
                f"{self.backend.url} was written by a newer tracker (schema {stored}, this one "
                f"reads up to {schema.SCHEMA_VERSION}); upgrade trackbench"
            )
        if stored < schema.SCHEMA_VERSION:
            self.backend.before_first_write = self._upgrade
        return stored

    def _stored_version(self, tx: Transaction | None = None) -> int:
        sql = "SELECT value FROM tracker_meta WHERE key = 'schema_version'"
        rows = tx.execute(sql) if tx is not None else self.backend.read(sql)
        return int(rows[0][0])

    def _upgrade(self) -> None:
        def upgrade(tx: Transaction) -> None:
            if self.backend.dialect == "postgresql":
                tx.execute("SELECT pg_advisory_xact_lock(7305917)")
            stored = self._stored_version(tx)  # another process may have upgraded it
            if stored < schema.SCHEMA_VERSION:
                for statement in schema.upgrade(self.backend.dialect, stored):
                    tx.execute(statement)
                tx.execute(
                    "UPDATE tracker_meta SET value = ? WHERE key = 'schema_version'",
                    (str(schema.SCHEMA_VERSION),),
                )

        self.backend.write(upgrade)
        self.schema_version = schema.SCHEMA_VERSION

    @property
    def writer_columns(self) -> str:
        """The runs table's writer columns to select (NULLs in a database not upgraded yet)."""
        return WRITER_COLUMNS if self.schema_version >= 2 else "NULL, NULL, NULL"

    @property
    def logged_at_column(self) -> str:
        """The metrics' time column to select (NULL in a database not upgraded yet)."""
        return "m.logged_at" if self.schema_version >= 3 else "NULL"

    def _create_schema(self, tx: Transaction) -> None:
        if self.backend.dialect == "postgresql":
            # Concurrent CREATE TABLE IF NOT EXISTS can collide in PostgreSQL's catalogs.
            tx.execute("SELECT pg_advisory_xact_lock(7305917)")
        for statement in schema.statements(self.backend.dialect):
            tx.execute(statement)
        tx.execute(
            "INSERT INTO tracker_meta (key, value) VALUES ('schema_version', ?)"
            " ON CONFLICT (key) DO NOTHING",
            (str(schema.SCHEMA_VERSION),),
        )

    def experiment(self, name: str) -> Experiment:
        """The experiment with this name, created if it does not exist."""
        check_name(name, "experiment")
        experiment_id = self._experiment_ids.get(name)
        if experiment_id is None:
            select = "SELECT id FROM experiments WHERE name = ?"
            rows = self.backend.read(select, (name,))
            if not rows:

                def create(tx: Transaction) -> list[tuple[Any, ...]]:
                    tx.execute(
                        "INSERT INTO experiments (name, created_at) VALUES (?, ?)"
                        " ON CONFLICT (name) DO NOTHING",
                        (name, time.time()),
                    )
                    return tx.execute(select, (name,))

                rows = self.backend.write(create)
            experiment_id = self._experiment_ids[name] = rows[0][0]
        return Experiment(self, experiment_id, name)

    def experiments(self) -> list[str]:
        """Names of all experiments, oldest first."""
        return [row[0] for row in self.backend.read("SELECT name FROM experiments ORDER BY id")]

    def query(self, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
        """The rows of one SQL query (`?` placeholders) as a DataFrame; it cannot write.

        The tables and views are documented in tracker/schema.py (run_overview,
        metric_values and param_values are the friendliest)."""
        import pandas as pd

        for run in open_runs(self):
            run.flush()
        columns, rows = self.backend.query(sql, params)
        return pd.DataFrame(rows, columns=columns)

    def get_run(self, run_id: int) -> Run:
        """The run with this id, in any experiment."""
        rows = self.backend.read(
            f"SELECT r.id, r.name, r.status, {self.writer_columns}, r.experiment_id, e.name"
            " FROM runs r JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?",
            (run_id,),
        )
        if not rows:
            raise TrackerError(f"no run with id {run_id!r} in {self.backend.url}")
        *row, experiment_id, experiment_name = rows[0]
        return self._run_from(Experiment(self, experiment_id, experiment_name), tuple(row))

    def _run_from(self, experiment: Experiment, row: tuple[Any, ...]) -> Run:
        """The run of a row (id, name, status, writer columns): this process's open run
        object if it writes it, else one to read it by, LOST if its writer is gone."""
        run_id, name, status, host, pid, seen_at = row
        return self._open_run(run_id) or Run(
            self, experiment, run_id, name, liveness.shown_status(status, host, pid, seen_at)
        )

    def _open_run(self, run_id: int) -> Run | None:
        """The run object this process writes this run through, if it has it open."""
        for run in open_runs(self):
            if run.id == run_id:
                return run
        return None

    def delete_experiment(self, name: str, *, force: bool = False) -> None:
        """Delete an experiment and all its runs (see Run.delete); `force` deletes it even
        while a run of it is RUNNING in another live process."""
        from tracker import deletion

        check_name(name, "experiment")
        deletion.delete_experiment(self.backend, name, force)
        self._experiment_ids.pop(name, None)

    def close(self, status: str = COMPLETED) -> None:
        """End this database's open runs with `status` and close the connection."""
        for run in open_runs(self):
            run.end(status)
        self.backend.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(FAILED if exc_type is not None else COMPLETED)


class Experiment:
    """A named collection of runs."""

    def __init__(self, db: Database, experiment_id: int, name: str) -> None:
        self.db = db
        self.id = experiment_id
        self.name = name

    def __repr__(self) -> str:
        return f"<Experiment {self.name!r} in {self.db.backend.url}>"

    def run(
        self,
        name: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        tags: Iterable[str] = (),
        links: Mapping[str, int | Iterable[int]] | None = None,
        resume: int | None = None,
    ) -> Run:
        """Start a run; `links` maps a kind such as "finetunes" to one or more run ids.

        `resume=run_id` opens a stored run of this experiment here again instead (one that
        ended, or is LOST): RUNNING, written by this process, log() going on after its last
        step; `params` and `tags` are added to it.
        """
        if resume is not None:
            return self._resume(resume, name, params, tags, links)
        if name is not None:
            check_name(name, "run")
        param_rows = [param_row(key, value) for key, value in (params or {}).items()]
        tag_list = sorted({check_name(tag, "tag") for tag in tags})
        link_rows = [
            (check_name(kind, "link"), target)
            for kind, targets in (links or {}).items()
            for target in ([targets] if isinstance(targets, int) else targets)
        ]
        for _, target in link_rows:
            if type(target) is not int:
                raise TrackerError(f"links name runs by their integer id, got {target!r}")

        def create(tx: Transaction) -> int:
            now = time.time()
            if link_rows:
                targets = sorted({target for _, target in link_rows})
                marks = ", ".join("?" * len(targets))
                found = tx.execute(f"SELECT id FROM runs WHERE id IN ({marks})", targets)
                missing = set(targets) - {row[0] for row in found}
                if missing:
                    raise TrackerError(f"links: no run with id {sorted(missing)}")
            # FROM experiments: no row, and no run, if the experiment was deleted meanwhile
            created = tx.execute(
                f"INSERT INTO runs (experiment_id, name, status, created_at, {WRITER_COLUMNS})"
                " SELECT id, ?, ?, ?, ?, ?, ? FROM experiments WHERE id = ? RETURNING id",
                (name, RUNNING, now, liveness.HOST, os.getpid(), now, self.id),
            )
            if not created:
                self.db._experiment_ids.pop(self.name, None)
                raise TrackerError(
                    f"experiment {self.name!r} was deleted; db.experiment({self.name!r}) "
                    f"creates it again"
                )
            run_id = created[0][0]
            if param_rows:
                tx.executemany(
                    f"INSERT INTO params (run_id, name, {VALUE_COLUMNS})"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, *row) for row in param_rows],
                )
            if tag_list:
                tx.executemany(
                    "INSERT INTO tags (run_id, tag) VALUES (?, ?)",
                    [(run_id, tag) for tag in tag_list],
                )
            if link_rows:
                tx.executemany(
                    "INSERT INTO links (run_id, kind, target_id) VALUES (?, ?, ?)",
                    [(run_id, kind, target) for kind, target in sorted(set(link_rows))],
                )
            return int(run_id)

        return Run(self.db, self, self.db.backend.write(create), name, RUNNING, opens=True)

    def _resume(
        self,
        run_id: Any,
        name: str | None,
        params: Mapping[str, Any] | None,
        tags: Iterable[str],
        links: Mapping[str, Any] | None,
    ) -> Run:
        """Open stored run `run_id` here again (see run())."""
        from tracker import deletion

        if type(run_id) is not int:
            raise TrackerError(f"resume= takes a run's integer id, got {run_id!r}")
        if name is not None or links:
            raise TrackerError(
                f"resume={run_id} goes on with the run as it was started, whose name and links "
                f"were set then; only params= and tags= can be added when resuming"
            )
        param_rows = [param_row(key, value) for key, value in (params or {}).items()]
        tag_list = sorted({check_name(tag, "tag") for tag in tags})
        backend = self.db.backend
        if deletion.open_here(backend, lambda run: run.id == run_id):
            raise TrackerError(
                f"run {run_id} is already open in this process; go on logging to it "
                f"(db.get_run({run_id}) returns it)"
            )
        # PostgreSQL: lock the row, so that of two processes resuming it one is refused.
        lock = " FOR UPDATE" if backend.dialect == "postgresql" else ""

        def reopen(tx: Transaction) -> tuple[str | None, int, dict[str, str | None]]:
            rows = tx.execute(
                f"SELECT id, experiment_id, status, {WRITER_COLUMNS}, name FROM runs"
                f" WHERE id = ?{lock}",
                (run_id,),
            )
            if not rows:
                raise TrackerError(f"no run with id {run_id} to resume")
            if rows[0][1] != self.id:
                (other,) = tx.execute("SELECT name FROM experiments WHERE id = ?", (rows[0][1],))
                raise TrackerError(
                    f"run {run_id} belongs to {other[0]!r}, not {self.name!r}; resume it with "
                    f"db.experiment({other[0]!r}).run(resume={run_id})"
                )
            writer = deletion.live_writer(rows[0])
            if writer:
                raise TrackerError(
                    f"run {run_id} is RUNNING in {writer}; it can be resumed once it ends or "
                    f"is LOST (no sign of life for {schema.LOST_AFTER_SECONDS:.0f} s)"
                )
            now = time.time()
            tx.execute(
                f"UPDATE runs SET status = ?, ended_at = NULL, {_SET_WRITER} WHERE id = ?",
                (RUNNING, liveness.HOST, os.getpid(), now, run_id),
            )
            if param_rows:
                tx.executemany(UPSERT_PARAM, [(run_id, *row) for row in param_rows])
            if tag_list:
                tx.executemany(
                    "INSERT INTO tags (run_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    [(run_id, tag) for tag in tag_list],
                )
            (last,) = tx.execute("SELECT MAX(step) FROM metrics WHERE run_id = ?", (run_id,))[0]
            large = tx.execute(
                "SELECT name, chunks, value_text FROM fields WHERE run_id = ? AND chunks <> 0",
                (run_id,),
            )
            files = {name: text if chunks == EXTERNAL else None for name, chunks, text in large}
            return rows[0][6], 0 if last is None else last + 1, files

        run_name, next_step, files = backend.write(reopen)
        run = Run(self.db, self, run_id, run_name, RUNNING)
        run._reopen(next_step, files)
        return run

    def delete_run(self, run_id: int, *, force: bool = False) -> None:
        """Delete a run of this experiment (see Run.delete)."""
        from tracker import deletion

        deletion.delete_run(self.db, self, run_id, force)

    def runs(
        self,
        *,
        status: str | Iterable[str] | None = None,
        tags: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
    ) -> list[Run]:
        """The runs of this experiment, oldest first: those with `status` (one or several),
        every tag in `tags` and these param values (found by the database)."""
        asked = query.statuses(status)
        where, args = query.runs_where(self.db.backend.dialect, self.id, asked, tags, params)
        rows = self.db.backend.read(
            f"SELECT r.id, r.name, r.status, {self.db.writer_columns} FROM runs r"
            f" WHERE {where} ORDER BY r.id",
            args,
        )
        runs = [self.db._run_from(self, row) for row in rows]
        if not runs and params:
            self._check_known("params", params, "param")
        return runs if asked is None else [run for run in runs if run.status in asked]

    def get_run(self, run_id: int) -> Run:
        """The run with this id, which must belong to this experiment."""
        run = self.db.get_run(run_id)
        if run.experiment.id != self.id:
            raise TrackerError(
                f"run {run_id} belongs to {run.experiment.name!r}, not {self.name!r}"
            )
        return run

    def runs_df(
        self,
        *,
        objects: bool = False,
        status: str | Iterable[str] | None = None,
        tags: Iterable[str] = (),
        params: Mapping[str, Any] | None = None,
    ) -> pd.DataFrame:
        """One row per run (filtered as in runs()): id, name, status, times, tags, then
        params.<name>, fields.<name> and metrics.<name>.last, .min and .max.

        Fields holding arrays, tables or pickles are named but not loaded unless `objects`.
        """
        from tracker import frames

        self._flush_open_runs()
        asked = query.statuses(status)
        where = query.runs_where(self.db.backend.dialect, self.id, asked, tags, params)
        mine = {run.id for run in open_runs(self.db)}
        frame = frames.runs_frame(
            self.db.backend, where, asked, objects, self.db.writer_columns, mine
        )
        if frame.empty and params:
            self._check_known("params", params, "param")
        return frame

    def metrics_df(
        self, runs: Iterable[Run | int] | None = None, names: Iterable[str] | None = None
    ) -> pd.DataFrame:
        """Metric values of this experiment, or of some `runs` and metric `names`: run_id,
        run_name, name, step, value, time (long form)."""
        from tracker import frames

        self._flush_open_runs()
        where = "r.experiment_id = ?"
        args: list[Any] = [self.id]
        listed: list[str] = []
        if runs is not None:
            where += " AND " + query.ids_in("m.run_id", runs)
        if names is not None:
            chosen, listed = query.names_in("m.name", names)
            where, args = f"{where} AND {chosen}", [*args, *listed]
        frame = frames.metrics_frame(self.db.backend, where, args, self.db.logged_at_column)
        if frame.empty and names is not None:
            self._check_known("metrics", listed, "metric")
        return frame

    def _check_known(self, table: str, names: Iterable[str], what: str) -> None:
        """A name no run of this experiment has is a typo to report, not an empty answer."""
        known = {
            row[0]
            for row in self.db.backend.read(
                f"SELECT DISTINCT name FROM {table}"  # table: "params" or "metrics", ours
                " WHERE run_id IN (SELECT id FROM runs WHERE experiment_id = ?)",
                (self.id,),
            )
        }
        unknown = sorted(set(names) - known)
        if unknown:
            listed = ", ".join(repr(name) for name in sorted(known)[:10]) or "none yet"
            raise TrackerError(
                f"no run of {self.name!r} has a {what} named {unknown[0]!r}; its {what}s: {listed}"
            )

    def _flush_open_runs(self) -> None:
        for run in open_runs(self.db):
            if run.experiment.id == self.id:
                run.flush()
