"""A stored value whose bytes were damaged raises TrackerError when read, never anything else."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
from typing import Any

import pytest
from numpy.lib import format as npy

import tracker

# Stores a DataFrame, an Arrow table and an array, then damages each one's bytes in many
# seeded ways and reads it back after each: any crash shows as a negative return code.
_FUZZ = """
import json, random, sys
import numpy as np, pandas as pd, pyarrow as pa
import tracker

db = tracker.connect(sys.argv[1])
values = {
    "frame": pd.DataFrame(
        {"a": [1, 2, 3], "b": [0.5, None, -0.0], "c": ["x", "ü", None],
         "d": pd.Categorical(["p", "q", "p"])},
        index=pd.Index([10, 20, 30], name="idx"),
    ),
    "table": pa.table({"x": pa.array([1, None, 3], type=pa.int16()), "y": ["a", "b", "c"],
                       "z": pa.array([[1, 2], None, [3]])}),
    "array": np.arange(24, dtype="<f8").reshape(2, 3, 4),
}
count = int(sys.argv[2])
with db.experiment("damage").run() as run:
    for name, value in values.items():
        for seed in range(count):
            run[f"{name}/{seed}"] = value
damaged = []
for name in values:
    (original,) = db.backend.read(
        "SELECT value_blob FROM fields WHERE run_id = ? AND name = ?", (run.id, f"{name}/0")
    )[0]
    for seed in range(count):
        rng = random.Random(f"{name}-{seed}")
        data = bytearray(original)
        how = seed % 3
        if how == 0:  # flip a few bytes
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] ^= rng.randint(1, 255)
        elif how == 1:  # cut short
            del data[rng.randrange(len(data)):]
        else:  # overwrite a range with random bytes
            start = rng.randrange(len(data))
            end = min(len(data), start + rng.randint(1, 64))
            data[start:end] = rng.randbytes(end - start)
        damaged.append((bytes(data), run.id, f"{name}/{seed}"))
db.backend.write(lambda tx: tx.executemany(
    "UPDATE fields SET value_blob = ? WHERE run_id = ? AND name = ?", damaged
))
reader = db.get_run(run.id)
outcomes = {"value": 0, "TrackerError": 0}
unexpected = []
for _, _, name in damaged:
    try:
        reader[name]
        outcomes["value"] += 1
    except tracker.TrackerError as exc:
        assert str(exc).startswith(f"field {name!r} of run {run.id} is damaged ("), exc
        assert "\\n" not in str(exc), exc
        outcomes["TrackerError"] += 1
    except Exception as exc:
        unexpected.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
print(json.dumps({"outcomes": outcomes, "unexpected": unexpected}))
"""


def test_damaged_frames_tables_and_arrays_raise_tracker_error_and_never_crash(
    db_url: str,
) -> None:
    per_value = 500
    result = subprocess.run(
        [sys.executable, "-c", _FUZZ, db_url, str(per_value)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"reader died ({result.returncode}): {result.stderr[-2000:]}"
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["unexpected"] == []
    assert sum(report["outcomes"].values()) == 3 * per_value
    assert report["outcomes"]["TrackerError"] > per_value  # the damage was really read


def _damage(db: tracker.Database, kind: str, text: str | None, blob: bytes | None) -> int:
    """Store a field, then overwrite its row as a damaged database file would hold it."""
    with db.experiment("damaged").run() as run:
        run["v"] = "placeholder"
    db.backend.write(
        lambda tx: tx.execute(
            "UPDATE fields SET kind = ?, value_text = ?, value_blob = ? WHERE run_id = ?",
            (kind, text, blob, run.id),
        )
    )
    return run.id


def _npy_header(fields: dict[str, Any]) -> bytes:
    out = io.BytesIO()
    npy.write_array_header_1_0(out, {"fortran_order": False, **fields})
    return out.getvalue()


DAMAGED = {
    "json": ("json", '{"a": [1, 2', None),
    "json bytes": ("json", None, b"\xff\xfe{}"),
    "str bytes": ("str", None, b"\xc3("),
    "bigint": ("bigint", "12x", None),
    "float bits": ("float", None, b"\x00\x01"),
    "datetime": ("datetime", "2026-13-45T99:00", None),
    "zone": ("datetime", "2026-01-01T00:00:00+01:00[No/Such_Zone]", None),
    "pickle": ("pickle", None, pickle.dumps({"a": [1, 2, 3]})[:-5]),
    "npy object dtype": ("npy", None, _npy_header({"descr": "|O", "shape": (10**7,)})),
    "npy data too long": ("npy", None, _npy_header({"descr": "<i8", "shape": (1,)}) + b"\0" * 9),
}


@pytest.mark.parametrize("case", DAMAGED)
def test_damaged_values_of_every_kind_say_so(db: tracker.Database, case: str) -> None:
    run_id = _damage(db, *DAMAGED[case])
    with pytest.raises(tracker.TrackerError, match=rf"field 'v' of run {run_id} is damaged \("):
        db.get_run(run_id)["v"]
