"""Arrays: several float64 arrays in one run, and one large int8 array of random bytes."""

from __future__ import annotations

from typing import Any

from adapters.base import ARRAYS, LARGE_ARRAYS, Adapter
from scenarios.workloads.base import Workload


def _arrays_prepare(params: dict[str, Any]) -> list[Any]:
    import numpy as np  # only workloads with arrays import numpy

    rng = np.random.default_rng(2)
    arrays = []
    for _ in range(params["n_arrays"]):
        # distinct contents: a framework that deduplicates equal blobs gains nothing here
        array = rng.standard_normal(params["n_elements"])
        array.flags.writeable = False  # an adapter that writes into its input fails loudly
        arrays.append(array)
    return arrays


def _arrays_run(t: Adapter, arrays: list[Any]) -> None:
    t.start_run("arrays", "run-0", {})
    for index, array in enumerate(arrays):
        t.log_array(f"array_{index:03d}", array)
    t.end_run()


ARRAYS_WORKLOAD = Workload(
    name="arrays",
    doc="1 run, n_arrays float64 arrays of n_elements each (random, distinct)",
    run=_arrays_run,
    prepare=_arrays_prepare,
    defaults={"n_arrays": 1, "n_elements": 10_000},
    param_docs={
        "n_arrays": "arrays logged into the one run, each distinct",
        "n_elements": "float64 elements of each array (8 bytes each)",
    },
    needs=frozenset({ARRAYS}),
)


def _large_array_prepare(params: dict[str, Any]) -> Any:
    import numpy as np  # only workloads with arrays import numpy

    # random bytes rather than zeros: a framework that compresses must not look fast
    data = np.random.default_rng(3).bytes(params["n_elements"])
    array = np.frombuffer(data, dtype=np.int8)  # read-only: it views immutable bytes
    return array


def _large_array_run(t: Adapter, array: Any) -> None:
    t.start_run("large_array", "run-0", {})
    t.log_array("large", array)
    t.end_run()


LARGE_ARRAY = Workload(
    name="large_array",
    doc="1 run, one int8 array of n_elements (10^8 = 100 MB .. 10^9 = 1 GB), random bytes",
    run=_large_array_run,
    prepare=_large_array_prepare,
    defaults={"n_elements": 100_000_000},
    param_docs={"n_elements": "int8 elements of the one array (1 byte each: 10^8 is 100 MB)"},
    needs=frozenset({ARRAYS, LARGE_ARRAYS}),
)
