"""SQLTrack: a throwaway PostgreSQL cluster in the work directory, metrics as columns."""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    EXACT,
    FLUSH,
    LARGE_ARRAYS,
    MANY_RUNS,
    POWER,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Service,
    Unsupported,
)
from adapters.local_postgres import LEAVES_BEHIND, LocalPostgres

# sqltrack puts metric names into SQL text unquoted, so only plain lower-case identifiers work;
# the metrics table's own columns are taken.
NO_ARRAYS = "SQLTrack stores metrics as columns and has no blob or artifact API"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_TAKEN = frozenset({"run_id", "step", "progress"})


class SqltrackAdapter(LocalPostgres, Adapter):
    """SQLTrack's Experiment/Run API on PostgreSQL (the only database it supports)."""

    name = "sqltrack"
    reader = "plain SQL on SQLTrack's documented tables, SQLTrack's own way to read runs"
    # PostgreSQL at its defaults: each commit is fsynced before it returns
    durability = POWER
    requirements = ("sqltrack==0.1.4",)  # brings psycopg[binary] 3 (libpq in the wheel)
    env: ClassVar[dict[str, str]] = {
        # Client() reads ./sqltrack.conf unless told otherwise; a user's file must not redirect
        # the client to another server. This path is never created.
        "SQLTRACK_CONFIG_PATH": "{workdir}/sqltrack.conf",
        # Some libraries only honour this value to switch off usage statistics.
        "DO_NOT_TRACK": "true",
    }
    # One PostgreSQL server for every writer, as a team shares it.
    supports = frozenset({STEPS, MANY_RUNS, CONCURRENCY, READ_BACK, FLUSH})
    fidelity = EXACT
    fidelity_note = (
        "metrics are DOUBLE PRECISION columns (NaN, +-inf and -0.0 included); params are the "
        "run's JSONB args; no array support"
    )
    array_mechanism = "none: " + NO_ARRAYS
    lacks: ClassVar[dict[str, str]] = {ARRAYS: NO_ARRAYS, LARGE_ARRAYS: NO_ARRAYS}
    leaves_behind = LEAVES_BEHIND

    def load(self) -> None:
        """Import sqltrack (and psycopg with it)."""
        import sqltrack
        from sqltrack.commands.setup import setup

        self._sqltrack = sqltrack
        self._setup = setup

    def open(self, workdir: Path, service: Service | None) -> None:
        """Connect and create sqltrack's base schema (its `setup` command)."""
        self._client = self._connect(service)
        self._columns: set[str] = set()
        self._run: Any = None
        self._connection: Any = None
        with contextlib.redirect_stdout(io.StringIO()):  # it prints one line per script
            self._setup(self._client, [])

    def _connect(self, service: Service | None) -> Any:
        """A sqltrack Client of the cell's server."""
        if service is None:
            raise ValueError("sqltrack needs the PostgreSQL server the harness starts")
        return self._sqltrack.Client(
            host="127.0.0.1", port=str(service.port), user="postgres", dbname="postgres"
        )

    def _add_columns(self, names: list[str]) -> None:
        """Add a DOUBLE PRECISION column per new metric name, as sqltrack's README says."""
        for name in names:
            if not _IDENTIFIER.fullmatch(name) or name in _TAKEN:
                raise Unsupported(f"sqltrack cannot store metric {name!r}: names are SQL columns")
        script = "ALTER TABLE metrics " + ", ".join(
            f"ADD COLUMN IF NOT EXISTS {name} DOUBLE PRECISION" for name in names
        )
        # a migration's name is a key of sqltrack's applied_migrations (a btree row is at most
        # 2704 bytes): named by a digest, so 1000 new names in one step fit
        digest = hashlib.sha256("\0".join(names).encode()).hexdigest()[:20]
        from psycopg.errors import UniqueViolation

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                self._setup(self._client, [(f"trackbench_columns_{digest}.sql", script)])
        except UniqueViolation:
            # another writer applied the same script at the same moment and committed it: the
            # columns are there. Nothing of this run is pending (every step is committed).
            self._client.rollback()
        self._columns.update(names)

    def prepare_experiment(self, experiment: str) -> None:
        """Create the experiment row (its name is unique: writers creating it at once race)."""
        with self._client.connect():
            self._sqltrack.Experiment(self._client, name=experiment)
            self._client.commit()

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """A new run (name in its comment: sqltrack runs have none) with params as its args."""
        # One connection for the whole run: Client.connect() is reentrant and documented for
        # this ("avoid connecting to the database multiple times over a short period").
        self._connection = self._client.connect()
        self._connection.__enter__()
        exp = self._sqltrack.Experiment(self._client, name=experiment)
        self._run = exp.get_run(comment=run_name)
        self._run.start(args=params)
        self._client.commit()

    def log(self, values: dict[str, float], step: int) -> None:
        """One metrics row per step, committed, as the README's loop does."""
        new = [name for name in values if name not in self._columns]
        if new:
            self._add_columns(new)
        self._run.add_metrics(step=step, **values)
        # Each step is durable and visible, as in the README loop (which reconnects per call).
        self._client.commit()

    def flush(self) -> None:
        """`Client.commit()`: sqltrack's commit of the run's connection."""
        # What a careful user of `with client.connect():` calls to make the metrics so far
        # durable; log() already commits each step, as the README loop does, so this commit
        # finds nothing pending.
        self._client.commit()

    def end_run(self) -> None:
        """Mark the run COMPLETED, commit and close its connection."""
        self._run.stop()
        self._run = None
        connection, self._connection = self._connection, None
        connection.__exit__(None, None, None)

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Plain SQL on sqltrack's documented schema: runs, args and the metric columns."""
        from psycopg import sql

        out = []
        with self._connect(service).cursor() as cursor:
            cursor.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'metrics' AND table_schema = current_schema() "
                "ORDER BY ordinal_position"
            )
            names = [row[0] for row in cursor.fetchall() if row[0] not in _TAKEN]
            cursor.execute(
                "SELECT r.id, e.name, r.comment, r.args FROM runs r "
                "JOIN experiments e ON e.id = r.experiment_id ORDER BY r.id"
            )
            for run_id, experiment, comment, args in cursor.fetchall():
                metrics = {}
                for name in names:
                    cursor.execute(
                        sql.SQL(
                            "SELECT step, {col} FROM metrics WHERE run_id = %s AND {col} IS NOT "
                            "NULL ORDER BY step, progress"
                        ).format(col=sql.Identifier(name)),
                        (run_id,),
                    )
                    points = [(int(step), float(value)) for step, value in cursor.fetchall()]
                    if points:
                        metrics[name] = points
                out.append(RunData(experiment, comment or "", dict(args or {}), metrics, {}))
        return out
