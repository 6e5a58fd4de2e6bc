"""Deleting runs and experiments: every row of theirs in one transaction, then their files.

PostgreSQL enforces the schema's REFERENCES constraints, so the rows that point at a run
(links from and to it, tags, params, fields, metrics; chunks too) go before the run, and an
experiment's runs before the experiment. A run open in this process is closed, and what it
has buffered dropped, so that no later flush writes into a deleted run; a run RUNNING in
another live process is deleted only with `force=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from tracker import liveness, opened
from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.backends import Backend, Row, Transaction

# Every table with rows of a run, by the column naming it; before the runs table itself.
_RUN_ROWS = (
    ("links", "run_id"),
    ("links", "target_id"),
    ("tags", "run_id"),
    ("params", "run_id"),
    ("fields", "run_id"),
    ("chunks", "run_id"),
    ("metrics", "run_id"),
)
_RUN_COLUMNS = "id, experiment_id, status, writer_host, writer_pid, seen_at"
Check = Callable[["Transaction", list["Row"]], None]


def same_database(a: Backend, b: Backend) -> bool:
    """Whether two connections reach one database (a run id names a run within one only)."""
    if a is b:
        return True
    if a.dialect == "sqlite":  # the file's absolute path; two :memory: databases differ
        return bool(a.files_path) and a.files_path == b.files_path
    return a.dialect == b.dialect and a.url == b.url


def open_here(backend: Backend, keep: Callable[[Any], bool]) -> list[Any]:
    """The runs of this database open in this process (through any connection) that `keep`
    selects, by id."""
    runs = [run for run in opened.runs_of() if same_database(run.db.backend, backend)]
    return sorted((run for run in runs if keep(run)), key=lambda run: run.id)


def live_writer(row: Row) -> str | None:
    """The live process (not this one) that writes the run of a row of _RUN_COLUMNS."""
    return liveness.live_writer(*row[2:6])


def delete_run(db: Any, experiment: Any, run_id: int, force: bool) -> None:
    """Delete run `run_id` of `experiment`, with every row and file of it."""
    if type(run_id) is not int:
        raise TrackerError(f"runs are named by their integer id, got {run_id!r}")

    def check(tx: Transaction, rows: list[Row]) -> None:
        if not rows:
            raise TrackerError(f"no run with id {run_id} to delete")
        if rows[0][1] != experiment.id:
            (other,) = tx.execute("SELECT name FROM experiments WHERE id = ?", (rows[0][1],))[0]
            raise TrackerError(
                f"run {run_id} belongs to {other!r}, not {experiment.name!r}; delete it "
                f"through its own experiment"
            )
        writer = live_writer(rows[0])
        if writer and not force:
            raise TrackerError(
                f"run {run_id} is RUNNING in {writer}; delete it once it ends or is LOST, "
                f"or pass force=True to delete it while it runs"
            )

    _delete(db.backend, "id = ?", run_id, lambda run: run.id == run_id, check)


def delete_experiment(backend: Backend, name: str, force: bool) -> None:
    """Delete the experiment of this name, with all its runs."""
    found = backend.read("SELECT id FROM experiments WHERE name = ?", (name,))
    if not found:
        raise TrackerError(f"no experiment named {name!r} in {backend.url}")
    experiment_id = found[0][0]

    def check(tx: Transaction, rows: list[Row]) -> None:
        live = [(row[0], writer) for row in rows if (writer := live_writer(row))]
        if live and not force:
            first, writer = live[0]
            ids = ", ".join(str(run_id) for run_id, _ in live)
            raise TrackerError(
                f"experiment {name!r} has runs RUNNING in other live processes (run {ids}; "
                f"run {first} in {writer}); delete it once they end or are LOST, or pass "
                f"force=True"
            )

    def keep(run: Any) -> bool:
        return bool(run.experiment.id == experiment_id)

    if not _delete(backend, "experiment_id = ?", experiment_id, keep, check, experiment_id):
        raise TrackerError(f"no experiment named {name!r} in {backend.url}")


def _delete(
    backend: Backend,
    scope: str,
    key: int,
    keep: Callable[[Any], bool],
    check: Check,
    experiment_id: int | None = None,
) -> bool:
    """Delete the runs `scope` selects (a condition on runs with one parameter, `key`) in one
    transaction, once `check` accepts their rows, and the experiment `experiment_id` after
    them; then their large-value files. False if that experiment is gone already."""
    in_scope = f"SELECT id FROM runs WHERE {scope}"
    # PostgreSQL: lock the rows first, so that no link, metric or field can be added to one
    # of these runs until this commits (and one being added is committed before).
    lock = " FOR UPDATE" if backend.dialect == "postgresql" else ""

    def work(tx: Transaction) -> tuple[set[int], list[str]] | None:
        if experiment_id is not None:  # first, so that no run is added to it meanwhile
            select = f"SELECT id FROM experiments WHERE id = ?{lock}"
            if not tx.execute(select, (experiment_id,)):
                return None
        rows = tx.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE {scope}{lock}", (key,))
        check(tx, rows)
        files = tx.execute(
            f"SELECT value_text FROM fields WHERE chunks = -1 AND run_id IN ({in_scope})", (key,)
        )
        for table, column in _RUN_ROWS:
            tx.execute(f"DELETE FROM {table} WHERE {column} IN ({in_scope})", (key,))
        tx.execute(f"DELETE FROM runs WHERE {scope}", (key,))
        if experiment_id is not None:
            tx.execute("DELETE FROM experiments WHERE id = ?", (experiment_id,))
        return {row[0] for row in rows}, [row[0] for row in files]

    mine = open_here(backend, keep)
    with ExitStack() as held:
        for run in mine:  # in id order, so two deletions never wait for each other
            # no flush of these runs runs meanwhile; one waiting writes nothing after
            held.enter_context(run._write_lock)
        done = backend.write(work)
        if done is None:
            return False
        deleted, files = done
        for run in mine:
            if run.id in deleted:
                run._forget_deleted()
    if files:  # after the commit: a failed transaction leaves every file its rows point at
        from tracker import blobs

        blobs.remove_stored(backend, files)
    return True
