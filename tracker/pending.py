"""A run's metric values logged and not yet written.

The values are (name, step, value) triples laid end to end in one list, so that `log()`
makes no container the garbage collector tracks: a buffer of tuples sets off a collection
every few dozen calls, and each stalls the call that sets it off. A value SQL cannot hold
exactly (NaN, -0.0) has its IEEE bytes beside, by position. Rows without such bytes are
written without the value_bits parameter: binding None costs sqlite3 more than a float.
"""

from __future__ import annotations

from itertools import repeat
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.backends import Transaction

INSERT_METRIC = "INSERT INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)"
INSERT_METRIC_BITS = (
    "INSERT INTO metrics (run_id, name, step, value, value_bits) VALUES (?, ?, ?, ?, ?)"
)


class Pending:
    """Metric values in the order they were logged: `flat` holds name, step, value for
    each; `bits` maps a value's position to the 8 bytes SQL would lose."""

    __slots__ = ("bits", "flat")

    def __init__(self, flat: list[Any] | None = None, bits: dict[int, bytes] | None = None):
        self.flat: list[Any] = [] if flat is None else flat
        self.bits: dict[int, bytes] = {} if bits is None else bits

    def __len__(self) -> int:
        return len(self.flat) // 3

    def drop_from(self, position: int) -> None:
        """Forget the values from `position` on (a log() call that failed half way)."""
        del self.flat[3 * position :]
        for key in [key for key in self.bits if key >= position]:
            del self.bits[key]

    def value(self, position: int) -> tuple[str, int, float | None, bytes | None]:
        """One value as (name, step, value, value_bits)."""
        name, step, real = self.flat[3 * position : 3 * position + 3]
        return name, step, real, self.bits.get(position)

    def halves(self) -> tuple[Pending, Pending]:
        """The first and the second half, in order."""
        middle = len(self) // 2
        first = {key: bits for key, bits in self.bits.items() if key < middle}
        second = {key - middle: bits for key, bits in self.bits.items() if key >= middle}
        return Pending(self.flat[: 3 * middle], first), Pending(self.flat[3 * middle :], second)

    def insert(self, tx: Transaction, run_id: int) -> None:
        """Insert every value as a metric row of run `run_id`."""
        values = iter(self.flat)
        if not self.bits:
            tx.executemany(INSERT_METRIC, zip(repeat(run_id), values, values, values))
            return
        bits = self.bits.get
        rows = zip(repeat(run_id), values, values, values)
        tx.executemany(INSERT_METRIC_BITS, [(*row, bits(i)) for i, row in enumerate(rows)])


def joined(parts: list[Pending]) -> Pending:
    """The values of several parts, in order, as one."""
    flat: list[Any] = []
    bits: dict[int, bytes] = {}
    for part in parts:
        offset = len(flat) // 3
        bits.update({key + offset: value for key, value in part.bits.items()})
        flat += part.flat
    return Pending(flat, bits)
