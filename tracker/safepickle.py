"""Pickles that load only through an allow-list: a pickle naming any other callable is refused.

The check happens in `Unpickler.find_class`, before any callable named by the pickle is
looked up, so a refused pickle executes nothing.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from tracker.errors import TrackerError

# (module, name) pairs a stored pickle may name. Only constructors of plain data types:
# none of them runs code chosen by the pickle's author.
_ALLOWED: set[tuple[str, str]] = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("builtins", "complex"),
    ("builtins", "bytearray"),
    ("builtins", "slice"),
    ("builtins", "range"),
    ("collections", "OrderedDict"),
    ("collections", "deque"),
    ("collections", "Counter"),
    ("datetime", "datetime"),
    ("datetime", "date"),
    ("datetime", "time"),
    ("datetime", "timedelta"),
    ("datetime", "timezone"),
    ("decimal", "Decimal"),
    ("fractions", "Fraction"),
    ("uuid", "UUID"),
    ("pathlib", "PurePosixPath"),
    ("pathlib", "PosixPath"),
    ("pathlib", "PureWindowsPath"),
    # NumPy arrays and scalars inside containers (numpy 1.x and 2.x module paths)
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
}


def allow_pickle(*names: str) -> None:
    """Allow stored pickles to name these classes ("package.module.Class"); trust them first."""
    for name in names:
        module, _, attr = name.rpartition(".")
        if not module or not attr:
            raise TrackerError(f"allow_pickle needs 'module.Name', got {name!r}")
        _ALLOWED.add((module, attr))


def _allowed(module: str, name: str) -> bool:
    # NumPy 2 pickles dtypes through classes such as numpy.dtypes.Float64DType.
    return (module, name) in _ALLOWED or (module == "numpy.dtypes" and name.endswith("DType"))


class _Refused(pickle.UnpicklingError):
    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.qualname = f"{module}.{name}"


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if not _allowed(module, name):
            raise _Refused(module, name)
        return super().find_class(module, name)


def loads(data: bytes, what: str) -> Any:
    """Load a pickle that names only allowed classes; `what` names the value in errors."""
    try:
        return _SafeUnpickler(io.BytesIO(data)).load()
    except _Refused as exc:
        raise TrackerError(
            f"refused to load {what}: its pickle names {exc.qualname}, which is not on the "
            f"allow-list (nothing was executed); if you trust this database, call "
            f"tracker.allow_pickle({exc.qualname!r}) first"
        ) from None


def dumps(value: Any, what: str) -> bytes:
    """Pickle a value, refusing one that could not be loaded back through the allow-list."""
    try:
        data = pickle.dumps(value, protocol=5)
    except Exception as exc:
        raise TrackerError(
            f"cannot store {what}: a value of type {type(value).__qualname__} cannot be "
            f"pickled ({exc})"
        ) from None
    try:
        _SafeUnpickler(io.BytesIO(data)).load()
    except _Refused as exc:
        raise TrackerError(
            f"cannot store {what}: a value of type {type(value).__qualname__} pickles as "
            f"{exc.qualname}, which is not on the allow-list; store plain data instead, or call "
            f"tracker.allow_pickle({exc.qualname!r}) if that class is safe to load"
        ) from None
    return data
