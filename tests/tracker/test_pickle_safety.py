"""Pickles load only through the allow-list; a refused pickle executes nothing."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import tracker


def _payload(module: str, name: str, arg: object) -> bytes:
    """A protocol-4 pickle that calls module.name(arg) when loaded (STACK_GLOBAL + REDUCE)."""
    return (
        b"\x80\x04"
        + pickle.dumps(module, protocol=4)[2:-1]
        + pickle.dumps(name, protocol=4)[2:-1]
        + b"\x93"  # STACK_GLOBAL
        + pickle.dumps(arg, protocol=4)[2:-1]
        + b"\x85R."  # TUPLE1, REDUCE, STOP
    )


def _plant(db: tracker.Database, blob: bytes) -> int:
    """Store a raw pickle blob as a field, the way a hostile database file would hold it."""
    with db.experiment("hostile").run() as run:
        run["evil"] = "placeholder"
    db.backend.write(
        lambda tx: tx.execute(
            "UPDATE fields SET kind = 'pickle', value_text = NULL, value_blob = ?"
            " WHERE run_id = ? AND name = 'evil'",
            (blob, run.id),
        )
    )
    return run.id


@pytest.mark.parametrize(
    ("module", "name", "command"),
    [
        ("posix", "system", "touch {sentinel}"),
        ("os", "system", "touch {sentinel}"),
        ("builtins", "eval", "open({sentinel!r}, 'w')"),
        ("builtins", "exec", "open({sentinel!r}, 'w')"),
        ("subprocess", "Popen", ["touch", "{sentinel}"]),
    ],
)
def test_hostile_pickles_are_refused_and_never_run(
    db: tracker.Database, tmp_path: Path, module: str, name: str, command: object
) -> None:
    sentinel = str(tmp_path / "pwned")
    arg = (
        [part.format(sentinel=sentinel) for part in command]
        if isinstance(command, list)
        else str(command).format(sentinel=sentinel)
    )
    run_id = _plant(db, _payload(module, name, arg))
    with pytest.raises(tracker.TrackerError, match=rf"{module}\.{name}.*nothing was executed"):
        db.get_run(run_id)["evil"]
    assert not Path(sentinel).exists()


def test_allowed_containers_round_trip(db: tracker.Database) -> None:
    value = {"set": {1, 2}, "tuple": (1, "a"), "frozen": frozenset({3})}
    with db.experiment("ok").run() as run:
        run["v"] = value
    assert db.get_run(run.id)["v"] == value


class Custom:
    """A user class that is not on the allow-list until the user allows it."""

    def __init__(self, x: int) -> None:
        self.x = x

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Custom) and other.x == self.x


def test_unknown_classes_need_allow_pickle(
    db: tracker.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracker import allowlist

    # the allow-list is process-wide: give this test its own copy
    monkeypatch.setattr(allowlist, "_ALLOWED", set(allowlist._ALLOWED))
    with db.experiment("custom").run() as run:
        with pytest.raises(tracker.TrackerError, match="allow_pickle"):
            run["c"] = Custom(1)
        tracker.allow_pickle(f"{__name__}.Custom")
        run["c"] = Custom(2)
    assert db.get_run(run.id)["c"] == Custom(2)
