"""The contract workload: what every adapter's contract test runs, values that break trackers."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from adapters.base import ARRAYS, STEPS, Adapter
from scenarios.workloads.base import Workload

# Values a tracker must keep bit for bit, at fixed steps among ordinary random floats.
SPECIAL_FLOATS: dict[int, float] = {
    3: math.nan,
    5: -0.0,
    7: math.inf,
    11: -math.inf,
    13: 5e-324,  # the smallest subnormal
    17: 1.7976931348623157e308,  # the largest finite float64
    19: 0.1,  # not exactly representable: rounding through text or float32 shows here
}


class ContractInputs(NamedTuple):
    """The contract workload's inputs, built before anything is timed."""

    params: dict[str, Any]
    values: list[float]
    array: Any  # a read-only float64 numpy array


def _prepare(params: dict[str, Any]) -> ContractInputs:
    import random

    import numpy as np  # only workloads with arrays import numpy

    rng = random.Random(params["seed"])
    values = [rng.random() for _ in range(params["values"])]
    for step, special in SPECIAL_FLOATS.items():
        if step < len(values):
            values[step] = special
    array = np.random.default_rng(params["seed"]).standard_normal(params["array_elements"])
    array.flags.writeable = False  # an adapter that writes into its input fails loudly
    run_params = {"lr": 0.001, "batch_size": 32, "optimizer": "adam"}
    return ContractInputs(params=run_params, values=values, array=array)


def _run(t: Adapter, inputs: ContractInputs) -> None:
    t.start_run("contract", "run-0", inputs.params)
    if STEPS in t.supports:
        for step, value in enumerate(inputs.values):
            t.log({"loss": value}, step)
    else:  # a framework without series gets the same values as as many names, at one step
        t.log({f"value_{i:03d}": value for i, value in enumerate(inputs.values)}, 0)
    if ARRAYS in t.supports:
        t.log_array("weights", inputs.array)
    t.end_run()


CONTRACT = Workload(
    name="contract",
    doc="1 run: 3 params, 100 floats (NaN, -0.0, inf among them) over steps 0..99 (or as "
    "100 names without steps), one float64 array of 1000 elements (with arrays)",
    run=_run,
    prepare=_prepare,
    defaults={"values": 100, "array_elements": 1000, "seed": 0},
    param_docs={
        "values": "steps of one value each",
        "array_elements": "float64 elements of the array",
        "seed": "seed of the values and the array",
    },
)
