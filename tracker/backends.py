"""Database connections: the embedded SQLite file through the standard library, anything else
through SQLAlchemy. Both run the same SQL (with `?` placeholders) inside retried transactions,
one thread at a time, and tell a value the database refuses (RejectedData) from a database
that cannot be written, or that this role may not write (TrackerError).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from tracker.errors import RejectedData, TrackerError, TrackerWarning

if TYPE_CHECKING:
    from pathlib import Path

T = TypeVar("T")
Row = tuple[Any, ...]

# How long a writer keeps retrying a database another process holds locked, and after how
# long it says that it is waiting.
LOCK_PATIENCE_SECONDS = 300.0
LOCK_WARNING_SECONDS = 5.0


def query_error(reason: object) -> TrackerError:
    """The error for a user's query the database refused."""
    return TrackerError(
        f"query failed: {reason}; db.query() only reads, and the tables and views it can "
        f"read are listed in tracker/schema.py"
    )


class Transaction:
    """What a write function gets: execute and executemany inside one transaction."""

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run one statement; the rows it returns, if any."""
        raise NotImplementedError

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for each row of parameters."""
        raise NotImplementedError


class Backend:
    """A connection to one database."""

    dialect: str
    url: str
    # Where large values go as files (beside a SQLite file); "": into the database.
    files_path = ""
    # Run once, before the first write of this connection: reading never changes a database.
    before_first_write: Callable[[], None] | None = None

    def _first_write(self) -> None:
        prepare, self.before_first_write = self.before_first_write, None
        if prepare is not None:
            try:
                prepare()
            except BaseException:
                self.before_first_write = prepare
                raise

    @property
    def files_dir(self) -> Path | None:
        """The folder for large values as files, or None when they go into the database."""
        from pathlib import Path  # not at import: pathlib is a few ms of `import tracker`

        return Path(self.files_path) if self.files_path else None

    def write(self, work: Callable[[Transaction], T]) -> T:
        """Run `work` in one transaction, retried while other writers hold the database."""
        raise NotImplementedError

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        """One statement of the user's, run so that it cannot write: its columns and rows."""
        raise NotImplementedError

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """The rows of one query."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the connection."""
        raise NotImplementedError


def open_backend(url: str | os.PathLike[str] | None, fsync: bool = False) -> Backend:
    """The backend for a URL: None or a path is a SQLite file; `sqlite://` URLs too.

    `fsync` makes a SQLite file fsync every commit (a database server follows its own
    settings: PostgreSQL's default already does).
    """
    if url is None:
        return SQLiteBackend("tracker.db", fsync)
    text = os.fspath(url)
    if "://" not in text:
        return SQLiteBackend(text, fsync)
    scheme = text.partition("://")[0].lower()
    if scheme == "sqlite":
        path, _, query = text[len("sqlite://") :].partition("?")
        path = path[1:] if path.startswith("/") else path  # sqlite:///rel, sqlite:////abs
        if query not in ("", "mode=ro"):
            raise TrackerError(f"unknown option {query!r} in {text}; the one option is ?mode=ro")
        return SQLiteBackend(path or ":memory:", fsync, read_only=query == "mode=ro")
    return SQLAlchemyBackend(text)


class _SQLiteTransaction(Transaction):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.conn.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc)
    return "locked" in message or "busy" in message


# What SQLite or its binding raises for a value it refuses: too big an integer, text that is
# not UTF-8, a type it cannot bind, a constraint (a trigger's RAISE included).
_SQLITE_REFUSALS = (
    sqlite3.IntegrityError,
    sqlite3.DataError,
    sqlite3.InterfaceError,
    OverflowError,
    UnicodeEncodeError,
)


class SQLiteBackend(Backend):
    """An embedded SQLite file in WAL mode; several processes may write at once.

    A file this process cannot write (or `?mode=ro`) is opened read-only: it can be read,
    and a write says why it cannot be.
    """

    dialect = "sqlite"

    def __init__(self, path: str, fsync: bool = False, read_only: bool = False) -> None:
        self.url = f"sqlite:///{path}"
        self.path = path
        self.fsync = fsync
        target = path
        if path not in ("", ":memory:") and not path.startswith("file:"):
            full = os.path.abspath(path)
            self.files_path = full + ".objects"
            folder_writable = os.access(os.path.dirname(full), os.W_OK)
            if os.path.exists(path):
                read_only = read_only or not (os.access(path, os.W_OK) and folder_writable)
            elif read_only:
                raise TrackerError(f"no SQLite database at {path!r} to open read-only")
            if read_only:
                # WAL's shared-memory file cannot be made in a read-only folder: read as is.
                target = f"file:{full}?mode=ro" + ("" if folder_writable else "&immutable=1")
        self.read_only = read_only
        try:
            # Autocommit mode: transactions are explicit BEGIN IMMEDIATE ... COMMIT below.
            # A short busy timeout: the retry loop below waits, and says that it waits.
            self.conn = sqlite3.connect(
                target, isolation_level=None, check_same_thread=False, timeout=1.0, uri=read_only
            )
        except sqlite3.Error as exc:
            raise TrackerError(
                f"cannot open SQLite database {path!r} ({exc}); does its folder exist and is "
                f"it writable?"
            ) from None
        self._tx = _SQLiteTransaction(self.conn)
        self._lock = threading.RLock()  # one connection, shared by the threads of a process
        self._journal_set = False

    def _set_journal(self) -> None:
        # WAL: readers never block the writer and a killed process cannot corrupt the file;
        # synchronous=NORMAL keeps every commit through an application crash (not a power
        # cut), FULL fsyncs every commit so that it survives a power cut too. Set at the
        # first write, not at opening: opening a database to read it changes nothing.
        if self.read_only:
            raise TrackerError(
                f"SQLite database {self.path!r} is open read-only (?mode=ro, or a file or "
                f"folder this process cannot write); nothing was written"
            )
        self._retry(lambda: self.conn.execute("PRAGMA journal_mode=WAL").fetchall())
        self.conn.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
        self._journal_set = True

    def _retry(self, attempt: Callable[[], T]) -> T:
        started = time.monotonic()
        deadline = started + LOCK_PATIENCE_SECONDS
        warned = False
        delay = 0.001
        while True:
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                now = time.monotonic()
                if not _is_busy(exc) or now > deadline:
                    raise self._error(exc) from None
                if not warned and now - started > LOCK_WARNING_SECONDS:
                    warned = True
                    warnings.warn(
                        f"tracker: waiting for {self.path!r}, which another process holds "
                        f"locked ({now - started:.0f} s so far; giving up after "
                        f"{LOCK_PATIENCE_SECONDS:.0f} s)",
                        TrackerWarning,
                        stacklevel=3,
                    )
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
            except _SQLITE_REFUSALS as exc:
                raise RejectedData(
                    f"SQLite database {self.path!r} refused a value: {exc}"
                ) from None
            except sqlite3.ProgrammingError as exc:
                if "binding" in str(exc):
                    raise RejectedData(f"SQLite cannot store a value: {exc}") from None
                raise self._error(exc) from None
            except sqlite3.DatabaseError as exc:
                raise self._error(exc) from None

    def _error(self, exc: sqlite3.Error) -> TrackerError:
        if _is_busy(exc):  # type: ignore[arg-type]
            return TrackerError(
                f"{self.path!r} stayed locked by another writer for {LOCK_PATIENCE_SECONDS:.0f}"
                f" s; is a process stuck holding it?"
            )
        hint = ""
        if "full" in str(exc) or "I/O error" in str(exc):
            hint = (
                "; is the disk full? Free some space and flush again: what was logged stays "
                "in memory until it is written"
            )
        elif "readonly" in str(exc):
            hint = "; it is read-only to this process (check the file's and folder's rights)"
        return TrackerError(f"SQLite database {self.path!r}: {exc}{hint}")

    def write(self, work: Callable[[Transaction], T]) -> T:
        def attempt() -> T:
            # IMMEDIATE takes the write lock up front, so two writers never deadlock upgrading.
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(self._tx)
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
            return result

        with self._lock:
            if not self._journal_set:
                self._set_journal()
            self._first_write()
            return self._retry(attempt)

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            return self._retry(lambda: self.conn.execute(sql, params).fetchall())

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        def attempt() -> tuple[list[str], list[Row]]:
            self.conn.execute("PRAGMA query_only = ON")
            try:
                cursor = self.conn.execute(sql, params)
                return [column[0] for column in cursor.description or ()], cursor.fetchall()
            except sqlite3.Error as exc:
                if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                    raise  # retried
                raise query_error(exc) from None
            finally:
                self.conn.execute("PRAGMA query_only = OFF")

        with self._lock:
            return self._retry(attempt)

    def close(self) -> None:
        self.conn.close()


class _SQLAlchemyTransaction(Transaction):
    def __init__(self, backend: SQLAlchemyBackend) -> None:
        self.backend = backend

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        result = self.backend.conn.exec_driver_sql(self.backend.sql(sql), tuple(params))
        return [tuple(row) for row in result.fetchall()] if result.returns_rows else []

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = [tuple(row) for row in rows]
        if rows:
            self.backend.conn.exec_driver_sql(self.backend.sql(sql), rows)


# SQLSTATEs worth retrying: serialization failure and deadlock between concurrent writers.
_RETRY_SQLSTATES = {"40001", "40P01"}
# SQLSTATE classes of a refused value: data exception, integrity constraint, program limit
# (such as an index entry too large).
_REFUSED_CLASSES = ("22", "23", "54")
# SQLSTATEs of a write refused as a whole, whatever its values: the role lacks a privilege
# (insufficient_privilege: the database's own GRANTs guard its data), or the session or
# server only reads (read_only_sql_transaction: default_transaction_read_only, a standby).
NO_PRIVILEGE = "42501"
READ_ONLY = "25006"


def _primary_message(exc: Any) -> str:
    """The server's one-line message of a driver error (no LINE/DETAIL/HINT lines after it)."""
    diag = getattr(exc.orig, "diag", None)
    message = getattr(diag, "message_primary", None)
    if message:
        return str(message)
    lines = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
    return lines[0] if lines else ""


class SQLAlchemyBackend(Backend):
    """Any database SQLAlchemy reaches that the schema supports: PostgreSQL."""

    def __init__(self, url: str) -> None:
        try:
            import sqlalchemy
            from sqlalchemy.exc import ArgumentError, NoSuchModuleError
        except ImportError:
            raise TrackerError(
                f"{url.partition('://')[0]}:// URLs need SQLAlchemy and a driver: "
                f"pip install 'trackbench[sql]'"
            ) from None
        try:
            parsed = sqlalchemy.engine.make_url(url)
        except ArgumentError:
            raise TrackerError(
                f"cannot parse database URL {url!r}; use sqlite:///path.db or "
                f"postgresql://user@host:port/dbname"
            ) from None
        if parsed.drivername == "postgresql":  # the driver the `sql` extra installs
            parsed = parsed.set(drivername="postgresql+psycopg")
        self.url = parsed.render_as_string(hide_password=True)
        self.dialect = parsed.get_backend_name()
        if self.dialect != "postgresql":
            raise TrackerError(
                f"unsupported database {parsed.drivername!r} in {self.url}; the tracker stores "
                f"into SQLite (sqlite:///path.db) or PostgreSQL (postgresql://...)"
            )
        self._sqlalchemy = sqlalchemy
        try:
            engine = sqlalchemy.create_engine(parsed, pool_pre_ping=True)
            self.conn = engine.connect()
        except NoSuchModuleError:
            raise TrackerError(
                f"no driver for {parsed.drivername!r}: pip install 'trackbench[sql]'"
            ) from None
        except ImportError as exc:
            raise TrackerError(f"{exc}: pip install 'trackbench[sql]'") from None
        except sqlalchemy.exc.OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            hint = "is the server running and the URL right?"
            if "permission denied for database" in reason:  # the role lacks CONNECT on it
                hint = (
                    f"the role needs CONNECT on it: GRANT CONNECT ON DATABASE "
                    f"{parsed.database} TO {parsed.username or 'the role'}"
                )
            raise TrackerError(f"cannot connect to {self.url} ({reason}); {hint}") from None
        self.engine = engine
        style = engine.dialect.paramstyle
        if style in ("format", "pyformat"):
            self._placeholder = "%s"
        elif style == "qmark":
            self._placeholder = "?"
        else:
            raise TrackerError(f"driver paramstyle {style!r} is not supported; use psycopg")
        self._statements: dict[str, str] = {}
        self._tx = _SQLAlchemyTransaction(self)
        self._lock = threading.RLock()  # one connection, shared by the threads of a process

    def sql(self, statement: str) -> str:
        """The statement in the driver's placeholder style (statements never contain `?`
        or `%` otherwise: names are always parameters)."""
        converted = self._statements.get(statement)
        if converted is None:
            if len(self._statements) > 512:  # metric INSERTs differ by run: keep it small
                self._statements.clear()
            converted = self._statements[statement] = statement.replace("?", self._placeholder)
        return converted

    def write(self, work: Callable[[Transaction], T]) -> T:
        deadline = time.monotonic() + LOCK_PATIENCE_SECONDS
        with self._lock:
            self._first_write()
            while True:
                try:
                    with self.conn.begin():
                        return work(self._tx)
                except self._sqlalchemy.exc.DBAPIError as exc:
                    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
                    if sqlstate in _RETRY_SQLSTATES and time.monotonic() < deadline:
                        time.sleep(0.01)
                        continue
                    raise self._error(exc, sqlstate) from None
                except self._sqlalchemy.exc.StatementError as exc:
                    raise self._error(exc, "") from None

    def _error(self, exc: Any, sqlstate: str) -> TrackerError:
        if sqlstate in (NO_PRIVILEGE, READ_ONLY):
            # Not RejectedData: no value is at fault, so nothing is set aside value by value;
            # a flush that fails so keeps everything in memory and warns.
            return TrackerError(self._refused_write(_primary_message(exc), sqlstate))
        # A StatementError without a server's SQLSTATE: the driver could not send a value
        # (text that is not UTF-8, an integer too big for any column type).
        reason = str(exc.orig).strip() if exc.orig is not None else str(exc)
        refused = sqlstate[:2] in _REFUSED_CLASSES or not isinstance(
            exc, self._sqlalchemy.exc.DBAPIError
        )
        if refused:
            return RejectedData(f"{self.url} refused a value: {reason}")
        return TrackerError(f"{self.url}: {reason}")

    def _refused_write(self, reason: str, sqlstate: str) -> str:
        """What a write the database refused as a whole says: whose rights, and what to do."""
        role = self._role()
        if sqlstate == READ_ONLY:
            why = (
                f"this session or server only reads ({reason}); connect to the primary "
                f"server as a role that may write"
            )
        elif reason.startswith("must be owner"):  # DDL: the tracker upgrades its schema
            why = (
                f"role {role!r} may not upgrade the tracker's tables to this version's schema "
                f"({reason}); connect once as their owner, then as any role that may write"
            )
        else:
            why = f"role {role!r} may not write here ({reason}); connect as a role that may write"
        return f"{self.url} refused the write: {why}; nothing was written"

    def _role(self) -> str:
        """The role whose privileges the server checks (the URL may name none)."""
        try:
            return str(self.read("SELECT current_user")[0][0])
        except TrackerError:
            return "?"

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._lock:
            try:
                with self.conn.begin():
                    result = self.conn.exec_driver_sql(self.sql(sql), tuple(params))
                    return [tuple(row) for row in result.fetchall()]
            except self._sqlalchemy.exc.DBAPIError as exc:
                sqlstate = getattr(exc.orig, "sqlstate", None) or ""
                if sqlstate == NO_PRIVILEGE:
                    role = self._role()
                    raise TrackerError(
                        f"{self.url}: role {role!r} may not read this ({_primary_message(exc)});"
                        f" the tables' owner can let it: GRANT SELECT ON ALL TABLES IN SCHEMA"
                        f" public TO {role}"
                    ) from None
                raise TrackerError(f"{self.url}: {str(exc.orig).strip()}") from None

    def query(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[Row]]:
        statement = sql.replace("%", "%%") if self._placeholder == "%s" else sql
        with self._lock:
            try:
                with self.conn.begin():
                    self.conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    result = self.conn.exec_driver_sql(
                        statement.replace("?", self._placeholder), tuple(params)
                    )
                    if not result.returns_rows:
                        return [], []
                    return list(result.keys()), [tuple(row) for row in result.fetchall()]
            except self._sqlalchemy.exc.DBAPIError as exc:
                raise query_error(_primary_message(exc)) from None

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()
