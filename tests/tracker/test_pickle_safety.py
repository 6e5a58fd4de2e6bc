"""Pickles load only through the allow-list; a refused pickle executes nothing."""

from __future__ import annotations

import collections
import datetime as dt
import json
import pickle
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

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


def _global(module: str, name: str) -> bytes:
    """Pickle opcodes that push module.name (STACK_GLOBAL)."""
    return pickle.dumps(module, protocol=4)[2:-1] + pickle.dumps(name, protocol=4)[2:-1] + b"\x93"


def _data(value: object) -> bytes:
    """Pickle opcodes that push a plain value."""
    return pickle.dumps(value, protocol=4)[2:-1]


PROGRAM_NAMES = [
    *(
        f"builtins.{name}"
        for name in (
            "getattr", "setattr", "delattr", "eval", "exec", "compile", "__import__", "open",
            "globals", "locals", "vars", "breakpoint", "input", "__build_class__",
        )
    ),
    "os.system", "os.path.join", "posix.system", "nt.system", "subprocess.Popen", "sys.exit",
    "shutil.rmtree", "importlib.import_module", "pickle.loads", "marshal.loads",
    "ctypes.CDLL", "socket.socket", "runpy.run_path", "code.interact", "types.FunctionType",
    "functools.partial", "operator.attrgetter", "_operator.methodcaller", "io.open",
    "__builtin__.getattr", "pathlib.__reduce__",
]  # fmt: skip


@pytest.mark.parametrize("name", PROGRAM_NAMES)
def test_allow_pickle_refuses_names_that_run_code(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracker import allowlist

    monkeypatch.setattr(allowlist, "_ALLOWED", set(allowlist._ALLOWED))
    before = set(allowlist._ALLOWED)
    with pytest.raises(tracker.TrackerError, match=r"refuses .*run any code.*native form"):
        tracker.allow_pickle("fractions.Fraction", name)
    assert before == allowlist._ALLOWED


def test_following_the_old_advice_for_getattr_is_refused_and_a_getattr_pickle_never_runs(
    db: tracker.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tracker import allowlist

    monkeypatch.setattr(allowlist, "_ALLOWED", set(allowlist._ALLOWED))
    with (
        db.experiment("zones").run() as run,
        pytest.raises(tracker.TrackerError, match="cannot be stored safely") as refused,
    ):
        run["t"] = dt.time(1, tzinfo=ZoneInfo("Europe/Paris"))  # pickles via builtins.getattr
    assert "allow_pickle" not in str(refused.value)
    with pytest.raises(tracker.TrackerError, match="run any code"):
        tracker.allow_pickle("builtins.getattr")
    sentinel = tmp_path / "pwned"
    # getattr(PosixPath, "write_text")(PosixPath(sentinel), "pwned")
    hostile = (
        b"\x80\x04"
        + _global("builtins", "getattr")
        + _global("pathlib", "PosixPath")
        + _data("write_text")
        + b"\x86R"  # TUPLE2, REDUCE
        + _global("pathlib", "PosixPath")
        + _data((str(sentinel),))
        + b"R"
        + _data("pwned")
        + b"\x86R."
    )
    run_id = _plant(db, hostile)
    with pytest.raises(tracker.TrackerError, match=r"builtins\.getattr.*nothing was executed"):
        db.get_run(run_id)["evil"]
    assert not sentinel.exists()


def _reconstruct_module() -> str:
    import numpy as np

    return np.arange(1).__reduce__()[0].__module__  # numpy.core or numpy._core


HUGE_PICKLES = {
    # bytearray(10**9): a gigabyte of zeros from 20 bytes
    "bytearray": lambda: _payload("builtins", "bytearray", 10**9),
    # set(range(10**9)): tens of gigabytes from two allowed names
    "set of a range": lambda: _payload("builtins", "set", range(10**9)),
    "deque of a range": lambda: _payload("collections", "deque", range(10**9)),
    # _reconstruct(ndarray, (10**8,), dtype("O")): 800 MB of object pointers
    "ndarray": lambda: (
        b"\x80\x04"
        + _global(_reconstruct_module(), "_reconstruct")
        + _global("numpy", "ndarray")
        + _data((10**8,))
        + _global("numpy", "dtype")
        + _data(("O",))
        + b"R\x87R."  # REDUCE (the dtype), TUPLE3, REDUCE
    ),
}

_READ_AND_MEASURE = """
import json, resource, sys, tracker
db = tracker.connect(sys.argv[1])
run = db.get_run(int(sys.argv[2]))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    run["evil"]
    outcome = "loaded"
except tracker.TrackerError as exc:
    outcome = str(exc)
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps([outcome, grown * 1024]))
"""


@pytest.mark.parametrize("case", HUGE_PICKLES)
def test_a_tiny_pickle_asking_for_a_huge_allocation_is_refused(
    db: tracker.Database, db_url: str, case: str
) -> None:
    run_id = _plant(db, HUGE_PICKLES[case]())
    script = "import numpy, pandas\n" + _READ_AND_MEASURE  # loaded before measuring
    result = subprocess.run(
        [sys.executable, "-c", script, db_url, str(run_id)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    outcome, grown = json.loads(result.stdout.splitlines()[-1])
    assert outcome.startswith("refused to load field 'evil'"), outcome
    assert "nothing was allocated" in outcome
    assert grown < 100 * 2**20


def test_real_pickles_of_bytearrays_and_arrays_still_load(db: tracker.Database) -> None:
    import numpy as np

    value = {
        "bytes": bytearray(b"ab\x00c"),
        "empty": bytearray(),
        "array": np.arange(6, dtype="f4").reshape(2, 3),
        "objects": np.array([1, "a", None], dtype=object),
        "empty_array": np.zeros((0, 4)),
        "containers": [{1, 2}, frozenset({3}), collections.deque([4], maxlen=3)],
        "counted": [collections.Counter("aab"), collections.OrderedDict(a=1)],
    }
    run_id = _plant(db, pickle.dumps(value, protocol=4))  # NumPy's _reconstruct and bytearray()
    got = db.get_run(run_id)["evil"]
    assert got.keys() == value.keys()
    for name in ("bytes", "empty"):
        assert type(got[name]) is bytearray and got[name] == value[name]
    for name in ("array", "objects", "empty_array"):
        assert got[name].dtype == value[name].dtype and got[name].shape == value[name].shape
        assert got[name].tolist() == value[name].tolist()
    with db.experiment("ok").run() as run:
        run["v"] = [bytearray(b"xyz"), {1, 2}]  # what the tracker itself writes (protocol 5)
    assert db.get_run(run.id)["v"] == [bytearray(b"xyz"), {1, 2}]
