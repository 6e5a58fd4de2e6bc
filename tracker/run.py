"""A run: buffered metric series, fields of any supported type, params, status.

Every value is checked when it is logged or set: a call that brings a bad value raises
TrackerError and stores nothing of that call, and nothing else is affected. A run may be
used from several threads; `log()` holds a lock only while it appends to the buffer, never
while the buffer is written.
"""

from __future__ import annotations

import sys
import threading
import time
import warnings
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from tracker import fields, opened
from tracker import values as V
from tracker.encoded import CHUNK_BYTES, Encoded
from tracker.errors import RejectedData, TrackerError, TrackerWarning
from tracker.params import Params, Tags
from tracker.pending import WIDTH, Pending, joined
from tracker.schema import HEARTBEAT_SECONDS, VALUE_COLUMNS
from tracker.values import INT64_MAX, INT64_MIN

if TYPE_CHECKING:
    import pandas as pd

    from tracker.backends import Backend, Transaction

RUNNING, COMPLETED, FAILED = "RUNNING", "COMPLETED", "FAILED"
# The status of a Run object whose run was deleted (never stored: the row is gone).
DELETED = "DELETED"
# The longest name (metric, field, param, tag, run, experiment) in UTF-8 bytes: the same rule
# on every backend, well inside what a PostgreSQL index entry holds (about 2,700 bytes).
MAX_NAME_BYTES = 1024

UPSERT_FIELD = (
    "INSERT INTO fields (run_id, name, kind, value_real, value_int, value_text, value_blob,"
    " chunks) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET"
    " kind = excluded.kind, value_real = excluded.value_real, value_int = excluded.value_int,"
    " value_text = excluded.value_text, value_blob = excluded.value_blob,"
    " chunks = excluded.chunks"
)
UPSERT_PARAM = (
    f"INSERT INTO params (run_id, name, {VALUE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (run_id, name) DO UPDATE SET kind = excluded.kind,"
    " value_real = excluded.value_real, value_int = excluded.value_int,"
    " value_text = excluded.value_text, value_blob = excluded.value_blob"
)
CLEAR_CHUNKS = "DELETE FROM chunks WHERE run_id = ? AND name = ?"


# A run knows its database and experiment by what it uses of them (tracker.database builds
# both and imports this module, never the other way round).
class Owner(Protocol):
    """What a run needs of its database: the connection and when to flush."""

    backend: Backend
    flush_every_rows: int
    flush_every_seconds: float

    @property
    def logged_at_column(self) -> str:
        """The metrics' time column to select."""


class Named(Protocol):
    """What a run needs of its experiment."""

    id: int
    name: str


class Rejected(NamedTuple):
    """A value the database refused when it was written, set aside in `run.rejected`."""

    name: str
    step: int | None  # None for a field
    value: Any  # the metric's float, or the field's stored form (tracker.encoded.Encoded)
    reason: str


def check_name(name: Any, what: str) -> str:
    """A name as given, if it is one: a non-empty str of UTF-8 text without NUL, not too long."""
    if type(name) is not str or not name or "\x00" in name:
        raise TrackerError(f"{what} names must be non-empty strings without NUL, got {name!r}")
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        raise TrackerError(
            f"{what} name {name!r} is not valid text (it holds a lone surrogate, as from "
            f"decoding bytes with errors='surrogateescape'); names must be UTF-8 text"
        ) from None
    if size > MAX_NAME_BYTES:
        raise TrackerError(
            f"{what} name {name[:40]!r}... is {size} bytes; names are at most "
            f"{MAX_NAME_BYTES} bytes (store long text as a field value)"
        )
    return name


def param_row(name: str, value: Any) -> tuple[Any, ...]:
    """A param as stored: (name, kind, 4 value columns); large values belong in fields."""
    check_name(name, "param")
    encoded = V.encode(value, f"param {name!r}")
    if encoded.parts or encoded.nbytes > CHUNK_BYTES:
        raise TrackerError(f"param {name!r} is {encoded.nbytes} bytes; store it as a field")
    return (name, *encoded[:5])


class Run:
    """One run of an experiment; use as a context manager, or call end() yourself."""

    def __init__(
        self,
        db: Owner,
        experiment: Named,
        run_id: int,
        name: str | None,
        status: str,
        *,
        opens: bool = False,
    ) -> None:
        self.db = db
        self.experiment = experiment
        self.id = run_id
        self.name = name
        self.status = status
        # Values the database refused at a flush: kept here, never retried, never lost silently.
        self.rejected: list[Rejected] = []
        self._pending = Pending()
        self._fields: dict[str, Encoded] = {}
        self._names: set[str] = set()
        self._chunked: set[str] = set()  # names whose value is in pieces or a file
        self._files: dict[str, str] = {}  # name -> the file holding its value
        self._step = 0
        self._buffer_lock = threading.Lock()  # held only to append to or take the buffer
        self._write_lock = threading.RLock()  # one write of this run at a time, in order
        self._warned = False
        self._ending = False  # set while the final write runs: later values would be lost
        self._deleted = False  # its rows are gone: nothing buffered may be written any more
        self.flush_due = time.monotonic() + db.flush_every_seconds
        self.beat_due = time.monotonic() + HEARTBEAT_SECONDS  # when it shows it is alive
        self._params: dict[str, Any] | None = None
        if opens:
            opened.add(self)

    def __repr__(self) -> str:
        name = f" {self.name!r}" if self.name else ""
        return f"<Run {self.id}{name} of {self.experiment.name!r}: {self.status}>"

    @property
    def open(self) -> bool:
        """Whether values can be logged here: the run was started in this process, not ended."""
        return id(self) in opened.OPEN

    def _check_open(self) -> None:
        if id(self) not in opened.OPEN:
            if self._deleted:
                self._refuse_ending()
            if self.status == RUNNING:
                raise TrackerError(
                    f"run {self.id} is not open in this process: a run is written only by the "
                    f"process that started it (this one read it, or was forked from that one)"
                )
            raise TrackerError(
                f"run {self.id} is closed ({self.status}); start a new run with "
                f"experiment.run() to log more"
            )

    def _refuse_ending(self) -> None:
        if self._deleted:
            raise TrackerError(f"run {self.id} was deleted; nothing more can be logged to it")
        raise TrackerError(
            f"run {self.id} is ending (another thread called end()); nothing more "
            f"can be logged to it"
        )

    # -- metrics ----------------------------------------------------------------------------

    def log(self, values: Mapping[str, Any], step: int | None = None) -> None:
        """Append one value per name at `step` (default: the previous step plus one)."""
        if id(self) not in opened.OPEN:
            self._check_open()
        if type(values) is not dict and not isinstance(values, Mapping):
            raise TrackerError(f"log() takes a dict of name -> number, got {type(values)}")
        if step is not None and type(step) is not int:
            step = _check_step(step)
        known = self._names
        with self._buffer_lock:
            if self._ending:
                self._refuse_ending()
            if step is None:
                step = self._step
            if not INT64_MIN <= step <= INT64_MAX:
                raise TrackerError(f"step {step} is outside the 64-bit integer range")
            pending = self._pending
            flat = pending.flat
            logged = len(flat)
            now = time.time()
            try:
                for name, value in values.items():
                    if name not in known:
                        known.add(check_name(name, "metric"))
                    if type(value) is float and value == value and value != 0.0:  # common case
                        flat += (name, step, value, now)
                    else:
                        real, bits = V.metric_columns(name, value)
                        if bits is not None:
                            pending.bits[len(flat) // WIDTH] = bits
                        flat += (name, step, real, now)
            except BaseException:
                pending.drop_from(logged // WIDTH)  # a call with one bad value logs nothing
                raise
            self._step = step + 1
            full = len(flat) >= WIDTH * self.db.flush_every_rows
        if full:  # the flush thread writes it: log() never waits for the database
            self.flush_due = 0.0
            opened.wake()

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
        """This run's metrics: run_id, run_name, name, step, value, time (long form)."""
        from tracker import frames

        self._flush_if_open()
        return frames.metrics_frame(
            self.db.backend, "m.run_id = ?", (self.id,), self.db.logged_at_column
        )

    # -- fields -----------------------------------------------------------------------------

    def __setitem__(self, name: str, value: Any) -> None:
        """Store a field: a scalar, array, DataFrame, Arrow table or other Python value."""
        self._check_open()
        check_name(name, "field")
        encoded = V.encode(value, f"field {name!r}")
        if encoded.parts or encoded.nbytes > CHUNK_BYTES:
            self._store_large(name, encoded)
            return
        with self._buffer_lock:
            if self._ending:
                self._refuse_ending()
            self._fields[name] = encoded
        if name in self._chunked:
            self.flush()

    def _store_large(self, name: str, encoded: Encoded) -> None:
        """Write a large field now, in a transaction of its own (see tracker.blobs)."""
        from tracker import blobs

        with self._write_lock:  # after any flush holding an older value of this name
            with self._buffer_lock:
                if self._deleted:  # deleted by another thread since __setitem__ checked
                    self._refuse_ending()
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

    # -- params, tags, links ----------------------------------------------------------------

    @property
    def params(self) -> Params:
        """The run's parameters; `run.params["wd"] = 1e-4` stores one at once."""
        if self._params is None:
            rows = self.db.backend.read(
                f"SELECT name, {VALUE_COLUMNS} FROM params WHERE run_id = ?",
                (self.id,),
            )
            self._params = {
                row[0]: V.decode(Encoded(*row[1:]), f"param {row[0]!r}") for row in rows
            }
        return Params(self._params, self._store_params)

    def _store_params(self, params: dict[str, Any]) -> None:
        self._check_open()
        rows = [(self.id, *param_row(name, value)) for name, value in params.items()]
        self.db.backend.write(lambda tx: tx.executemany(UPSERT_PARAM, rows))
        if self._params is not None:
            self._params.update(params)

    @property
    def tags(self) -> Tags:
        """The run's tags; `run.tags.append("late")` stores one at once."""
        rows = self.db.backend.read("SELECT tag FROM tags WHERE run_id = ?", (self.id,))
        return Tags((row[0] for row in rows), self._store_tags)

    def _store_tags(self, tags: list[str]) -> None:
        self._check_open()
        rows = [(self.id, check_name(tag, "tag")) for tag in tags]
        self.db.backend.write(
            lambda tx: tx.executemany(
                "INSERT INTO tags (run_id, tag) VALUES (?, ?) ON CONFLICT DO NOTHING", rows
            )
        )

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
        self._write(None)

    def _flush_if_open(self) -> None:
        if id(self) in opened.OPEN:
            self.flush()

    def end(self, status: str = COMPLETED) -> None:
        """Flush and mark the run ended with `status` (COMPLETED, FAILED or your own word)."""
        self._check_open()
        if type(status) is not str or not status or status == RUNNING:
            raise TrackerError(f"a run ends with a status such as COMPLETED, got {status!r}")
        self._write(status)

    def auto_flush(self) -> None:
        """The flush thread's flush (on the timer, of a full buffer, or to show the run is
        alive): on failure the values stay buffered and a warning says so; nothing is raised
        into the user's code."""
        try:
            self._write(None, beat=time.monotonic() >= self.beat_due)
        except Exception as exc:  # also in the flush thread, which must keep running
            self.flush_due = time.monotonic() + self.db.flush_every_seconds
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"tracker: run {self.id}: values are kept in memory, not yet written "
                    f"({exc}); the next flush retries",
                    TrackerWarning,
                    stacklevel=2,
                )

    def end_at_exit(self, failed: bool) -> None:
        """Flush and end the run as the interpreter exits; a failure is printed, not raised."""
        try:
            self._write(FAILED if failed else COMPLETED)
        except Exception as exc:  # never silent: the user sees which run could not be saved
            print(f"tracker: could not save run {self.id} at exit: {exc}", file=sys.stderr)

    def _write(self, status: str | None, beat: bool = False) -> None:
        """Write the buffer (and the status, and a sign of life); what cannot be written stays
        buffered."""
        with self._write_lock:
            with self._buffer_lock:
                batch, fields = self._pending, self._fields
                self._pending, self._fields = Pending(), {}
                if self._deleted:  # a flush that waited for the deletion: nothing to write
                    return
                self._ending = bool(status)
            pending = [batch] if batch else []
            wrote = bool(batch or fields or status or beat)
            try:
                if wrote:
                    self._store(pending, fields, status)
            except BaseException:
                with self._buffer_lock:  # nothing is lost: it is written by the next flush
                    self._ending = False
                    self._pending = joined([*pending, self._pending])
                    self._fields = {**fields, **self._fields}
                raise
            self._warned = False
            self.flush_due = time.monotonic() + self.db.flush_every_seconds
            if wrote:
                self.beat_due = time.monotonic() + HEARTBEAT_SECONDS
            if status:
                self.status = status
                opened.remove(self)

    def _store(
        self, pending: list[Pending], fields: dict[str, Encoded], status: str | None
    ) -> None:
        """Write all in one transaction; if the database refuses a value, set it aside and
        write the rest. Written parts leave `pending` and `fields` as they are stored."""
        stale = self._chunked.intersection(fields)  # large values replaced by small ones

        def everything(tx: Transaction) -> None:
            for part in pending:
                part.insert(tx, self.id)
            self._write_fields(tx, fields, stale)
            self._write_status(tx, status)

        try:
            self.db.backend.write(everything)
            pending.clear()
            fields.clear()
        except RejectedData:
            self._store_apart(pending, fields, status, stale)
        self._forget_files(stale)

    def _store_apart(
        self,
        pending: list[Pending],
        fields: dict[str, Encoded],
        status: str | None,
        stale: set[str],
    ) -> None:
        """Halve the metric rows until each refused row is alone; each field on its own."""
        before = len(self.rejected)
        while pending:
            part = pending[-1]
            try:
                self.db.backend.write(partial(part.insert, run_id=self.id))
                pending.pop()
            except RejectedData as exc:
                pending.pop()
                if len(part) == 1:
                    name, step, value, bits = part.value(0)
                    self.rejected.append(
                        Rejected(name, step, V.float_from_columns(value, bits), str(exc))
                    )
                else:
                    first, second = part.halves()
                    pending += [second, first]
        for name in list(fields):
            one = {name: fields[name]}
            try:
                self.db.backend.write(partial(self._write_fields, fields=one, stale=stale))
            except RejectedData as exc:
                self.rejected.append(Rejected(name, None, fields[name], str(exc)))
                stale.discard(name)  # the large value it was to replace stays stored
            del fields[name]
        self.db.backend.write(lambda tx: self._write_status(tx, status))
        refused = self.rejected[before:]
        warnings.warn(
            f"tracker: run {self.id}: the database refused {len(refused)} value(s), set aside "
            f"in run.rejected; the rest is stored (first: {refused[0].name!r}: "
            f"{refused[0].reason})",
            TrackerWarning,
            stacklevel=4,
        )

    def _write_fields(self, tx: Transaction, fields: dict[str, Encoded], stale: set[str]) -> None:
        if fields:
            tx.executemany(
                UPSERT_FIELD, [(self.id, name, *enc[:5], 0) for name, enc in fields.items()]
            )
            gone = stale.intersection(fields)
            if gone:
                tx.executemany(CLEAR_CHUNKS, [(self.id, name) for name in gone])

    def _write_status(self, tx: Transaction, status: str | None) -> None:
        """The run's end (with a status) or its sign of life: every write shows the latter."""
        now = time.time()
        if status:
            tx.execute(
                "UPDATE runs SET status = ?, ended_at = ?, seen_at = ? WHERE id = ?",
                (status, now, now, self.id),
            )
        else:
            tx.execute("UPDATE runs SET seen_at = ? WHERE id = ?", (now, self.id))

    def _forget_files(self, stale: set[str]) -> None:
        """Delete the files of large values that small ones replaced."""
        self._chunked.difference_update(stale)
        for name in stale:
            replaced = self._files.pop(name, None)
            if replaced:
                from tracker import blobs

                blobs.remove(self.db.backend, replaced)

    # -- resuming and deleting --------------------------------------------------------------

    def delete(self, *, force: bool = False) -> None:
        """Delete this run and everything of it: metrics, fields, params, tags, links to and
        from it, and its large-value files. If it is open here it is closed and nothing
        buffered is written; a run RUNNING in another live process needs `force=True`."""
        from tracker import deletion

        deletion.delete_run(self.db, self.experiment, self.id, force)

    def _reopen(self, next_step: int, large: Mapping[str, str | None]) -> None:
        """Open this stored run in this process (it is resumed): log() without a step goes on
        at `next_step`; `large` maps its large fields' names to their files (None: in pieces),
        so that a new value of one replaces the old value's pieces or file."""
        self._step = next_step
        self._chunked.update(large)
        self._files.update({name: file for name, file in large.items() if file})
        opened.add(self)

    def _forget_deleted(self) -> None:
        """Close this run, whose rows were deleted (the caller holds its write lock): what is
        buffered is dropped, and logging more raises."""
        with self._buffer_lock:
            self._deleted = self._ending = True  # a log() racing this one raises
            self._pending, self._fields = Pending(), {}
        self._chunked.clear()
        self._files.clear()
        self.status = DELETED
        opened.remove(self)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if id(self) in opened.OPEN:
            self._write(FAILED if exc_type is not None else COMPLETED)


def _check_step(step: Any) -> int:
    try:
        as_int = int(step)
    except (TypeError, ValueError, OverflowError):
        as_int = None
    if as_int is None or as_int != step or isinstance(step, bool):
        raise TrackerError(f"step must be an integer, got {step!r}")
    return as_int


def open_runs(db: Owner | None = None) -> list[Run]:
    """The runs started in this process and not ended yet: of one database, or all."""
    return opened.runs_of(db)
