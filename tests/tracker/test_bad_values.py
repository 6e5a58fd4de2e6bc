"""One bad value fails the call that brings it, and nothing else: every good value is stored."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tracker
from tracker.encoded import CHUNK_BYTES

LONE = "\ud800"  # a lone surrogate: what decoding bytes with errors="surrogateescape" leaves

# Each of these failed only when written, and the run lost every value with it.
BAD_CALLS: dict[str, Callable[[tracker.Run], Any]] = {
    "step 2**63": lambda run: run.log({"x": 1.0}, step=2**63),
    "step -2**63-1": lambda run: run.log({"x": 1.0}, step=-(2**63) - 1),
    "surrogate metric name": lambda run: run.log({f"m{LONE}": 1.0}),
    "surrogate field name": lambda run: run.__setitem__(f"f{LONE}", 1),
    "long metric name": lambda run: run.log({"m" * 3000: 1.0}),
    "long field name": lambda run: run.__setitem__("f" * 3000, 1),
    "numpy int without a float64": lambda run: run.log({"x": np.int64(2**53 + 1)}),
    "text metric": lambda run: run.log({"x": "text"}),
    "surrogate param": lambda run: run.params.__setitem__(f"p{LONE}", 1),
    "surrogate tag": lambda run: run.tags.append(f"t{LONE}"),
}


def _stored(url: str, run_id: int) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The run's status, metrics and fields as a new connection reads them."""
    with tracker.connect(url) as reader:
        run = reader.get_run(run_id)
        names = run.keys()
        return run.status, run.metrics(), {name: run[name] for name in names}


@pytest.mark.parametrize("call", BAD_CALLS)
def test_a_bad_call_fails_alone_and_the_run_keeps_every_good_value(db_url: str, call: str) -> None:
    db = tracker.connect(db_url)
    run = db.experiment("e").run()
    for step in range(500):
        run.log({"good": float(step)}, step=step)
    with pytest.raises(tracker.TrackerError):
        BAD_CALLS[call](run)
    for step in range(500, 1000):
        run.log({"good": float(step)}, step=step)
    run["after"] = "kept"
    run.end()
    db.close()
    status, metrics, fields = _stored(db_url, run.id)
    assert status == "COMPLETED"
    assert metrics == {"good": [(s, float(s)) for s in range(1000)]}
    assert fields == {"after": "kept"}
    assert run.rejected == []


@pytest.mark.parametrize(
    "value",
    [{"k": f"v{LONE}"}, [f"v{LONE}"], {f"k{LONE}": 1}, f"text{LONE}"],
    ids=["dict value", "list item", "dict key", "str"],
)
def test_text_that_is_not_utf8_inside_fields_is_stored(db: tracker.Database, value: Any) -> None:
    with db.experiment("e").run() as run:
        run["v"] = value
    assert db.get_run(run.id)["v"] == value


@pytest.mark.parametrize("kind", ["str", "json"])
def test_text_over_16_mib_is_stored_as_large_values_are(db: tracker.Database, kind: str) -> None:
    text = "ü" * (CHUNK_BYTES // 2 + 10)  # two UTF-8 bytes each: over CHUNK_BYTES
    value: Any = text if kind == "str" else {"t": text}
    with db.experiment("e").run() as run:
        run["big"] = value
        with pytest.raises(tracker.TrackerError, match="store it as a field"):
            run.params["big"] = text
    assert db.get_run(run.id)["big"] == value


def _refuse_in_the_database(db: tracker.Database) -> None:
    """A rule the tracker cannot check before writing: the database refuses one name."""
    if db.backend.dialect == "sqlite":
        statements = [
            "CREATE TRIGGER poison BEFORE INSERT ON metrics WHEN NEW.name = 'poison'"
            " BEGIN SELECT RAISE(ABORT, 'poisoned value'); END",
            "CREATE TRIGGER poison_field BEFORE INSERT ON fields WHEN NEW.name = 'poison'"
            " BEGIN SELECT RAISE(ABORT, 'poisoned value'); END",
        ]
    else:
        statements = [
            "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN IF NEW.name = 'poison' THEN"
            " RAISE EXCEPTION 'poisoned value' USING ERRCODE = 'check_violation'; END IF;"
            " RETURN NEW; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER poison BEFORE INSERT ON metrics FOR EACH ROW EXECUTE FUNCTION poison()",
            "CREATE TRIGGER poison_field BEFORE INSERT ON fields FOR EACH ROW"
            " EXECUTE FUNCTION poison()",
        ]

    def create(tx: Any) -> None:
        for statement in statements:
            tx.execute(statement)

    db.backend.write(create)


def test_a_value_the_database_refuses_is_set_aside_and_the_rest_stored(db_url: str) -> None:
    db = tracker.connect(db_url)
    _refuse_in_the_database(db)
    run = db.experiment("e").run()
    for step in range(1000):
        run.log({"good": float(step), **({"poison": 1.0} if step == 617 else {})}, step=step)
    run["poison"] = "field"
    run["fine"] = 2
    with pytest.warns(tracker.TrackerWarning, match="refused 2 value"):
        run.end()
    assert [(r.name, r.step, r.value) for r in run.rejected] == [
        ("poison", 617, 1.0),
        ("poison", None, run.rejected[1].value),
    ]
    assert "poisoned value" in run.rejected[0].reason
    db.close()
    status, metrics, fields = _stored(db_url, run.id)
    assert status == "COMPLETED"
    assert metrics == {"good": [(s, float(s)) for s in range(1000)]}
    assert fields == {"fine": 2}


def _same(a: Any, b: Any) -> bool:
    """Equal with the same type, NaN equal to NaN and -0.0 apart from 0.0."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return (a != a and b != b) or (a == b and str(a) == str(b))
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


any_text = st.text(st.characters(codec=None, exclude_categories=()))  # surrogates and NUL too
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | any_text
    | st.binary()
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)
good_names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=values, name=good_names)
def test_any_value_comes_back_the_same(db: tracker.Database, value: Any, name: str) -> None:
    with db.experiment("round-trip").run() as run:
        run[name] = value
        run.params[name] = value
    stored = db.get_run(run.id)
    assert _same(stored[name], value) and _same(stored.params[name], value)


bad_calls = st.sampled_from(sorted(BAD_CALLS))
metrics = st.dictionaries(
    good_names.filter(lambda n: len(n.encode()) < 100),
    st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**53), 2**53) | st.none(),
    min_size=1,
    max_size=5,
)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(calls=st.lists(metrics, min_size=1, max_size=40), bad=bad_calls, where=st.integers(0, 40))
def test_random_good_values_with_one_bad_call_among_them_are_all_stored(
    db: tracker.Database, calls: list[dict[str, Any]], bad: str, where: int
) -> None:
    run = db.experiment("fuzz").run()
    expected: dict[str, list[tuple[int, Any]]] = {}
    for step, values in enumerate(calls):
        if step == min(where, len(calls) - 1):
            with pytest.raises(tracker.TrackerError):
                BAD_CALLS[bad](run)
        run.log(values, step=step)
        for name, value in values.items():
            expected.setdefault(name, []).append((step, None if value is None else float(value)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing was set aside
        run.end()
    stored = db.get_run(run.id).metrics()
    assert sorted(stored) == sorted(expected)
    assert all(_same(stored[name], expected[name]) for name in expected)
