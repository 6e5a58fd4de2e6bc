"""A run's params and tags: read as a dict and a list; what is added is stored at once.

`run.params["wd"] = 1e-4` and `run.tags.append("late")` write to the database before they
return (the run must be open in this process); removing a param or tag raises, so nothing
a user does to them is silently dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from tracker.errors import TrackerError


def _kept_for_good(what: str) -> NoReturn:
    raise TrackerError(f"a run's {what} can be added or changed, not removed")


class Params(dict[str, Any]):
    """The run's parameters; setting or updating one stores it at once."""

    def __init__(self, stored: Mapping[str, Any], store: Callable[[dict[str, Any]], None]):
        super().__init__(stored)
        self._store = store

    def __setitem__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Store these params (new ones, or new values of existing ones)."""
        items = dict(*args, **kwargs)
        self._store(items)
        super().update(items)

    def setdefault(self, name: str, default: Any = None) -> Any:
        """The param, stored first as `default` if the run has none of that name."""
        if name not in self:
            self[name] = default
        return self[name]

    def __ior__(self, other: Any) -> Params:  # type: ignore[override,misc]
        self.update(other)
        return self

    def __delitem__(self, name: str) -> NoReturn:
        _kept_for_good("params")

    def pop(self, *args: Any) -> NoReturn:
        """Refused: params are kept for good."""
        _kept_for_good("params")

    def popitem(self) -> NoReturn:
        """Refused: params are kept for good."""
        _kept_for_good("params")

    def clear(self) -> NoReturn:
        """Refused: params are kept for good."""
        _kept_for_good("params")


class Tags(list[str]):
    """The run's tags, sorted; adding one stores it at once."""

    def __init__(self, stored: Iterable[str], store: Callable[[list[str]], None]) -> None:
        super().__init__(sorted(stored))
        self._store = store

    def append(self, tag: str) -> None:
        """Store one more tag."""
        self.extend([tag])

    def insert(self, index: Any, tag: str) -> None:
        """Store one more tag (tags are kept sorted, so the index is not used)."""
        self.extend([tag])

    def extend(self, tags: Iterable[str]) -> None:
        """Store these tags."""
        new = list(tags)
        self._store(new)
        super().__init__(sorted(set(self).union(new)))

    def __iadd__(self, tags: Iterable[str]) -> Tags:  # type: ignore[override,misc]
        self.extend(tags)
        return self

    def __setitem__(self, index: Any, value: Any) -> NoReturn:
        _kept_for_good("tags")

    def __delitem__(self, index: Any) -> NoReturn:
        _kept_for_good("tags")

    def remove(self, tag: str) -> NoReturn:
        """Refused: tags are kept for good."""
        _kept_for_good("tags")

    def pop(self, index: Any = -1) -> NoReturn:
        """Refused: tags are kept for good."""
        _kept_for_good("tags")

    def clear(self) -> NoReturn:
        """Refused: tags are kept for good."""
        _kept_for_good("tags")
