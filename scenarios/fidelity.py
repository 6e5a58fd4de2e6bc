"""Did the data come back? What a framework read back, compared with what was logged.

Bit for bit first (float64 bits, NaN, -0.0, array dtype, shape and bytes); then, for an
adapter that declares a documented loss, through its expect_* hooks: within the loss the
cell is `lossy`, beyond it `wrong_data`. Runs in the reader, a process of its own.

Standard library only (NumPy for arrays, when there are arrays).
"""

from __future__ import annotations

from typing import Any

from adapters.base import DROPPED, LOSSY, Adapter, RunData
from scenarios.bitwise import same_value
from scenarios.workloads import Workload
from scenarios.workloads.recorder import expected_runs


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _describe_array(value: Any) -> str:
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return f"{type(value).__name__} {value.dtype} {value.shape}"
    return type(value).__name__


def diff_runs(expected: list[RunData], got: Any, adapter: Adapter | None = None) -> str | None:
    """The first difference between what was logged and what was read back, or None.

    With an `adapter`, expected values go through its expect_* hooks first (a documented
    loss); without, the comparison is bit for bit. Extra metric, param and array names in
    `got` are allowed (frameworks add their own); extra or missing runs are not.
    """
    if not isinstance(got, (list, tuple)) or not all(isinstance(r, tuple) for r in got):
        return f"read_back returned {type(got).__name__}, not a list of RunData"
    scalar = adapter.expect_scalar if adapter else (lambda v: v)
    array = adapter.expect_array if adapter else (lambda a: a)
    param = adapter.expect_param if adapter else (lambda v: v)
    got_runs = list(got)
    if len(expected) == 1 and len(got_runs) == 1:
        # one run each: pair them even if the framework renamed it
        pairs = [(expected[0], RunData(*got_runs[0]))]
    else:
        by_name = {r[1]: RunData(*r) for r in got_runs}
        missing = [r.run_name for r in expected if r.run_name not in by_name]
        if missing:
            return f"{len(missing)} run(s) missing, e.g. {missing[0]!r}"
        extra = sorted(set(by_name) - {r.run_name for r in expected})
        if extra or len(got_runs) != len(expected):
            return f"{len(got_runs)} runs read back, {len(expected)} logged"
        pairs = [(r, by_name[r.run_name]) for r in expected]
    for want, have in pairs:
        where = f"run {want.run_name!r}"
        for key, value in want.params.items():
            if param(value) is DROPPED:
                continue
            if key not in have.params:
                return f"{where}: param {key!r} missing"
            if not same_value(param(value), have.params[key]):
                return (
                    f"{where}: param {key!r}: logged {_short(value)}, "
                    f"read back {_short(have.params[key])}"
                )
        for name, series in want.metrics.items():
            if name not in have.metrics:
                return f"{where}: metric {name!r} missing"
            back = list(have.metrics[name])
            kept = [(step, value, scalar(value)) for step, value in series]
            kept = [point for point in kept if point[2] is not DROPPED]
            if len(back) != len(kept):
                dropped = f" ({len(kept)} kept by design)" if len(kept) != len(series) else ""
                return (
                    f"{where}: metric {name!r}: {len(series)} values logged{dropped}, "
                    f"{len(back)} read"
                )
            for (step, value, want_value), point in zip(kept, back, strict=True):
                back_step, back_value = point
                if back_step != step:
                    return f"{where}: metric {name!r}: step {step} read back as {back_step!r}"
                if not same_value(want_value, back_value):
                    return (
                        f"{where}: metric {name!r} at step {step}: logged {_short(value)}, "
                        f"read back {_short(back_value)}"
                    )
        for name, value in want.arrays.items():
            if array(value) is DROPPED:
                continue
            if name not in have.arrays:
                return f"{where}: array {name!r} missing"
            if not same_value(array(value), have.arrays[name]):
                return (
                    f"{where}: array {name!r}: logged {_describe_array(value)}, read back "
                    f"{_describe_array(have.arrays[name])} with other contents"
                )
    return None


def check(adapter: Adapter, workload: Workload, inputs: Any, got: Any) -> tuple[str, str]:
    """(fidelity, reason) of what the adapter's reader returned (`got`), against what
    `workload` logged from `inputs`."""
    expected = expected_runs(workload, inputs, type(adapter))
    try:
        problem = diff_runs(expected, got)
        lossy_problem = diff_runs(expected, got, adapter) if problem else None
    except Exception as exc:  # runs of the wrong shape, values that cannot be compared
        _print_traceback()
        return "wrong_data", f"read_back returned malformed data: {type(exc).__name__}: {exc}"
    if problem is None:
        return "exact", ""
    if adapter.fidelity == LOSSY:
        if lossy_problem is None:
            return "lossy", adapter.fidelity_note
        return "wrong_data", f"beyond the documented loss: {lossy_problem}"
    return "wrong_data", problem


def _print_traceback() -> None:
    import traceback  # only on failure: it costs ~4 ms of the reader's start-up

    traceback.print_exc()
