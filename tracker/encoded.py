"""A value as stored: its kind, its native columns and its bytes (see tracker.values)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

# Blobs larger than this are stored in pieces (one SQLite BLOB holds at most 10^9 bytes, and
# pieces keep peak memory near the value's own size when storing and loading).
CHUNK_BYTES = 16 * 1024 * 1024


class Encoded(NamedTuple):
    """A value as stored: its kind, its native columns, and its bytes (possibly in parts)."""

    kind: str
    real: float | None = None
    integer: int | None = None
    text: str | None = None
    blob: bytes | None = None
    parts: tuple[Any, ...] = ()  # for large values: header bytes then memoryviews, not joined

    @property
    def nbytes(self) -> int:
        """Size of the stored bytes."""
        return len(self.blob) if self.blob is not None else sum(len(p) for p in self.parts)

    def chunks(self) -> Iterator[Any]:
        """The stored bytes in pieces of at most CHUNK_BYTES, without copying the data."""
        for part in self.parts or (self.blob,):
            view = memoryview(part).cast("B")
            for start in range(0, len(view), CHUNK_BYTES):
                yield view[start : start + CHUNK_BYTES]
