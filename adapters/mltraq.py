"""MLtraq: runs held in memory and written by `Experiment.persist()` to a SQLite file (large
arrays to its DataStore folder)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    EXACT,
    FLUSH,
    LARGE_ARRAYS,
    MANY_RUNS,
    NONE,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Service,
)

# Fields every run carries besides its metric series and arrays.
PARAMS_FIELD = "params"
RUN_NAME_FIELD = "run_name"
# Arrays larger than this go to MLtraq's DataStore (files outside the database) rather than a
# BLOB: the reference tracker's threshold for moving values into files.
DATASTORE_BYTES = 16 * 1024 * 1024
# The key of the array inside its field's DataStore (a dict whose values are stored apart).
DATASTORE_KEY = "array"


class MltraqAdapter(Adapter):
    """MLtraq on an embedded SQLite file; series as list fields, arrays as native fields.

    An array over DATASTORE_BYTES is a field holding a `DataStore`, which MLtraq's docs
    recommend "to store large objects to limit the size of the database": at persist() its
    values are serialized (DataPak: NPY bytes in a safe pickle) into a file of its own under
    the `datastore.url` folder (WORKDIR/mltraq.datastore/EXPERIMENT_ID/), and the field keeps
    the file's URL; loading the experiment loads the value back from that file.
    """

    name = "mltraq"
    # every value stays in memory until persist() in finish() (then SQLite's default,
    # synchronous=FULL: strace shows fdatasync only there)
    durability = NONE
    requirements: ClassVar[tuple[str, ...]] = ("mltraq==0.1.165",)
    # None needed: MLtraq has no telemetry, no background threads unless asked (sysmon and
    # datastream are off by default), and writes only to the database URL it is given and to
    # the DataStore folder set in open() (its ArchiveStore is used only when asked for).
    env: ClassVar[dict[str, str]] = {}
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        CONCURRENCY: "runs live in the writer's memory until Experiment.persist(), which "
        "writes the whole experiment (its row and its own table): a second process persisting "
        'the same experiment fails (if_exists="fail", the default) or deletes what the '
        'first stored ("replace"), so two processes cannot add runs to one experiment. '
        "MLtraq's parallel runs (Experiment.execute) return to the driver process, which "
        "persists them; its data stream only updates Sequence fields of runs already "
        "persisted, over datagrams it may lose",
        FLUSH: "MLtraq's one write is Experiment.persist(), which stores the experiment's "
        "runs, and a run joins them only when its experiment.run() context exits: a run in "
        "progress has no call that writes what it has logged so far (persisting mid-run "
        "stores the experiment without it). Its data stream only updates Sequence fields of "
        "runs already persisted, over datagrams it may lose",
    }
    fidelity = EXACT
    fidelity_note = (
        "series are pickled Python lists of (step, float) pairs, arrays are NPY bytes in a BLOB "
        "(over 16 MiB, in a DataStore file)"
    )
    array_mechanism = (
        "native run field (np.ndarray), DataPak-serialized NPY bytes in a SQLite BLOB; over "
        "16 MiB, a DataStore field: the same bytes in a file of MLtraq's data store folder"
    )
    leaves_behind = "nothing: a SQLite file and a DataStore folder in the work directory"

    def load(self) -> None:
        """Import MLtraq (pandas and SQLAlchemy come with it)."""
        import mltraq

        self.lib = mltraq

    def open(self, workdir: Path, service: Service | None) -> None:
        """Open a session on `workdir/mltraq.db` (empty tables; runs reach it at persist())."""
        set_options(self.lib, workdir)
        self.session = self.lib.create_session(store_url(workdir))
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
        """Store the array as a run field; MLtraq serializes ndarrays natively (NPY), in the
        database or, over DATASTORE_BYTES, in a DataStore file."""
        if name in self.run.fields:
            raise ValueError(f"array name {name!r} clashes with a run field")
        if array.nbytes > DATASTORE_BYTES:
            # One BLOB holds at most 10^9 bytes in SQLite; the DataStore has no limit.
            self.run.fields[name] = self.lib.DataStore({DATASTORE_KEY: array})
        else:
            self.run.fields[name] = array

    def end_run(self) -> None:
        """Close the run context: the run joins its experiment (still in memory)."""
        assert self._run_ctx is not None
        self._run_ctx.__exit__(None, None, None)
        self._run_ctx = None

    def finish(self) -> None:
        """Persist every experiment: the only moment MLtraq writes to the database (and its
        DataStore files)."""
        for exp in self.experiments.values():
            exp.persist(if_exists="replace")
        self.session.db.engine.dispose()

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Load each persisted experiment with MLtraq's own loader (which loads DataStore
        fields from their files)."""
        import numpy as np

        set_options(self.lib, workdir)
        session = self.lib.create_session(store_url(workdir))
        # MLtraq 0.0.125 (its own benchmark's version) calls it Session.load; 0.1 renamed it
        load = getattr(session, "load_experiment", None) or session.load
        out = []
        for exp_name in session.ls()["name"]:
            exp = load(exp_name)
            for run in exp.runs.values():
                fields = dict(run.fields)
                run_name = fields.pop(RUN_NAME_FIELD)
                params = dict(fields.pop(PARAMS_FIELD))
                metrics: dict[str, list[tuple[int, float]]] = {}
                arrays: dict[str, Any] = {}
                for key, value in fields.items():
                    if isinstance(value, np.ndarray):
                        arrays[key] = value
                    elif isinstance(value, self.lib.DataStore):
                        arrays[key] = value[DATASTORE_KEY]
                    elif isinstance(value, list):
                        points = [(int(s), float(v)) for s, v in value]
                        metrics[key] = sorted(points, key=lambda point: point[0])
                out.append(RunData(str(exp_name), run_name, params, metrics, arrays))
        session.db.engine.dispose()
        return out


def set_options(lib: Any, workdir: Path) -> None:
    """MLtraq's options for this cell: no progress bar, the DataStore in the work directory."""
    # A progress bar on stderr while persisting is console output, not tracking work.
    lib.options().set("tqdm.disable", True)
    # The default, file:///mltraq.datastore, is relative to the current directory; MLtraq's
    # docs set an absolute folder as f"file:///{dirname}". Stored fields keep URLs relative
    # to it, so the reader sets the same folder.
    lib.options().set("datastore.url", f"file:///{workdir / 'mltraq.datastore'}")


def store_url(workdir: Path) -> str:
    """The SQLAlchemy URL of the cell's MLtraq database."""
    return f"sqlite:///{workdir / 'mltraq.db'}"
