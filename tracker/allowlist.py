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

# Builtins that reach any attribute, run source code or touch files and the interpreter: a
# pickle naming one of them is a program, whatever the allow-list is meant to hold.
_PROGRAM_BUILTINS = frozenset(
    {
        "getattr", "setattr", "delattr", "eval", "exec", "compile", "__import__", "open",
        "globals", "locals", "vars", "breakpoint", "input",
    }
)  # fmt: skip
# Modules whose callables run commands or code, or load and call anything by name; with the
# C modules behind some of them, which offer the same callables under another name.
_PROGRAM_MODULES = frozenset(
    {
        "os", "posix", "nt", "subprocess", "sys", "shutil", "importlib", "pickle", "marshal",
        "ctypes", "socket", "runpy", "code", "types", "functools", "operator",
        "io", "_io", "_pickle", "_ctypes", "_socket", "_operator", "_functools",
        "_posixsubprocess",
    }
)  # fmt: skip


def runs_code(module: str, name: str) -> bool:
    """Whether a pickle naming module.name could run code chosen by whoever wrote it."""
    import _compat_pickle  # the Python 2 names find_class maps, e.g. __builtin__ to builtins

    module, name = _compat_pickle.NAME_MAPPING.get(
        (module, name), (_compat_pickle.IMPORT_MAPPING.get(module, module), name)
    )
    if "." in name or name.startswith("__"):  # a dotted name is a chain of getattr calls
        return True
    if module == "builtins":
        return name in _PROGRAM_BUILTINS
    return module.partition(".")[0] in _PROGRAM_MODULES


def allow_pickle(*names: str) -> None:
    """Allow stored pickles to name these classes ("package.module.Class"); trust them first."""
    for name in names:
        module, _, attr = name.rpartition(".")
        if not module or not attr:
            raise TrackerError(f"allow_pickle needs 'module.Name', got {name!r}")
        if runs_code(module, attr):
            raise TrackerError(
                f"allow_pickle refuses {name!r}: it lets a stored pickle run any code when "
                f"it is loaded; store such values in a native form instead (numbers, str, "
                f"JSON dicts and lists, datetimes, NumPy arrays, DataFrames, Arrow tables)"
            )
    for name in names:  # all or nothing: a refused name allows none of the others
        module, _, attr = name.rpartition(".")
        _ALLOWED.add((module, attr))


def allowed(module: str, name: str) -> bool:
    """Whether a stored pickle may name module.name."""
    # NumPy 2 pickles dtypes through classes such as numpy.dtypes.Float64DType.
    return (module, name) in _ALLOWED or (module == "numpy.dtypes" and name.endswith("DType"))
