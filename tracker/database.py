"""A tracking database and its experiments."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from tracker import schema
from tracker.backends import Backend, Transaction, open_backend
from tracker.errors import TrackerError
from tracker.run import COMPLETED, FAILED, RUNNING, Run, check_name, open_runs, param_row
from tracker.schema import VALUE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

_TABLE_EXISTS = {
    "sqlite": "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
    "postgresql": "SELECT count(*) FROM information_schema.tables"
    " WHERE table_schema = current_schema() AND table_name = ?",
}


def connect(
    url: str | os.PathLike[str] | None = None,
    *,
    flush_every_rows: int = 100_000,
    flush_every_seconds: float = 2.0,
    fsync: bool = False,
) -> Database:
    """Open (creating if needed) a tracking database: ./tracker.db, a path, or a URL.

    Metric values and fields are buffered and written in one transaction by a background
    thread when a run has `flush_every_rows` of them or `flush_every_seconds` after its last
    write (log() never waits for the database), and by the caller on flush(), when the run
    ends, and at interpreter exit. A written transaction survives the process being killed;
    with `fsync` (a SQLite file) it is on the disk, and survives a power cut too.
    """
    return Database(open_backend(url, fsync), flush_every_rows, flush_every_seconds)


class Database:
    """A connection to one tracking database."""

    def __init__(self, backend: Backend, flush_every_rows: int, flush_every_seconds: float):
        self.backend = backend
        self.flush_every_rows = flush_every_rows
        self.flush_every_seconds = flush_every_seconds
        self._experiment_ids: dict[str, int] = {}
        self._ensure_schema()

    def __repr__(self) -> str:
        return f"<tracker.Database {self.backend.url}>"

    def _ensure_schema(self) -> None:
        exists = self.backend.read(_TABLE_EXISTS[self.backend.dialect], ("tracker_meta",))
        if not exists[0][0]:
            self.backend.write(self._create_schema)
        rows = self.backend.read("SELECT value FROM tracker_meta WHERE key = 'schema_version'")
        stored = int(rows[0][0])
        if stored > schema.SCHEMA_VERSION:
            raise TrackerError(
                f"{self.backend.url} was written by a newer tracker (schema {stored}, this one "
                f"reads up to {schema.SCHEMA_VERSION}); upgrade trackbench"
            )

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

    def get_run(self, run_id: int) -> Run:
        """The run with this id, in any experiment."""
        rows = self.backend.read(
            "SELECT r.id, r.experiment_id, r.name, r.status, e.name FROM runs r"
            " JOIN experiments e ON e.id = r.experiment_id WHERE r.id = ?",
            (run_id,),
        )
        if not rows:
            raise TrackerError(f"no run with id {run_id!r} in {self.backend.url}")
        run_id, experiment_id, name, status, experiment_name = rows[0]
        return self._open_run(run_id) or Run(
            self, Experiment(self, experiment_id, experiment_name), run_id, name, status
        )

    def _open_run(self, run_id: int) -> Run | None:
        """The run object this process writes this run through, if it has it open."""
        for run in open_runs(self):
            if run.id == run_id:
                return run
        return None

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
    ) -> Run:
        """Start a run; `links` maps a kind such as "finetunes" to one or more run ids."""
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
            if link_rows:
                targets = sorted({target for _, target in link_rows})
                marks = ", ".join("?" * len(targets))
                found = tx.execute(f"SELECT id FROM runs WHERE id IN ({marks})", targets)
                missing = set(targets) - {row[0] for row in found}
                if missing:
                    raise TrackerError(f"links: no run with id {sorted(missing)}")
            run_id = tx.execute(
                "INSERT INTO runs (experiment_id, name, status, created_at)"
                " VALUES (?, ?, ?, ?) RETURNING id",
                (self.id, name, RUNNING, time.time()),
            )[0][0]
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

    def runs(self) -> list[Run]:
        """All runs of this experiment, oldest first."""
        rows = self.db.backend.read(
            "SELECT id, name, status FROM runs WHERE experiment_id = ? ORDER BY id", (self.id,)
        )
        return [
            self.db._open_run(run_id) or Run(self.db, self, run_id, name, status)
            for run_id, name, status in rows
        ]

    def get_run(self, run_id: int) -> Run:
        """The run with this id, which must belong to this experiment."""
        run = self.db.get_run(run_id)
        if run.experiment.id != self.id:
            raise TrackerError(
                f"run {run_id} belongs to {run.experiment.name!r}, not {self.name!r}"
            )
        return run

    def runs_df(self, *, objects: bool = False) -> pd.DataFrame:
        """One row per run: id, name, status, times, tags, then params.<name>, fields.<name>.

        Fields holding arrays, tables or pickles are left out unless `objects` is true.
        """
        from tracker import frames

        self._flush_open_runs()
        return frames.runs_frame(self.db.backend, self.id, objects)

    def metrics_df(self) -> pd.DataFrame:
        """Every metric value of this experiment: run_id, name, step, value (long form)."""
        from tracker import frames

        self._flush_open_runs()
        return frames.metrics_frame(
            self.db.backend,
            "m.run_id IN (SELECT id FROM runs WHERE experiment_id = ?)",
            (self.id,),
        )

    def _flush_open_runs(self) -> None:
        for run in open_runs(self.db):
            if run.experiment.id == self.id:
                run.flush()
