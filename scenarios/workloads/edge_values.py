"""The fidelity scenario: the values that break trackers, each logged on its own.

One experiment `fidelity`: a run `values` with one metric per value kind (NaN, infinities,
-0.0, the smallest subnormal, the largest float64, a float float32 cannot hold, a
300-character and a non-ASCII name, 1000 metrics in one step, steps that are not
contiguous), a run per parameter kind (int64 extremes, bool), and a run `arrays` with one
array per dtype and layout (with arrays). Every kind is logged by a call of its own, so a
framework that refuses one (raises) still stores the others; the writer hands the refusals
over, and the reader (`examine`) says for each kind `kept` (bit for bit), `changed to X`,
`dropped` or `refused: E`. With concurrency, 4 processes then create one new experiment at
the same moment (`concurrent_start`: `safe`, or what went wrong).

Not a timed comparison: one repetition, never ranked.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from adapters.base import ARRAYS, CONCURRENCY, MANY_RUNS, Adapter, RunData
from results import schema as S
from scenarios.workloads.base import Workload

EXPERIMENT = "fidelity"
CONCURRENT_EXPERIMENT = "concurrent_start"
VALUES_RUN, ARRAYS_RUN = "values", "arrays"
SCALARS: dict[str, float] = {
    "nan": math.nan,
    "pos_inf": math.inf,
    "neg_inf": -math.inf,
    "neg_zero": -0.0,
    "subnormal": 5e-324,
    "max_float": 1.7976931348623157e308,
    "not_float32": 1 + 2**-40,  # float32 rounds it to 1.0
}
LONG_NAME = "long_" + "n" * 295  # 300 characters
UNICODE_NAME = "损失_λ_ü_ø"
NAMED = {"long_name": (LONG_NAME, 0.25), "unicode_name": (UNICODE_NAME, 0.75)}
WIDE = [f"wide_{k:04d}" for k in range(1000)]
GAP_METRIC, GAP_STEPS = "gaps", (0, 7, 1000, 1_000_000)
PARAMS: dict[str, Any] = {"int64_min": -(2**63), "int64_max": 2**63 - 1, "bool_param": True}
ARRAY_KINDS = ("float16_array", "float32_array", "int8_array", "bool_array", "zero_d_array",
               "empty_array", "fortran_array")  # fmt: skip
KINDS: tuple[str, ...] = (
    *SCALARS, *NAMED, "wide_step", "gap_steps", *PARAMS, *ARRAY_KINDS
)  # fmt: skip
KEPT, DROPPED = "kept", "dropped"


class EdgeInputs(NamedTuple):
    """The arrays of each kind (the scalars are constants above)."""

    arrays: dict[str, Any]


def _prepare(params: dict[str, Any]) -> EdgeInputs:
    import numpy as np

    arrays: dict[str, Any] = {
        "float16_array": np.array([1.5, np.nan, -0.0, 65504.0], dtype=np.float16),
        "float32_array": np.array([0.1, np.nan, -np.inf, 1e-45], dtype=np.float32),
        "int8_array": np.arange(-128, 128, dtype=np.int8),
        "bool_array": np.array([True, False, True]),
        "zero_d_array": np.array(3.25),
        "empty_array": np.zeros((0, 3)),
        "fortran_array": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3)),
    }
    for array in arrays.values():
        array.flags.writeable = False
    return EdgeInputs(arrays)


def _attempt(refused: dict[str, str], kinds: list[str], call: Any, *args: Any) -> None:
    """Make one call; if the framework raises, those kinds are refused with what it said."""
    try:
        call(*args)
    except Exception as exc:  # the framework's refusal is the measurement
        for kind in kinds:
            refused.setdefault(kind, f"{type(exc).__name__}: {str(exc)[:200]}")


def _log_all(t: Adapter, inputs: EdgeInputs) -> dict[str, str]:
    """Log every kind, each on its own; the kinds refused and why."""
    refused: dict[str, str] = {}
    _attempt(refused, [*SCALARS, *NAMED, "wide_step", "gap_steps"],
             t.start_run, EXPERIMENT, VALUES_RUN, {})  # fmt: skip
    if not refused:
        for kind, value in SCALARS.items():
            _attempt(refused, [kind], t.log, {kind: value}, 0)
        for kind, (name, value) in NAMED.items():
            _attempt(refused, [kind], t.log, {name: value}, 0)
        _attempt(refused, ["wide_step"], t.log, {n: k + 0.5 for k, n in enumerate(WIDE)}, 0)
        for index, step in enumerate(GAP_STEPS):
            _attempt(refused, ["gap_steps"], t.log, {GAP_METRIC: float(index + 1)}, step)
        _attempt(refused, [*SCALARS, *NAMED, "wide_step", "gap_steps"], t.end_run)
    for kind, value in PARAMS.items():
        before = len(refused)
        _attempt(refused, [kind], t.start_run, EXPERIMENT, f"param-{kind}", {kind: value})
        if len(refused) == before:
            _attempt(refused, [kind], t.end_run)
    if ARRAYS in t.supports:
        _attempt(refused, list(ARRAY_KINDS), t.start_run, EXPERIMENT, ARRAYS_RUN, {})
        for kind in ARRAY_KINDS:
            if kind not in refused:
                _attempt(refused, [kind], t.log_array, kind, inputs.arrays[kind])
        _attempt(refused, list(ARRAY_KINDS), t.end_run)
    else:
        refused.update(dict.fromkeys(ARRAY_KINDS, "the adapter declares no arrays"))
    return refused


def _run(t: Adapter, inputs: EdgeInputs) -> dict[str, Any]:
    from scenarios.workloads.concurrency import run_writers

    notes: dict[str, Any] = {"refused": _log_all(t, inputs)}
    if CONCURRENCY in t.supports:
        # no prepare_experiment: creating one experiment at once is what is checked
        failures = run_writers(t, CONCURRENT_EXPERIMENT,
                               {"n_processes": 4, "n_runs": 1, "n_values": 1})  # fmt: skip
        notes["concurrent_start"] = (
            f"unsafe: {len(failures)} of 4 writers failed: {_error_line(failures[0])}"
            if failures
            else "safe"
        )
    else:
        notes["concurrent_start"] = "not checked: the adapter declares no concurrency"
    return notes


def _error_line(text: str) -> str:
    """The last `SomeError: message` line of a writer's stderr tail, or its last line."""
    import re

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"[\w.]+(Error|Exception)\b", line)]
    return (errors or lines or ["(no output)"])[-1][:240]


# --- what the reader makes of it ------------------------------------------------------------


def _point(series: list[tuple[int, float]] | None, step: int = 0) -> Any:
    found = [v for s, v in (series or []) if s == step]
    return found[0] if found else None


def _scalar(expected: float, got: Any) -> str:
    from scenarios.bitwise import same_value

    if got is None:
        return DROPPED
    if isinstance(got, float) and same_value(expected, got):
        return KEPT
    return f"changed to {got!r}"


def _named(metrics: dict[str, list[tuple[int, float]]], name: str, value: float) -> str:
    if name in metrics:
        return _scalar(value, _point(metrics[name]))
    renamed = [n for n, series in metrics.items() if _point(series) == value and n not in WIDE]
    if renamed:
        return f"changed to the name {renamed[0][:40]!r} ({len(renamed[0])} characters)"
    return DROPPED


def matrix(runs: list[RunData], refused: dict[str, str]) -> dict[str, str]:
    """Value kind -> kept, changed to X, dropped or refused: E, from what was read back."""
    from scenarios.bitwise import same_value

    by_name = {r.run_name: r for r in runs if r.experiment != CONCURRENT_EXPERIMENT}
    metrics = by_name[VALUES_RUN].metrics if VALUES_RUN in by_name else {}
    arrays = by_name[ARRAYS_RUN].arrays if ARRAYS_RUN in by_name else {}
    out: dict[str, str] = {}
    for kind, value in SCALARS.items():
        out[kind] = _scalar(value, _point(metrics.get(kind)))
    for kind, (name, value) in NAMED.items():
        out[kind] = _named(metrics, name, value)
    wide = sum(_point(metrics.get(n)) == k + 0.5 for k, n in enumerate(WIDE))
    out["wide_step"] = KEPT if wide == len(WIDE) else (
        DROPPED if not wide else f"changed: {wide} of {len(WIDE)} kept"
    )  # fmt: skip
    gaps = metrics.get(GAP_METRIC)
    expected_gaps = [(s, float(i + 1)) for i, s in enumerate(GAP_STEPS)]
    out["gap_steps"] = DROPPED if not gaps else (
        KEPT if list(gaps) == expected_gaps else f"changed to steps {[s for s, _ in gaps]}"
    )  # fmt: skip
    for kind, value in PARAMS.items():
        run = by_name.get(f"param-{kind}")
        if run is None or kind not in run.params:
            out[kind] = DROPPED
        else:
            got = run.params[kind]
            out[kind] = KEPT if same_value(value, got) else f"changed to {got!r}"[:120]
    logged = _prepare({}).arrays
    for kind in ARRAY_KINDS:
        out[kind] = _array(logged[kind], arrays.get(kind))
    for kind, why in refused.items():
        out[kind] = f"refused: {why}"
    return {kind: out[kind] for kind in KINDS}


def _array(expected: Any, got: Any) -> str:
    from scenarios.bitwise import same_value

    if got is None:
        return DROPPED
    if same_value(expected, got):
        return KEPT
    if hasattr(got, "dtype"):
        return f"changed to {got.dtype} {tuple(got.shape)}"
    return f"changed to {type(got).__name__}"


def _examine(adapter: Adapter, runs: list[RunData] | None, notes: dict[str, Any]) -> dict[str, Any]:
    """The reader's fields: the matrix, concurrent_start, and the cell's fidelity."""
    runs = runs or []
    found = matrix(runs, notes.get("refused", {}))
    start = str(notes.get("concurrent_start", "not checked"))
    if start == "safe":
        created = sum(r.experiment == CONCURRENT_EXPERIMENT for r in runs)
        if created != 4:
            start = f"unsafe: {created} of 4 runs read back"
    silent = [k for k, v in found.items() if not v.startswith((KEPT, "refused"))]
    refused = [k for k, v in found.items() if v.startswith("refused")]
    # finding what breaks is this scenario's measurement, not a wrong result: lossy, named
    fidelity = S.LOSSY if silent or refused else S.EXACT
    reason = "; ".join(
        f"{len(names)} of {len(KINDS)} value kinds {what}: {', '.join(names)}"
        for what, names in (("not kept", silent), ("refused", refused))
        if names
    )
    return {S.FIDELITY_MATRIX: found, S.CONCURRENT_START: start, S.FIDELITY: fidelity,
            S.REASON: reason}  # fmt: skip


FIDELITY = Workload(
    name="fidelity",
    doc="the values that break trackers, each logged on its own: a matrix of kept, changed, "
    "dropped and refused value kinds, and whether 4 processes may create one experiment",
    run=_run,
    prepare=_prepare,
    needs=frozenset({MANY_RUNS}),
    examine=_examine,
)
