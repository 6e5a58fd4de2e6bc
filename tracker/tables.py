"""pandas DataFrames and Arrow tables as Arrow IPC streams."""

from __future__ import annotations

from typing import Any

from tracker.encoded import Encoded
from tracker.errors import TrackerError


def _ipc_bytes(table: Any) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def encode_table(table: Any) -> Encoded:
    """An Arrow table as an IPC stream."""
    return Encoded("arrow", blob=_ipc_bytes(table))


def encode_dataframe(frame: Any, what: str) -> Encoded:
    """A DataFrame through Arrow, keeping its index and dtypes in Arrow's pandas metadata."""
    import pyarrow as pa

    if not frame.columns.is_unique:  # from_pandas refuses them with an error naming no fix
        repeated = sorted({str(name) for name in frame.columns[frame.columns.duplicated()]})
        raise TrackerError(
            f"cannot store {what}: the DataFrame has duplicate column names {repeated}; rename "
            f"the columns so that each name is unique"
        )
    try:
        table = pa.Table.from_pandas(frame, preserve_index=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise TrackerError(
            f"cannot store {what}: Arrow cannot hold this DataFrame ({exc}); convert its "
            f"mixed-type columns to one type first"
        ) from None
    return Encoded("pandas", blob=_ipc_bytes(table))


def decode(kind: str, data: bytes) -> Any:
    """The Arrow table or DataFrame in an IPC stream."""
    import pyarrow as pa

    table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    # Reading checks only the stream's framing: damaged offsets or lengths would make
    # to_pandas(), or the caller's own use of the table, read outside its buffers.
    table.validate(full=True)
    return table.to_pandas() if kind == "pandas" else table
