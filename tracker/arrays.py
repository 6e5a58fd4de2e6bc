"""NumPy arrays and scalars in NPY format, written and read in pieces without extra copies."""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.lib import format as npy

from tracker.encoded import CHUNK_BYTES, Encoded


def encode(value: Any) -> Encoded | None:
    """NPY form of a NumPy array or scalar; None for what NPY cannot hold without pickling."""
    if isinstance(value, np.generic):
        kind, array = "npscalar", np.asarray(value)
    elif type(value) is np.ndarray:
        kind, array = "npy", value
    else:
        return None
    if array.dtype.hasobject:
        return None
    if not (array.flags.c_contiguous or array.flags.f_contiguous):
        array = np.ascontiguousarray(array)
    header = _header(array)
    # ravel(order="A") is a view for C- and F-contiguous arrays: the bytes are not copied.
    data = array.ravel(order="A").view(np.uint8).data
    if len(header) + len(data) <= CHUNK_BYTES:
        return Encoded(kind, blob=b"".join((header, data)))
    return Encoded(kind, parts=(header, data))


def _header(array: np.ndarray) -> bytes:
    fields = npy.header_data_from_array_1_0(array)
    out = io.BytesIO()
    try:
        npy.write_array_header_1_0(out, fields)
    except ValueError:  # a header over 64 KiB (huge structured dtypes) needs format 2.0
        out = io.BytesIO()
        npy.write_array_header_2_0(out, fields)
    return out.getvalue()


def decode(kind: str, data: bytes) -> Any:
    """The array (or scalar) stored in `data`."""
    return decode_chunks(kind, (data,))


def decode_chunks(kind: str, chunks: Iterable[bytes]) -> Any:
    """The array (or scalar) stored in consecutive pieces, filled in place piece by piece."""
    pending = b""
    target = None
    filled = 0
    for chunk in chunks:
        if target is None:
            pending += chunk
            parsed = _parse_header(pending)
            if parsed is None:
                continue
            array, offset = parsed
            target = array.ravel(order="A").view(np.uint8)
            chunk, pending = pending[offset:], b""
        target[filled : filled + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
        filled += len(chunk)
    if target is None or filled != target.size:
        raise ValueError("stored NPY data is truncated")
    return array[()] if kind == "npscalar" else array


def _parse_header(data: bytes) -> tuple[np.ndarray, int] | None:
    """An empty array shaped by the NPY header, and the header's length; None if incomplete."""
    if len(data) < 12:
        return None
    stream = io.BytesIO(data)
    major, _ = npy.read_magic(stream)
    size_bytes = 2 if major == 1 else 4
    length = int.from_bytes(data[8 : 8 + size_bytes], "little")
    if len(data) < 8 + size_bytes + length:
        return None
    stream.seek(0)
    npy.read_magic(stream)
    read = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
    shape, fortran_order, dtype = read(stream)
    if dtype.hasobject:  # never written (see encode); np.empty would touch all its memory
        raise ValueError("the NPY header names an object dtype")
    return np.empty(shape, dtype=dtype, order="F" if fortran_order else "C"), stream.tell()
