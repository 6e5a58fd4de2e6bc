"""The classes a stored pickle may name (kept apart from pickle itself, which loads lazily)."""

from __future__ import annotations

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


def allowed(module: str, name: str) -> bool:
    """Whether a stored pickle may name module.name."""
    # NumPy 2 pickles dtypes through classes such as numpy.dtypes.Float64DType.
    return (module, name) in _ALLOWED or (module == "numpy.dtypes" and name.endswith("DType"))
