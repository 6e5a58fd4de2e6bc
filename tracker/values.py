"""How values keep their type and bits in plain SQL columns.

A stored value is a row of (kind, value_real, value_int, value_text, value_blob). Scalars use
the native column of their type; the rest are bytes in a documented format:

    none      -                       bool/int  value_int           bigint  value_text (decimal)
    float     value_real (+ value_blob = the 8 IEEE bytes when SQL cannot hold it: NaN, -0.0)
    str       value_text              bytes     value_blob          json    value_text
              (str and json over 16 MiB: their UTF-8 bytes, stored as large values are)
    datetime  value_text (ISO 8601; a zoneinfo zone's key follows in brackets, as RFC 9557
              writes it: 2026-03-29T03:30:00+02:00[Europe/Paris])
    date      value_text (ISO 8601)
    npy       NumPy array, NPY format          npscalar  NumPy scalar as a 0-d NPY array
    arrow     Arrow table, IPC stream          pandas    DataFrame via Arrow, IPC stream
    pickle    any other value, loaded only through the allow-list (tracker.safepickle)

NumPy, pandas and PyArrow are imported only when a value of theirs is stored or loaded; so
are json, datetime, zoneinfo and pickle, to keep `import tracker` cheap. A stored value that
cannot be read back (damaged bytes) raises TrackerError, whatever its kind.
"""

from __future__ import annotations

import math
import struct
from typing import Any

from tracker.encoded import CHUNK_BYTES, Encoded
from tracker.errors import TrackerError

_F64 = struct.Struct("<d")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Kinds whose loading is cheap enough for runs_df() to include them by default.
SCALAR_KINDS = (
    "none",
    "bool",
    "int",
    "bigint",
    "float",
    "str",
    "bytes",
    "json",
    "datetime",
    "date",
    "npscalar",
)
# Every kind decode() can read.
ALL_KINDS = (*SCALAR_KINDS, "npy", "arrow", "pandas", "pickle")


def float_columns(value: float) -> tuple[float | None, bytes | None]:
    """A float as (value_real, value_blob): the blob keeps what a SQL REAL loses."""
    if value != value:  # NaN: SQLite stores it as NULL, so keep the exact bits apart
        return None, _F64.pack(value)
    if value == 0.0 and math.copysign(1.0, value) < 0:  # -0.0 reads back as 0.0 from SQLite
        return value, _F64.pack(value)
    return value, None


def float_from_columns(real: float | None, blob: bytes | None) -> float | None:
    """The float stored by float_columns (None stays None)."""
    if blob is not None:
        return float(_F64.unpack(blob)[0])
    return None if real is None else float(real)


def metric_columns(name: str, value: Any) -> tuple[float | None, bytes | None]:
    """A metric value as (value, value_bits); metrics are float64 series (None = missing)."""
    kind = type(value)
    if kind is float:
        return float_columns(value)
    if value is None:
        return None, None
    if kind is bool or kind is int or (kind.__module__ == "numpy" and hasattr(value, "dtype")):
        number_kind = "i" if kind is int else "b" if kind is bool else value.dtype.kind
        if number_kind in "fbiu":
            try:
                as_float = float(value)
            except OverflowError:
                as_float = math.nan
            # int(value), not value: NumPy compares an int64 with a float after rounding it
            if number_kind in "iu" and (as_float != as_float or int(as_float) != int(value)):
                raise TrackerError(
                    f"metric {name!r}: the integer {value} has no exact float64 value; "
                    f"store it as a field instead: run[{name!r}] = {value}"
                )
            return float_columns(as_float)
    raise TrackerError(
        f"metric {name!r}: cannot log a value of type {kind.__qualname__}; metrics are numbers "
        f"(float, int, bool) or None; store other values as fields: run[{name!r}] = value"
    )


def _json_exact(value: Any, depth: int = 0) -> bool:
    """Whether JSON gives this value back with the same types (no tuples, int keys, NaN...)."""
    kind = type(value)
    if value is None or kind is bool or kind is int:
        return True
    if kind is str:
        return _utf8(value) is not None
    if kind is float:
        return math.isfinite(value)
    if depth > 100:
        return False
    if kind is list:
        return all(_json_exact(item, depth + 1) for item in value)
    if kind is dict:
        return all(
            type(key) is str and _utf8(key) is not None and _json_exact(item, depth + 1)
            for key, item in value.items()
        )
    return False


def _utf8(text: str) -> bytes | None:
    """The text's UTF-8 bytes if SQL TEXT holds it: PostgreSQL refuses NUL, and lone
    surrogates have no UTF-8 form (such strings are pickled)."""
    if "\x00" in text:
        return None
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return None


def _text(kind: str, text: str, data: bytes) -> Encoded:
    """Text in value_text, or as bytes stored in pieces when it is over CHUNK_BYTES."""
    return Encoded(kind, blob=data) if len(data) > CHUNK_BYTES else Encoded(kind, text=text)


def encode(value: Any, what: str) -> Encoded:
    """The stored form of any supported value; `what` names it in error messages."""
    kind = type(value)
    if value is None:
        return Encoded("none")
    if kind is bool:
        return Encoded("bool", integer=int(value))
    if kind is int:
        if INT64_MIN <= value <= INT64_MAX:
            return Encoded("int", integer=value)
        return Encoded("bigint", text=str(value))
    if kind is float:
        real, bits = float_columns(value)
        return Encoded("float", real=real, blob=bits)
    if kind is str:
        data = _utf8(value)
        if data is not None:
            return _text("str", value, data)
    if kind is bytes:
        return Encoded("bytes", blob=value)
    if (kind is dict or kind is list) and _json_exact(value):
        import json

        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        return _text("json", text, text.encode("utf-8"))
    module = kind.__module__.partition(".")[0]
    if module == "datetime":
        import datetime as dt

        zone = value.tzinfo if kind is dt.datetime else None
        if kind is dt.datetime and (zone is None or type(zone) is dt.timezone):
            return Encoded("datetime", text=value.isoformat())
        if type(zone).__module__.startswith("zoneinfo"):  # imported already: a zone is here
            from zoneinfo import ZoneInfo

            if type(zone) is ZoneInfo and zone.key is not None:
                return Encoded("datetime", text=f"{value.isoformat()}[{zone.key}]")
        if kind is dt.date:
            return Encoded("date", text=value.isoformat())
    elif module == "numpy":
        from tracker import arrays  # NumPy only when a NumPy value is stored

        encoded = arrays.encode(value)
        if encoded is not None:
            return encoded
    elif module == "pandas" and kind.__name__ == "DataFrame":
        from tracker import tables

        return tables.encode_dataframe(value, what)
    elif module == "pyarrow" and kind.__name__ == "Table":
        from tracker import tables

        return tables.encode_table(value)
    from tracker import safepickle

    return Encoded("pickle", blob=safepickle.dumps(value, what))


def damaged(what: str, exc: Exception) -> TrackerError:
    """The error for a stored value whose bytes cannot be read back as its kind."""
    reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
    return TrackerError(
        f"{what} is damaged ({reason}); restore the database from a copy or store the value again"
    )


def decode(enc: Encoded, what: str) -> Any:
    """The value stored as `enc` (whose blob holds all its bytes), same type and bits."""
    try:
        return _decode(enc, what)
    except TrackerError:
        raise
    except Exception as exc:  # bytes changed on disk or by hand: any error a parser raises
        raise damaged(what, exc) from None


def _zoned_datetime(text: str) -> Any:
    """A datetime written with its zone key; the stored offset chooses the fold."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    stamp, _, key = text[:-1].partition("[")
    fixed = dt.datetime.fromisoformat(stamp)
    zone = ZoneInfo(key)
    for fold in (0, 1):
        zoned = fixed.replace(tzinfo=zone, fold=fold)
        if zoned.utcoffset() == fixed.utcoffset():
            return zoned
    # The zone's rules changed since the value was stored: the offset keeps the instant.
    return fixed.astimezone(zone)


def _decode(enc: Encoded, what: str) -> Any:
    kind = enc.kind
    if kind == "none":
        return None
    if kind == "bool":
        return bool(enc.integer)
    if kind == "int":
        return int(enc.integer)  # type: ignore[arg-type]
    if kind == "float":
        return float_from_columns(enc.real, enc.blob)
    if kind == "str":
        return enc.text if enc.text is not None else bytes(enc.blob or b"").decode("utf-8")
    if kind == "bytes":
        return bytes(enc.blob or b"")
    if kind == "bigint":
        return int(enc.text)  # type: ignore[arg-type]
    if kind == "json":
        import json

        return json.loads(enc.text if enc.text is not None else bytes(enc.blob or b""))
    if kind == "datetime" and enc.text is not None and enc.text.endswith("]"):
        return _zoned_datetime(enc.text)
    if kind in ("datetime", "date"):
        import datetime as dt

        return getattr(dt, kind).fromisoformat(enc.text)
    if kind in ("npy", "npscalar"):
        from tracker import arrays

        return arrays.decode(enc.kind, bytes(enc.blob or b""))
    if kind in ("arrow", "pandas"):
        from tracker import tables

        return tables.decode(enc.kind, enc.blob or b"")
    if kind == "pickle":
        from tracker import safepickle

        return safepickle.loads(bytes(enc.blob or b""), what)
    raise TrackerError(
        f"{what} has kind {kind!r}, which this version of the tracker cannot read; upgrade it"
    )
