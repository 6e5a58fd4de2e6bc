"""Pickles that load only through an allow-list: a pickle naming any other callable is refused.

The check happens in `Unpickler.find_class`, before any callable named by the pickle is
looked up, so a refused pickle executes nothing.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

from tracker.allowlist import allowed
from tracker.errors import TrackerError


class _Refused(pickle.UnpicklingError):
    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"{module}.{name}")
        self.qualname = f"{module}.{name}"


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if not allowed(module, name):
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
