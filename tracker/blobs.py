"""Large field values (over CHUNK_BYTES): in files beside a SQLite database file, as NumPy's
own `np.save` would write them, or in pieces in the `chunks` table of a database server.

A file-backed field has `chunks = -1` and its file's path, relative to the folder
`<database file>.objects/`, in `value_text`. Files are named by run id and a random id,
never by a field's name.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracker import values as V
from tracker.encoded import CHUNK_BYTES, Encoded
from tracker.errors import TrackerError

if TYPE_CHECKING:
    from tracker.backends import Backend

EXTERNAL = -1
_RELATIVE = re.compile(r"[0-9]+/[0-9a-f]{32}\.[a-z]+")
_UPSERT = (
    "INSERT INTO fields (run_id, name, kind, value_real, value_int, value_text, value_blob,"
    " chunks) VALUES (?, ?, ?, NULL, NULL, ?, NULL, ?) ON CONFLICT (run_id, name) DO UPDATE"
    " SET kind = excluded.kind, value_real = NULL, value_int = NULL,"
    " value_text = excluded.value_text, value_blob = NULL, chunks = excluded.chunks"
)
_CLEAR = "DELETE FROM chunks WHERE run_id = ? AND name = ?"


def write(backend: Backend, run_id: int, name: str, encoded: Encoded) -> str | None:
    """Store a large value now, in a transaction of its own; its file's path, if in a file."""
    folder = backend.files_dir
    if folder is None:

        def in_pieces(tx: Any) -> None:
            tx.execute(_CLEAR, (run_id, name))
            count = 0
            for count, piece in enumerate(encoded.chunks(), start=1):
                tx.execute(
                    "INSERT INTO chunks (run_id, name, seq, data) VALUES (?, ?, ?, ?)",
                    (run_id, name, count - 1, piece),
                )
            tx.execute(_UPSERT, (run_id, name, encoded.kind, None, count))

        backend.write(in_pieces)
        return None

    relative = f"{run_id}/{uuid.uuid4().hex}.{encoded.kind}"
    path = folder / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(path, "wb") as out:
            for piece in encoded.chunks():  # memoryviews of the value: nothing is copied
                out.write(piece)

        def in_file(tx: Any) -> None:
            tx.execute(_CLEAR, (run_id, name))
            tx.execute(_UPSERT, (run_id, name, encoded.kind, relative, EXTERNAL))

        backend.write(in_file)
    except BaseException:
        path.unlink(missing_ok=True)  # the database never points at a partial file
        raise
    return relative


def remove(backend: Backend, relative: str) -> None:
    """Delete a file no field points at any more."""
    # a path read from the database (a resumed run's) is data: only names this module writes
    # are followed
    if backend.files_dir is not None and _RELATIVE.fullmatch(relative or ""):
        (backend.files_dir / relative).unlink(missing_ok=True)


def remove_stored(backend: Backend, relatives: Iterable[str]) -> None:
    """Delete the files of deleted fields, and their run's folder once it is empty."""
    folder = backend.files_dir
    if folder is None:
        return
    for relative in relatives:
        if not _RELATIVE.fullmatch(relative or ""):
            continue  # not followed, as above
        path = folder / relative
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:  # not empty: another field's file, or a reused run id's
            pass


def read(backend: Backend, run_id: int, name: str, row: tuple[Any, ...]) -> Any:
    """The large value of a stored field row (kind, 4 value columns, chunks)."""
    kind, chunks = row[0], row[5]
    what = f"field {name!r} of run {run_id}"
    pieces = (
        _file_pieces(backend, row[3], what) if chunks == EXTERNAL
        else _table_pieces(backend, run_id, name, chunks, what)
    )  # fmt: skip
    if kind in ("npy", "npscalar"):
        from tracker import arrays

        try:
            return arrays.decode_chunks(kind, pieces)  # filled in place: no second copy
        except TrackerError:
            raise
        except Exception as exc:
            raise V.damaged(what, exc) from None
    return V.decode(Encoded(kind, blob=b"".join(pieces)), what)


def _table_pieces(
    backend: Backend, run_id: int, name: str, count: int, what: str
) -> Iterator[bytes]:
    for seq in range(count):
        found = backend.read(
            "SELECT data FROM chunks WHERE run_id = ? AND name = ? AND seq = ?",
            (run_id, name, seq),
        )
        if not found:
            raise TrackerError(f"{what}: piece {seq} of {count} is missing")
        yield bytes(found[0][0])


def _file_pieces(backend: Backend, relative: str, what: str) -> Iterator[bytes]:
    folder = backend.files_dir
    # a path from the database is data: only names this module writes are followed
    if folder is None or not _RELATIVE.fullmatch(relative or ""):
        raise TrackerError(f"{what} points at {relative!r}, not a file this tracker wrote")
    path: Path = folder / relative
    try:
        with open(path, "rb") as source:
            while piece := source.read(CHUNK_BYTES):
                yield piece
    except FileNotFoundError:
        raise TrackerError(
            f"{what} is stored in {path}, which is missing; copy the database together with "
            f"its {folder.name} folder"
        ) from None
