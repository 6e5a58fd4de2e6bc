"""The reference tracker (tracker/): an embedded SQLite file in the cell's work directory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import EXACT, POWER, PROCESS, REFERENCE, VARIANT, Adapter, RunData, Service
from adapters.local_postgres import LEAVES_BEHIND, LocalPostgres

STORE = "tracker.db"  # the database file in the work directory


class TrackerAdapter(Adapter):
    """This project's tracker, copied into its environment from the working tree."""

    name = "tracker"
    role = REFERENCE
    # WAL with synchronous=NORMAL: a commit is in the OS, not fsynced (strace: the same 8
    # fdatasync calls, all at close, for 100 or 1000 values); see `tracker-fsync`
    durability = PROCESS
    # its `arrays` and `frames` extras (pyproject.toml); the tracker itself is not on PyPI:
    # the environment gets the working tree's tracker/ and is keyed by a hash of it
    requirements: ClassVar[tuple[str, ...]] = ("numpy>=1.26", "pandas>=2.1", "pyarrow>=15")
    project_packages = ("tracker",)
    fidelity = EXACT
    array_mechanism = "NPY bytes in a SQLite BLOB; over 16 MiB, an NPY file beside the database"

    def load(self) -> None:
        """Import the tracker (standard library only at import)."""
        import tracker

        self.lib = tracker

    def version(self) -> str:
        """The tracker's version plus a hash of its sources, so edits are told apart."""
        import hashlib

        package = Path(self.lib.__file__).parent
        digest = hashlib.sha256()
        for path in sorted(package.rglob("*.py")):
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
        return f"{self.lib.__version__}+src.{digest.hexdigest()[:12]}"

    # SQLite's synchronous=NORMAL (process) or FULL (power): tracker.connect(fsync=...)
    fsync = False

    def database(self, workdir: Path, service: Service | None) -> str:
        """Where the tracker keeps its runs: the embedded database file."""
        return os.fspath(workdir / STORE)

    def open(self, workdir: Path, service: Service | None) -> None:
        """Create the database (a file) or the tracker's tables (on a server)."""
        self.db = self.lib.connect(self.database(workdir, service), fsync=self.fsync)
        self.experiments: dict[str, Any] = {}

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Start a run in the (cached) experiment."""
        exp = self.experiments.get(experiment)
        if exp is None:
            exp = self.experiments[experiment] = self.db.experiment(experiment)
        self.run = exp.run(run_name, params=params)

    def log(self, values: dict[str, float], step: int) -> None:
        """Buffer the values; the tracker writes them in batches."""
        self.run.log(values, step)

    def log_array(self, name: str, array: Any) -> None:
        """Store the array as a field."""
        self.run[name] = array

    def flush(self) -> None:
        """Run.flush(): the buffered values committed (and fsynced with `fsync`) now."""
        self.run.flush()

    def end_run(self) -> None:
        """Flush and mark the run completed."""
        self.run.end()

    def finish(self) -> None:
        """Close the database: everything is durable."""
        self.db.close()

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Every run of every experiment, from a new connection."""
        db = self.lib.connect(self.database(workdir, service))
        try:
            runs = []
            for exp_name in db.experiments():
                for run in db.experiment(exp_name).runs():
                    arrays = {key: run[key] for key in run.keys()}  # noqa: SIM118 (a method)
                    metrics: Any = run.metrics()  # NaN stays a float; None only if logged
                    runs.append(RunData(exp_name, run.name or "", run.params, metrics, arrays))
            return runs
        finally:
            db.close()


class TrackerFsyncAdapter(TrackerAdapter):
    """The reference tracker with every commit fsynced, beside trackers that fsync theirs."""

    name = "tracker-fsync"
    role = VARIANT
    durability = POWER  # tracker.connect(fsync=True): SQLite synchronous=FULL
    fsync = True


class TrackerPostgresqlAdapter(LocalPostgres, TrackerAdapter):
    """The reference tracker on the cell's PostgreSQL server, the one SQLTrack runs on."""

    name = "tracker-postgresql"
    role = VARIANT
    durability = POWER  # PostgreSQL at its defaults: each commit is fsynced before it returns
    # the tracker's `sql` extra (pyproject.toml): SQLAlchemy and psycopg 3 (libpq in the wheel)
    requirements = (*TrackerAdapter.requirements, "sqlalchemy>=2.0", "psycopg[binary]>=3.1")
    array_mechanism = "NPY bytes in a BYTEA; over 16 MiB, in 16 MiB pieces of a chunks table"
    leaves_behind = LEAVES_BEHIND

    def database(self, workdir: Path, service: Service | None) -> str:
        """The cell's server."""
        return self.server_url(service)
