"""The floors: the same work done raw, so every figure can be shown against the physical limit.

`SqliteFloor` is plain `sqlite3`: metric rows buffered in a list and written with one
`executemany` per run, arrays as one BLOB each. `NumpyFloor` is plain files: `numpy.save`
per array, and per metric series one raw `.npy` file of steps and one of values.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from adapters.base import FLOOR, LOSSY, PROCESS, Adapter, RunData, Service, Unsupported

STORE = "floor.db"  # the sqlite floor's file in the work directory
FOLDER = "numpy-floor"  # the numpy floor's folder in the work directory
_ROW_OVERHEAD = 4096  # bytes of an arrays row besides the array's own
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, experiment TEXT NOT NULL, name TEXT NOT NULL, params TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
    run_id INTEGER NOT NULL, name TEXT NOT NULL, step INTEGER NOT NULL, value REAL
);
CREATE TABLE IF NOT EXISTS arrays (
    run_id INTEGER NOT NULL, name TEXT NOT NULL, dtype TEXT NOT NULL, shape TEXT NOT NULL,
    data BLOB NOT NULL
);
"""


class SqliteFloor(Adapter):
    """Raw sqlite3: executemany of (run, name, step, value) rows, one BLOB per array."""

    name = "sqlite"
    role = FLOOR
    durability = PROCESS  # WAL with synchronous=NORMAL, as the reference tracker
    requirements = ()  # the standard library's sqlite3; numpy (the worker's) for read-back
    fidelity = LOSSY
    fidelity_note = "a REAL column stores NaN as NULL and reads -0.0 back as 0.0"
    array_mechanism = "raw bytes as one BLOB, dtype and shape in columns"
    # every capability; an array over SQLite's BLOB limit (10^9 bytes by default) is refused
    # by size at log_array

    def load(self) -> None:
        """Import sqlite3."""
        import sqlite3

        self.sqlite3 = sqlite3

    def version(self) -> str:
        """The SQLite library's version."""
        return str(self.sqlite3.sqlite_version)

    def open(self, workdir: Path, service: Service | None) -> None:
        """Create the database file with WAL journaling, as a tracker would."""
        self.path = workdir / STORE
        self.db = self.sqlite3.connect(self.path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Open the run's transaction and insert its row; metric rows wait for end_run."""
        self.db.execute("BEGIN")
        cursor = self.db.execute(
            "INSERT INTO runs (experiment, name, params) VALUES (?, ?, ?)",
            (experiment, run_name, json.dumps(params)),
        )
        self.run_id = cursor.lastrowid
        self.rows: list[tuple[Any, ...]] = []

    def log(self, values: dict[str, float], step: int) -> None:
        """Buffer one row per value."""
        run_id, rows = self.run_id, self.rows
        for key, value in values.items():
            rows.append((run_id, key, step, value))

    def log_array(self, name: str, array: Any) -> None:
        """Insert the array's bytes as one BLOB (committed with the run)."""
        # SQLite refuses a row over its length limit at the insert: say why, by size (the
        # row's other columns and its header take a little of the limit)
        limit = self.db.getlimit(self.sqlite3.SQLITE_LIMIT_LENGTH)
        if array.nbytes + _ROW_OVERHEAD > limit:
            raise Unsupported(
                f"one SQLite row holds at most {limit} bytes here; the array has {array.nbytes}"
            )
        self.db.execute(
            "INSERT INTO arrays VALUES (?, ?, ?, ?, ?)",
            (self.run_id, name, array.dtype.str, json.dumps(array.shape), array.tobytes()),
        )

    def flush(self) -> None:
        """Write the buffered rows with one executemany, commit, and go on in a new
        transaction."""
        self.end_run()
        self.db.execute("BEGIN")

    def end_run(self) -> None:
        """Write the buffered rows with one executemany and commit the run's transaction."""
        self.db.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?)", self.rows)
        self.db.execute("COMMIT")
        self.rows = []

    def finish(self) -> None:
        """Close the connection (checkpoints the WAL)."""
        self.db.close()

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Every run, its metrics in step order and its arrays, from a fresh connection."""
        import numpy as np

        db = self.sqlite3.connect(workdir / STORE)
        try:
            runs = []
            for run_id, experiment, name, params in db.execute(
                "SELECT id, experiment, name, params FROM runs ORDER BY id"
            ):
                metrics: dict[str, list[tuple[int, float]]] = {}
                for key, step, value in db.execute(
                    "SELECT name, step, value FROM metrics WHERE run_id = ? ORDER BY rowid",
                    (run_id,),
                ):
                    metrics.setdefault(key, []).append((step, value))
                for series in metrics.values():
                    series.sort(key=lambda point: point[0])
                arrays = {
                    key: np.frombuffer(data, dtype=np.dtype(dtype)).reshape(json.loads(shape))
                    for key, dtype, shape, data in db.execute(
                        "SELECT name, dtype, shape, data FROM arrays WHERE run_id = ?", (run_id,)
                    )
                }
                runs.append(RunData(experiment, name, json.loads(params), metrics, arrays))
            return runs
        finally:
            db.close()

    def expect_scalar(self, value: float) -> Any:
        """NaN comes back as NULL (None) and -0.0 as 0.0."""
        if math.isnan(value):
            return None
        return 0.0 if value == 0.0 else value


def _name(text: str) -> str:
    # names are data: any name becomes one safe path component
    return quote(text, safe="") or "%"


class NumpyFloor(Adapter):
    """Plain files: numpy.save per array, one raw .npy of steps and one of values per series."""

    name = "numpy"
    role = FLOOR
    durability = PROCESS  # numpy.save at the end of each run, never fsynced
    requirements = ()  # numpy is the worker's own minimum
    array_mechanism = "numpy.save, one .npy file per array"

    def load(self) -> None:
        """Import numpy."""
        import numpy

        self.np = numpy

    def version(self) -> str:
        """NumPy's version."""
        return str(self.np.__version__)

    def open(self, workdir: Path, service: Service | None) -> None:
        """The store is a folder inside the work directory."""
        self.root = workdir / FOLDER
        self.root.mkdir(exist_ok=True)  # several writer processes open one store

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Make the run's folder and write its params as JSON; series are buffered."""
        self.run_dir = self.root / _name(experiment) / _name(run_name)
        (self.run_dir / "arrays").mkdir(parents=True)
        (self.run_dir / "params.json").write_text(json.dumps(params), encoding="utf-8")
        self.series: dict[str, tuple[list[int], list[float]]] = {}

    def log(self, values: dict[str, float], step: int) -> None:
        """Buffer the values in lists."""
        series = self.series
        for key, value in values.items():
            try:
                steps, vals = series[key]
            except KeyError:
                steps, vals = series[key] = ([], [])
            steps.append(step)
            vals.append(value)

    def log_array(self, name: str, array: Any) -> None:
        """numpy.save the array into its own file."""
        self.np.save(self.run_dir / "arrays" / f"{_name(name)}.npy", array, allow_pickle=False)

    def flush(self) -> None:
        """Write each series so far, as end_run does (the files are rewritten whole)."""
        self._save_series()

    def end_run(self) -> None:
        """Write each series as two .npy files: int64 steps, float64 values."""
        self._save_series()
        self.series = {}

    def _save_series(self) -> None:
        np = self.np
        for key, (steps, vals) in self.series.items():
            base = self.run_dir / _name(key)
            np.save(f"{base}.steps.npy", np.array(steps, dtype=np.int64))
            np.save(f"{base}.values.npy", np.array(vals, dtype=np.float64))

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Every run folder, loaded with numpy.load."""
        np = self.np
        runs = []
        for exp_dir in sorted((workdir / FOLDER).iterdir()):
            for run_dir in sorted(exp_dir.iterdir()):
                params = json.loads((run_dir / "params.json").read_text(encoding="utf-8"))
                metrics = {}
                for steps_file in sorted(run_dir.glob("*.steps.npy")):
                    key = steps_file.name.removesuffix(".steps.npy")
                    steps = np.load(steps_file)
                    vals = np.load(run_dir / f"{key}.values.npy")
                    metrics[unquote(key)] = list(zip(steps.tolist(), vals.tolist(), strict=True))
                arrays = {
                    unquote(f.name.removesuffix(".npy")): np.load(f)
                    for f in sorted((run_dir / "arrays").glob("*.npy"))
                }
                runs.append(
                    RunData(unquote(exp_dir.name), unquote(run_dir.name), params, metrics, arrays)
                )
        return runs
