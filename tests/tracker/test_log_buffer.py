"""The buffer behind log(): no work for the garbage collector, the values SQL cannot hold
written beside the others, each in its place."""

from __future__ import annotations

import gc
import math
import struct

import tracker


def test_log_leaves_nothing_for_the_garbage_collector(db: tracker.Database) -> None:
    # a buffer of tuples sets off a collection every few dozen log() calls, stalling them
    run = db.experiment("e").run()
    values = {f"m{i}": 0.5 + i for i in range(10)}
    run.log(values)
    gc.disable()
    try:
        before = gc.get_count()[0]
        for _ in range(1000):
            run.log(values)
        grown = gc.get_count()[0] - before
    finally:
        gc.enable()
    run.end()
    assert grown < 10, f"1,000 log() calls left {grown} objects for the garbage collector"


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def test_values_sql_cannot_hold_keep_their_place_among_others(db: tracker.Database) -> None:
    logged = [1.0, math.nan, -0.0, None, 2.5, math.inf, -math.inf, 0.0, 3.0]
    run = db.experiment("e").run()
    for step, value in enumerate(logged):
        run.log({"x": value, "y": 1.0}, step=step)
        if step == 4:
            run.flush()  # one batch with such values, one without
    run.log({"y": 2.0}, step=len(logged))
    run.end()
    read = db.get_run(run.id).metrics()
    assert [step for step, _ in read["x"]] == list(range(len(logged)))
    assert [None if v is None else bits(v) for _, v in read["x"]] == [
        None if v is None else bits(v) for v in logged
    ]
    assert read["y"] == [(step, 1.0) for step in range(len(logged))] + [(len(logged), 2.0)]
    frame = db.experiment("e").metrics_df()
    x = frame[frame["name"] == "x"]["value"]
    assert x.isna().tolist() == [v is None for v in logged]
    assert [bits(v) for v, was in zip(x, logged, strict=True) if was is not None] == [
        bits(v) for v in logged if v is not None
    ]
