"""Pickles that load only through an allow-list: a pickle naming any other callable is refused.

The check happens in `Unpickler.find_class`, before any callable named by the pickle is
looked up, so a refused pickle executes nothing. The few allowed callables that a pickle
could ask for far more memory than it holds get guarded versions.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable
from typing import Any

from tracker.allowlist import allowed, runs_code
from tracker.errors import TrackerError


class _Refused(pickle.UnpicklingError):
    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.module, self.name, self.qualname = module, name, f"{module}.{name}"


class _Oversized(pickle.UnpicklingError):
    """A call real pickles never make, which could allocate any amount of memory."""


def _bytearray(*args: Any) -> bytearray:
    # Real pickles pass the bytes themselves; bytearray(10**9) would allocate a gigabyte.
    if len(args) > 1 or (args and type(args[0]) not in (bytes, bytearray)):
        raise _Oversized(f"calls builtins.bytearray with {type(args[0]).__qualname__}")
    return bytearray(*args)


def _guard_items(constructor: Callable[..., Any], qualname: str) -> Callable[..., Any]:
    def guarded(*args: Any) -> Any:
        # Real pickles hand these constructors the items themselves (a list, a dict, a
        # maxlen); a range, or anything lazy, would let a few bytes fill any amount of memory.
        for arg in args:
            if type(arg) not in _MATERIAL:
                raise _Oversized(f"calls {qualname} with a {type(arg).__qualname__}")
        return constructor(*args)

    return guarded


_MATERIAL = (list, tuple, dict, set, frozenset, int, str, bytes, type(None))
# Allowed constructors that would fill memory from a lazy argument such as range(10**9).
_FILLED_FROM_ITEMS = {
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("collections", "deque"),
    ("collections", "Counter"),
    ("collections", "OrderedDict"),
}


def _guard_reconstruct(reconstruct: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(cls: Any, shape: Any, dtype: Any) -> Any:
        # Real pickles build an empty array and fill it from their data (in BUILD); any
        # other shape allocates memory the pickle does not hold.
        if type(shape) is not tuple or shape != (0,):
            raise _Oversized(f"asks numpy _reconstruct for an array of shape {shape!r:.40}")
        return reconstruct(cls, shape, dtype)

    return guarded


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if not allowed(module, name):
            raise _Refused(module, name)
        found = super().find_class(module, name)
        if module == "builtins" and name == "bytearray":
            return _bytearray
        if (module, name) in _FILLED_FROM_ITEMS:
            return _guard_items(found, f"{module}.{name}")
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            return _guard_reconstruct(found)
        return found


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
    except _Oversized as exc:
        raise TrackerError(
            f"refused to load {what}: its pickle {exc}, which real pickles never do (nothing "
            f"was allocated); the stored value is damaged or hostile, store it again"
        ) from None


def dumps(value: Any, what: str) -> bytes:
    """Pickle a value, refusing one that could not be loaded back through the allow-list."""
    kind = type(value).__qualname__
    try:
        data = pickle.dumps(value, protocol=5)
    except Exception as exc:
        raise TrackerError(
            f"cannot store {what}: a value of type {kind} cannot be pickled ({exc})"
        ) from None
    try:
        _SafeUnpickler(io.BytesIO(data)).load()
    except _Refused as exc:
        if runs_code(exc.module, exc.name):
            raise TrackerError(
                f"cannot store {what}: a value of type {kind} cannot be stored safely (its "
                f"pickle calls {exc.qualname}, which lets a stored pickle run code); store it "
                f"in a native form instead: str, numbers, JSON dicts and lists, a datetime "
                f"or NumPy array as a field of its own"
            ) from None
        raise TrackerError(
            f"cannot store {what}: a value of type {kind} pickles as "
            f"{exc.qualname}, which is not on the allow-list; store plain data instead, or call "
            f"tracker.allow_pickle({exc.qualname!r}) if that class is safe to load"
        ) from None
    except _Oversized as exc:
        raise TrackerError(
            f"cannot store {what}: a value of type {kind} pickles in a way the tracker refuses "
            f"to load (its pickle {exc}); store plain data instead"
        ) from None
    return data
