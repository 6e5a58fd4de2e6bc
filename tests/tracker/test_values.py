"""Values keep their type and bits on every backend."""

from __future__ import annotations

import datetime as dt
import math
import struct
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import tracker


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


SCALARS = {
    "nan": float("nan"),
    "nan_payload": struct.unpack("<d", b"\x01\x00\x00\x00\x00\x00\xf8\x7f")[0],
    "inf": float("inf"),
    "-inf": float("-inf"),
    "-0.0": -0.0,
    "0.0": 0.0,
    "tiny": 5e-324,
    "pi": math.pi,
    "int_min": -(2**63),
    "int_max": 2**63 - 1,
    "bigint": 2**100,
    "true": True,
    "false": False,
    "none": None,
    "unicode": "ünïcødé 名前 🎉 \u200b",
    "nul_text": "a\x00b",
    "surrogate": "\ud800",
    "empty": "",
    "bytes": bytes(range(256)),
    "naive": dt.datetime(2026, 11, 23, 4, 5, 6, 789012),
    "aware": dt.datetime(2026, 11, 23, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=-3))),
    "date": dt.date(1999, 12, 31),
    "nested": {"a": [1, 2.5, {"b": None, "c": True}], "d": "x", "e": -0.0},
    "list": [1, "two", [3.0]],
    "tuple_inside": {"t": (1, 2), "s": {1, 2}, 3: "int key", "f": float("nan")},
    "complex": 1 + 2j,
    "timedelta": dt.timedelta(days=2, microseconds=3),
}


def same(a, b) -> bool:
    """Equal with the same types all the way down, NaN equal to itself by bits."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return bits(a) == bits(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def test_scalars_keep_type_and_bits(db: tracker.Database) -> None:
    exp = db.experiment("values")
    with exp.run(params=SCALARS) as run:
        for name, value in SCALARS.items():
            run[name] = value
    fresh = db.get_run(run.id)
    for name, value in SCALARS.items():
        assert same(fresh[name], value), name
        assert same(fresh.params[name], value), name


def array_cases() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    cases = {
        f"dtype_{dtype}": (rng.standard_normal(24) * 100).astype(dtype).reshape(2, 3, 4)
        for dtype in (
            "f2",
            "f4",
            "f8",
            "i1",
            "i2",
            "i4",
            "i8",
            "u1",
            "u2",
            "u4",
            "u8",
            "c8",
            "c16",
            "?",
            ">f8",
            ">i4",
        )
    }
    cases["zero_d"] = np.array(3.5)
    cases["empty"] = np.zeros((0, 5))
    cases["fortran"] = np.asfortranarray(rng.standard_normal((7, 5)))
    cases["strided"] = rng.standard_normal((10, 10))[::2, ::3]
    cases["special_floats"] = np.array([np.nan, -0.0, np.inf, -np.inf, 5e-324])
    cases["datetime64"] = np.array(["2026-11-23T01:02", "NaT"], dtype="datetime64[m]")
    cases["unicode"] = np.array(["ünï", "名前"])
    cases["structured"] = np.array([(1, 2.5)], dtype=[("a", "i4"), ("b", "f8")])
    return cases


def test_arrays_keep_dtype_shape_order_and_bits(db: tracker.Database) -> None:
    cases = array_cases()
    with db.experiment("arrays").run() as run:
        for name, array in cases.items():
            run[name] = array
    fresh = db.get_run(run.id)
    for name, array in cases.items():
        got = fresh[name]
        assert type(got) is np.ndarray, name
        assert got.dtype == array.dtype and got.shape == array.shape, name
        assert got.tobytes() == array.tobytes(), name
        if array.ndim > 1 and array.flags.f_contiguous and not array.flags.c_contiguous:
            assert got.flags.f_contiguous, name


def test_numpy_scalars_keep_their_dtype(db: tracker.Database) -> None:
    scalars = {
        "f4": np.float32(1.1),
        "i8": np.int64(-5),
        "b": np.bool_(True),
        "f8": np.float64("nan"),
    }
    with db.experiment("np").run() as run:
        for name, value in scalars.items():
            run[name] = value
    fresh = db.get_run(run.id)
    for name, value in scalars.items():
        assert type(fresh[name]) is type(value)
        assert fresh[name].tobytes() == value.tobytes()


def test_dataframes_and_arrow_tables(db: tracker.Database) -> None:
    frame = pd.DataFrame(
        {
            "a": [1, 2, 3],
            "b": [0.5, np.nan, -0.0],
            "c": ["x", "ü", None],
            "d": pd.Categorical(["p", "q", "p"]),
        },
        index=pd.Index([10, 20, 30], name="idx"),
    )
    table = pa.table({"x": pa.array([1, None, 3], type=pa.int16()), "y": ["a", "b", "c"]})
    with db.experiment("frames").run() as run:
        run["frame"] = frame
        run["table"] = table
    fresh = db.get_run(run.id)
    pd.testing.assert_frame_equal(fresh["frame"], frame)
    assert fresh["table"].equals(table)


def test_metric_series_keep_nan_apart_from_null(db: tracker.Database) -> None:
    series = [1.5, float("nan"), None, -0.0, float("inf"), 0.0, 7, True, np.float32(0.25)]
    with db.experiment("metrics").run() as run:
        for step, value in enumerate(series):
            run.log({"v": value}, step=step)
    stored = [value for _, value in db.get_run(run.id).metrics()["v"]]
    expected = [1.5, float("nan"), None, -0.0, float("inf"), 0.0, 7.0, 1.0, 0.25]
    assert [type(v) for v in stored] == [type(v) for v in expected]
    assert [None if v is None else bits(v) for v in stored] == [
        None if v is None else bits(v) for v in expected
    ]
    frame = db.experiment("metrics").metrics_df()
    assert frame["value"].isna().tolist() == [
        False,
        False,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
    ]
    assert math.isnan(frame["value"].astype("float64")[1])


def test_overwriting_a_field_keeps_the_last_value(db: tracker.Database) -> None:
    with db.experiment("over").run() as run:
        run["x"] = 1
        run.flush()
        run["x"] = "two"
    assert db.get_run(run.id)["x"] == "two"


@pytest.mark.parametrize("value", [lambda: 1, object()])
def test_unstorable_values_raise_a_clear_error(db: tracker.Database, value) -> None:
    with db.experiment("bad").run() as run, pytest.raises(tracker.TrackerError, match="field"):
        run["x"] = value


ZONED = {
    # 02:30 happens twice in Paris on 2026-10-25: fold=1 is the second time, at +01:00
    "repeated_hour": (
        dt.datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
        "2026-10-25T02:30:00+01:00[Europe/Paris]",
    ),
    "repeated_hour_first": (
        dt.datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Paris")),
        "2026-10-25T02:30:00+02:00[Europe/Paris]",
    ),
    # 02:30 never happens in Paris on 2026-03-29: fold=1 reads it with the offset after
    "skipped_hour": (
        dt.datetime(2026, 3, 29, 2, 30, fold=1, tzinfo=ZoneInfo("Europe/Paris")),
        "2026-03-29T02:30:00+02:00[Europe/Paris]",
    ),
    "utc": (
        dt.datetime(2026, 11, 23, 4, 5, 6, 7, tzinfo=ZoneInfo("UTC")),
        "2026-11-23T04:05:06.000007+00:00[UTC]",
    ),
    "naive": (dt.datetime(2026, 11, 23, 4, 5), "2026-11-23T04:05:00"),
    "fixed": (
        dt.datetime(2026, 11, 23, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        "2026-11-23T04:05:00+05:30",
    ),
}


def test_zone_aware_datetimes_keep_their_zone_wall_time_offset_and_fold(
    db: tracker.Database,
) -> None:
    with db.experiment("zones").run(params={name: v for name, (v, _) in ZONED.items()}) as run:
        for name, (value, _) in ZONED.items():
            run[name] = value
    fresh = db.get_run(run.id)
    for name, (value, text) in ZONED.items():
        stored = db.backend.read(
            "SELECT kind, value_text FROM fields WHERE run_id = ? AND name = ?", (run.id, name)
        )
        assert tuple(stored[0]) == ("datetime", text), name
        for got in (fresh[name], fresh.params[name]):
            assert type(got) is dt.datetime and type(got.tzinfo) is type(value.tzinfo), name
            assert got.tzinfo == value.tzinfo, name
            assert got.replace(tzinfo=None) == value.replace(tzinfo=None), name
            assert (got.utcoffset(), got.fold) == (value.utcoffset(), value.fold), name


def test_all_kinds_lists_every_kind_values_are_stored_as() -> None:
    from tracker import values

    samples = [None, True, 1, 2**70, 1.5, "s", b"b", [1], dt.datetime(2026, 1, 1)]
    samples += [dt.date(2026, 1, 1), np.float32(1), np.zeros(2), pa.table({"a": [1]})]
    samples += [pd.DataFrame({"a": [1]}), {1, 2}]
    kinds = {values.encode(value, "value").kind for value in samples}
    assert set(values.ALL_KINDS) == kinds
    assert len(values.ALL_KINDS) == len(kinds)
    assert set(values.SCALAR_KINDS) <= set(values.ALL_KINDS)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"]),
        pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("x", 1), ("x", 1)])),
    ],
)
def test_a_dataframe_with_duplicate_column_names_says_to_rename_them(
    db: tracker.Database, frame: pd.DataFrame
) -> None:
    with db.experiment("dupes").run() as run:
        with pytest.raises(tracker.TrackerError, match=r"duplicate column names.*rename"):
            run["frame"] = frame
        run["ok"] = frame.set_axis(range(frame.shape[1]), axis=1)
    assert db.get_run(run.id).keys() == ["ok"]
