"""A run's metric values logged and not yet written.

The values are (name, step, value, logged_at) laid end to end in one list, so that `log()`
makes no container the garbage collector tracks: a buffer of tuples sets off a collection
every few dozen calls, and each stalls the call that sets it off. A value SQL cannot hold
exactly (NaN, -0.0) has its IEEE bytes beside, by position.

A batch without such bytes is written ROWS_PER_STATEMENT rows per INSERT, its parameters
slices of the list: a third of the time of a statement per row, and the writing thread lets
go of the GIL (to let log() run) once per statement, not once per row. Binding None for
value_bits would cost sqlite3 more than binding a float, so those rows leave it out.
"""

from __future__ import annotations

from itertools import repeat
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tracker.backends import Transaction

INSERT_METRICS = "INSERT INTO metrics (run_id, name, step, value, logged_at) VALUES "
INSERT_METRIC_BITS = (
    "INSERT INTO metrics (run_id, name, step, value, logged_at, value_bits)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
WIDTH = 4  # items per value in Pending.flat
ROWS_PER_STATEMENT = 100


def insert_rows(run_id: int, rows: int) -> str:
    """An INSERT of `rows` metric rows of one run (its id written in: an int of ours)."""
    return INSERT_METRICS + ", ".join([f"({int(run_id)}, ?, ?, ?, ?)"] * rows)


class Pending:
    """Metric values in the order they were logged: `flat` holds name, step, value and
    logged_at (Unix seconds) for each; `bits` maps a value's position to the 8 bytes SQL
    would lose."""

    __slots__ = ("bits", "flat")

    def __init__(self, flat: list[Any] | None = None, bits: dict[int, bytes] | None = None):
        self.flat: list[Any] = [] if flat is None else flat
        self.bits: dict[int, bytes] = {} if bits is None else bits

    def __len__(self) -> int:
        return len(self.flat) // WIDTH

    def drop_from(self, position: int) -> None:
        """Forget the values from `position` on (a log() call that failed half way)."""
        del self.flat[WIDTH * position :]
        for key in [key for key in self.bits if key >= position]:
            del self.bits[key]

    def value(self, position: int) -> tuple[str, int, float | None, bytes | None]:
        """One value as (name, step, value, value_bits)."""
        name, step, real, _ = self.flat[WIDTH * position : WIDTH * (position + 1)]
        return name, step, real, self.bits.get(position)

    def halves(self) -> tuple[Pending, Pending]:
        """The first and the second half, in order."""
        middle = len(self) // 2
        first = {key: bits for key, bits in self.bits.items() if key < middle}
        second = {key - middle: bits for key, bits in self.bits.items() if key >= middle}
        cut = WIDTH * middle
        return Pending(self.flat[:cut], first), Pending(self.flat[cut:], second)

    def insert(self, tx: Transaction, run_id: int) -> None:
        """Insert every value as a metric row of run `run_id`."""
        flat = self.flat
        if not self.bits:
            step = WIDTH * ROWS_PER_STATEMENT
            whole = len(flat) // step * step
            if whole:
                pieces = (flat[start : start + step] for start in range(0, whole, step))
                tx.executemany(insert_rows(run_id, ROWS_PER_STATEMENT), pieces)
            if whole < len(flat):
                tx.execute(insert_rows(run_id, (len(flat) - whole) // WIDTH), flat[whole:])
            return
        values = iter(flat)
        bits = self.bits.get
        rows = zip(repeat(run_id), values, values, values, values)
        tx.executemany(INSERT_METRIC_BITS, [(*row, bits(i)) for i, row in enumerate(rows)])


def joined(parts: list[Pending]) -> Pending:
    """The values of several parts, in order, as one."""
    flat: list[Any] = []
    bits: dict[int, bytes] = {}
    for part in parts:
        offset = len(flat) // WIDTH
        bits.update({key + offset: value for key, value in part.bits.items()})
        flat += part.flat
    return Pending(flat, bits)
