"""A run: buffered metric series, fields of any supported type, params, status."""

from __future__ import annotations

import atexit
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from tracker import fields
from tracker import values as V
from tracker.encoded import CHUNK_BYTES, Encoded
from tracker.errors import TrackerError
from tracker.schema import VALUE_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from tracker.backends import Backend

RUNNING, COMPLETED, FAILED = "RUNNING", "COMPLETED", "FAILED"

INSERT_METRIC = "INSERT INTO metrics (run_id, name, step, value, value_bits) VALUES (?, ?, ?, ?, ?)"
UPSERT_FIELD = (
    "INSERT INTO fields (run_id, name, kind, value_real, value_int, value_text, value_blob,"
    " chunks) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET"
    " kind = excluded.kind, value_real = excluded.value_real, value_int = excluded.value_int,"
    " value_text = excluded.value_text, value_blob = excluded.value_blob,"
    " chunks = excluded.chunks"
)


# A run knows its database and experiment by what it uses of them (tracker.database builds
# both and imports this module, never the other way round).
class Owner(Protocol):
    """What a run needs of its database: the connection and when to flush."""

    backend: Backend
    flush_every_rows: int
    flush_every_seconds: float


class Named(Protocol):
    """What a run needs of its experiment."""

    id: int
    name: str


def check_name(name: Any, what: str) -> str:
    """A name as given, if it is one: a non-empty str without NUL (PostgreSQL refuses NUL)."""
    if type(name) is not str or not name or "\x00" in name:
        raise TrackerError(f"{what} names must be non-empty strings without NUL, got {name!r}")
    return name


class Run:
    """One run of an experiment; use as a context manager, or call end() yourself."""

    def __init__(
        self, db: Owner, experiment: Named, run_id: int, name: str | None, status: str
    ) -> None:
        self.db = db
        self.experiment = experiment
        self.id = run_id
        self.name = name
        self.status = status
        self._rows: list[tuple[Any, ...]] = []
        self._fields: dict[str, Encoded] = {}
        self._names: set[str] = set()
        self._chunked: set[str] = set()  # names whose value is in pieces or a file
        self._files: dict[str, str] = {}  # name -> the file holding its value
        self._step = 0
        self._flush_due = time.monotonic() + db.flush_every_seconds
        self._params: dict[str, Any] | None = None
        if status == RUNNING:
            _OPEN_RUNS[id(self)] = self

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<Run {self.id}{name} of {self.experiment.name!r}: {self.status}>"

    @property
    def open(self) -> bool:
        """Whether values can still be logged (the run was started here and not ended)."""
        return id(self) in _OPEN_RUNS

    def _check_open(self) -> None:
        if id(self) not in _OPEN_RUNS:
            raise TrackerError(
                f"run {self.id} is closed ({self.status}); start a new run with "
                f"experiment.run() to log more"
            )

    # -- metrics ----------------------------------------------------------------------------

    def log(self, values: Mapping[str, Any], step: int | None = None) -> None:
        """Append one value per name at `step` (default: the previous step plus one)."""
        if id(self) not in _OPEN_RUNS:
            self._check_open()
        if step is None:
            step = self._step
        elif type(step) is not int:
            step = _check_step(step)
        if type(values) is not dict and not isinstance(values, Mapping):
            raise TrackerError(f"log() takes a dict of name -> number, got {type(values)}")
        rows = self._rows
        run_id = self.id
        known = self._names
        logged = len(rows)
        try:
            for name, value in values.items():
                if name not in known:
                    known.add(check_name(name, "metric"))
                if type(value) is float and value == value and value != 0.0:  # the common case
                    rows.append((run_id, name, step, value, None))
                else:
                    rows.append((run_id, name, step, *V.metric_columns(name, value)))
        except BaseException:
            del rows[logged:]  # a call with one bad value logs nothing
            raise
        self._step = step + 1
        if len(rows) >= self.db.flush_every_rows or time.monotonic() >= self._flush_due:
            self.flush()

    def metrics(self) -> dict[str, list[tuple[int, float | None]]]:
        """Every metric series of this run: name -> [(step, value), ...] in step order."""
        self._flush_if_open()
        out: dict[str, list[tuple[int, float | None]]] = {}
        rows = self.db.backend.read(
            "SELECT name, step, value, value_bits FROM metrics WHERE run_id = ?"
            " ORDER BY name, step",
            (self.id,),
        )
        for name, step, value, bits in rows:
            out.setdefault(name, []).append((step, V.float_from_columns(value, bits)))
        return out

    def metrics_df(self) -> pd.DataFrame:
        """This run's metrics as a DataFrame: run_id, name, step, value (long form)."""
        from tracker import frames

        self._flush_if_open()
        return frames.metrics_frame(self.db.backend, "m.run_id = ?", (self.id,))

    # -- fields -----------------------------------------------------------------------------

    def __setitem__(self, name: str, value: Any) -> None:
        """Store a field: a scalar, array, DataFrame, Arrow table or other Python value."""
        self._check_open()
        check_name(name, "field")
        encoded = V.encode(value, f"field {name!r}")
        if encoded.parts or encoded.nbytes > CHUNK_BYTES:
            self._store_large(name, encoded)
        else:
            self._fields[name] = encoded
            if name in self._chunked:
                self.flush()

    def _store_large(self, name: str, encoded: Encoded) -> None:
        """Write a large field now, in a transaction of its own (see tracker.blobs)."""
        from tracker import blobs

        self._fields.pop(name, None)
        relative = blobs.write(self.db.backend, self.id, name, encoded)
        self._chunked.add(name)
        replaced = self._files.pop(name, None)
        if relative:
            self._files[name] = relative
        if replaced:
            blobs.remove(self.db.backend, replaced)

    def __getitem__(self, name: str) -> Any:
        """The stored field, with the type, dtype, shape and bits it was stored with."""
        if name in self._fields:
            self.flush()
        rows = self.db.backend.read(
            f"SELECT {VALUE_COLUMNS}, chunks FROM fields WHERE run_id = ? AND name = ?",
            (self.id, name),
        )
        if not rows:
            raise KeyError(name)
        return fields.load(self.db.backend, self.id, name, rows[0])

    def __contains__(self, name: object) -> bool:
        return name in self._fields or name in self.keys()

    def keys(self) -> list[str]:
        """Names of this run's fields."""
        stored = self.db.backend.read(
            "SELECT name FROM fields WHERE run_id = ? ORDER BY name", (self.id,)
        )
        return sorted({row[0] for row in stored} | set(self._fields))

    @property
    def params(self) -> dict[str, Any]:
        """The run's parameters."""
        if self._params is None:
            rows = self.db.backend.read(
                f"SELECT name, {VALUE_COLUMNS} FROM params WHERE run_id = ?",
                (self.id,),
            )
            self._params = {
                row[0]: V.decode(Encoded(*row[1:]), f"param {row[0]!r}") for row in rows
            }
        return dict(self._params)

    @property
    def tags(self) -> list[str]:
        """The run's tags."""
        rows = self.db.backend.read("SELECT tag FROM tags WHERE run_id = ?", (self.id,))
        return sorted(row[0] for row in rows)

    @property
    def links(self) -> dict[str, list[int]]:
        """Links to other runs: kind -> run ids."""
        out: dict[str, list[int]] = {}
        for kind, target in self.db.backend.read(
            "SELECT kind, target_id FROM links WHERE run_id = ? ORDER BY kind, target_id",
            (self.id,),
        ):
            out.setdefault(kind, []).append(target)
        return out

    # -- durability and status --------------------------------------------------------------

    def flush(self) -> None:
        """Write everything logged so far in one transaction; durable when this returns."""
        self._end(None)

    def _flush_if_open(self) -> None:
        if id(self) in _OPEN_RUNS:
            self.flush()

    def end(self, status: str = COMPLETED) -> None:
        """Flush and mark the run ended with `status` (COMPLETED, FAILED or your own word)."""
        self._check_open()
        if type(status) is not str or not status or status == RUNNING:
            raise TrackerError(f"a run ends with a status such as COMPLETED, got {status!r}")
        self._end(status)

    def _end(self, status: str | None) -> None:
        rows, fields = self._rows, self._fields
        if not (rows or fields or status):
            return
        self._rows, self._fields = [], {}
        ended_at = time.time()
        stale = self._chunked.intersection(fields)  # large values replaced by small ones

        def work(tx: Any) -> None:
            if rows:
                tx.executemany(INSERT_METRIC, rows)
            if fields:
                tx.executemany(
                    UPSERT_FIELD,
                    [(self.id, name, *enc[:5], 0) for name, enc in fields.items()],
                )
                if stale:
                    tx.executemany(
                        "DELETE FROM chunks WHERE run_id = ? AND name = ?",
                        [(self.id, name) for name in stale],
                    )
            if status:
                tx.execute(
                    "UPDATE runs SET status = ?, ended_at = ? WHERE id = ?",
                    (status, ended_at, self.id),
                )

        try:
            self.db.backend.write(work)
        except BaseException:
            # Nothing is lost: what failed to write stays buffered for the next flush.
            self._rows = rows + self._rows
            self._fields = {**fields, **self._fields}
            raise
        self._chunked.difference_update(stale)
        for name in stale:
            replaced = self._files.pop(name, None)
            if replaced:
                from tracker import blobs

                blobs.remove(self.db.backend, replaced)
        self._flush_due = time.monotonic() + self.db.flush_every_seconds
        if status:
            self.status = status
            _OPEN_RUNS.pop(id(self), None)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if id(self) in _OPEN_RUNS:
            self._end(FAILED if exc_type is not None else COMPLETED)


def _check_step(step: Any) -> int:
    try:
        as_int = int(step)
    except (TypeError, ValueError):
        as_int = None
    if as_int is None or as_int != step or isinstance(step, bool):
        raise TrackerError(f"step must be an integer, got {step!r}")
    return as_int


# Runs started in this process and not ended yet, ended at interpreter exit.
_OPEN_RUNS: dict[int, Run] = {}


def open_runs(db: Owner | None = None) -> list[Run]:
    """The runs started in this process and not ended yet: of one database, or all."""
    return [run for run in _OPEN_RUNS.values() if db is None or run.db is db]


@atexit.register
def _end_open_runs() -> None:
    # An uncaught exception (sys.last_value) means the program failed.
    failed = getattr(sys, "last_value", None) is not None
    for run in list(_OPEN_RUNS.values()):
        try:
            run._end(FAILED if failed else COMPLETED)
        except Exception as exc:  # never silent: the user sees which run could not be saved
            print(f"tracker: could not save run {run.id} at exit: {exc}", file=sys.stderr)
