"""MLtraq: runs held in memory and written to a SQLite file by `Experiment.persist()`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    EXACT,
    LARGE_ARRAYS,
    MANY_RUNS,
    NONE,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Service,
    Unsupported,
)

# Fields every run carries besides its metric series and arrays.
PARAMS_FIELD = "params"
RUN_NAME_FIELD = "run_name"
# Bytes a serialized array field adds to the array's own (NPY header, DataPak framing), with
# room to spare.
BLOB_OVERHEAD = 64 * 1024


class MltraqAdapter(Adapter):
    """MLtraq on an embedded SQLite file; series as list fields, arrays as native fields."""

    name = "mltraq"
    # every value stays in memory until persist() in finish() (then SQLite's default,
    # synchronous=FULL: strace shows fdatasync only there)
    durability = NONE
    requirements: ClassVar[tuple[str, ...]] = ("mltraq==0.1.165",)
    # None needed: MLtraq has no telemetry, no background threads unless asked (sysmon and
    # datastream are off by default), and writes only to the database URL it is given (its
    # DataStore and ArchiveStore folders, ./mltraq.datastore, are used only when asked for).
    env: ClassVar[dict[str, str]] = {}
    # No concurrency: runs live in the writer's memory and persist() replaces the whole
    # experiment table, so two processes cannot add runs to one experiment.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, READ_BACK})
    fidelity = EXACT
    fidelity_note = (
        "series are pickled Python lists of (step, float) pairs, arrays are NPY bytes in a BLOB"
    )
    array_mechanism = "native run field (np.ndarray), DataPak-serialized NPY bytes in a SQLite BLOB"
    leaves_behind = "nothing: one SQLite file in the work directory, no process"

    def load(self) -> None:
        """Import MLtraq (pandas and SQLAlchemy come with it)."""
        import mltraq

        self.lib = mltraq

    def open(self, workdir: Path, service: Service | None) -> None:
        """Open a session on `workdir/mltraq.db` (empty tables; runs reach it at persist())."""
        import sqlite3
        from contextlib import closing

        # A progress bar on stderr while persisting is console output, not tracking work.
        self.lib.options().set("tqdm.disable", True)
        self.url = store_url(workdir)
        # SQLITE_LIMIT_LENGTH: the largest BLOB this build of SQLite stores (10^9 by default).
        with closing(sqlite3.connect(":memory:")) as probe:
            self.max_blob = probe.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
        self.session = self.lib.create_session(self.url)
        self.experiments: dict[str, Any] = {}
        self._run_ctx: AbstractContextManager[Any] | None = None

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Open a run inside the (in-memory) experiment, as `with experiment.run()` does."""
        exp = self.experiments.get(experiment)
        if exp is None:
            exp = self.experiments[experiment] = self.session.create_experiment(experiment)
        self._run_ctx = exp.run()
        self.run = self._run_ctx.__enter__()
        self.run.fields[RUN_NAME_FIELD] = run_name
        self.run.fields[PARAMS_FIELD] = dict(params)
        self.series: dict[str, list[tuple[int, float]]] = {}

    def log(self, values: dict[str, float], step: int) -> None:
        """Append (step, value) to each name's list field, as MLtraq's own benchmark does."""
        series = self.series
        for key, value in values.items():
            lst = series.get(key)
            if lst is None:
                if key in self.run.fields:
                    raise ValueError(f"metric name {key!r} clashes with a run field")
                lst = series[key] = self.run.fields[key] = []
            lst.append((step, value))

    def log_array(self, name: str, array: Any) -> None:
        """Store the array as a run field; MLtraq serializes ndarrays natively (NPY)."""
        if name in self.run.fields:
            raise ValueError(f"array name {name!r} clashes with a run field")
        if array.nbytes + BLOB_OVERHEAD > self.max_blob:
            # The whole field becomes one BLOB at persist(): refused there by SQLite, after
            # the run, so say so here.
            raise Unsupported(
                f"MLtraq stores an array as one BLOB; this SQLite takes at most "
                f"{self.max_blob} bytes, the array has {array.nbytes}"
            )
        self.run.fields[name] = array

    def end_run(self) -> None:
        """Close the run context: the run joins its experiment (still in memory)."""
        assert self._run_ctx is not None
        self._run_ctx.__exit__(None, None, None)
        self._run_ctx = None

    def finish(self) -> None:
        """Persist every experiment: the only moment MLtraq writes to the database."""
        for exp in self.experiments.values():
            exp.persist(if_exists="replace")
        self.session.db.engine.dispose()

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Load each persisted experiment with MLtraq's own loader."""
        import numpy as np

        self.lib.options().set("tqdm.disable", True)
        session = self.lib.create_session(store_url(workdir))
        out = []
        for exp_name in session.ls()["name"]:
            exp = session.load_experiment(exp_name)
            for run in exp.runs.values():
                fields = dict(run.fields)
                run_name = fields.pop(RUN_NAME_FIELD)
                params = dict(fields.pop(PARAMS_FIELD))
                metrics: dict[str, list[tuple[int, float]]] = {}
                arrays: dict[str, Any] = {}
                for key, value in fields.items():
                    if isinstance(value, np.ndarray):
                        arrays[key] = value
                    elif isinstance(value, list):
                        points = [(int(s), float(v)) for s, v in value]
                        metrics[key] = sorted(points, key=lambda point: point[0])
                out.append(RunData(str(exp_name), run_name, params, metrics, arrays))
        session.db.engine.dispose()
        return out


def store_url(workdir: Path) -> str:
    """The SQLAlchemy URL of the cell's MLtraq database."""
    return f"sqlite:///{workdir / 'mltraq.db'}"
