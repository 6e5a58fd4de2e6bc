"""A stored field row back to its value: small ones from their columns, large ones in pieces."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker import values as V
from tracker.encoded import Encoded

if TYPE_CHECKING:
    from tracker.backends import Backend


def load(backend: Backend, run_id: int, name: str, row: tuple[Any, ...]) -> Any:
    """Decode a stored field row (kind, 4 value columns, chunks), reading its pieces if any."""
    if not row[5]:
        return V.decode(Encoded(*row[:5]), f"field {name!r} of run {run_id}")
    from tracker import blobs  # large values only: it imports re, uuid and pathlib

    return blobs.read(backend, run_id, name, row)
