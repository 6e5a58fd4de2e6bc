"""A 1 GB array is stored and loaded within about 1.3 GB of peak memory, on each backend."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

GB = 10**9
LIMIT = int(1.3 * GB)

STORE = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import tracker
    array = np.full(10**9, 7, dtype=np.int8)   # touched pages: really resident
    array[::4096] = np.arange(len(array[::4096])) % 127
    db = tracker.connect(sys.argv[1])
    with db.experiment("large").run() as run:
        run["big"] = array
    print(json.dumps({"run": run.id,
                      "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
""")

LOAD = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    import tracker
    array = tracker.connect(sys.argv[1]).get_run(int(sys.argv[2]))["big"]
    expected = np.arange(len(array[::4096])) % 127
    ok = (array.dtype == np.int8 and array.shape == (10**9,) and
          bool((array[::4096] == expected).all()) and int(array[1]) == 7 and int(array[-1]) == 7)
    print(json.dumps({"ok": ok,
                      "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
""")


def _run(code: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.slow
def test_one_gigabyte_array_round_trip_in_bounded_memory(db_url: str) -> None:
    stored = _run(STORE, db_url)
    assert stored["peak"] <= LIMIT, f"storing peaked at {stored['peak'] / GB:.2f} GB"
    loaded = _run(LOAD, db_url, str(stored["run"]))
    assert loaded["ok"]
    assert loaded["peak"] <= LIMIT, f"loading peaked at {loaded['peak'] / GB:.2f} GB"
