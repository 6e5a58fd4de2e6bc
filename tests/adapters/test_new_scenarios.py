"""The reference tracker, a real framework in its own environment, in the scenarios that
measure from inside the writer (loop_overhead, long_run, wide_steps) and in the crash."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from results import schema as S


@pytest.mark.parametrize(
    ("workload", "params"),
    [
        ("loop_overhead", {"n_steps": 200, "step_us": 500, "n_metrics": 10, "n_blocks": 4}),
        ("long_run", {"n_steps": 5000}),
        ("wide_steps", {"n_steps": 3, "n_metrics": 1000}),
        ("crash", {"n_values": 1000, "flush_every": 100}),
    ],
)
def test_the_reference_tracker_keeps_every_value(
    run_contract: Callable[..., dict[str, Any]], workload: str, params: dict[str, Any]
) -> None:
    result = run_contract("tracker", workload, params)
    assert (result["outcome"], result["fidelity"]) == ("ok", "exact"), result["reason"]
    if workload == "loop_overhead":
        assert 0 < result[S.LOG_P50_NS] <= result[S.LOG_P99_NS] <= result[S.LOG_MAX_NS]
        assert result[S.STOLEN_CPU_NS] is not None
    if workload == "long_run":
        assert result[S.RSS_START_BYTES] > 0 and result[S.RSS_SERIES][-1][0] == 5000
    if workload == "crash":  # killed mid-run: everything flushed survives, in a store that opens
        assert result[S.STORE_OPENS] is True
        assert result[S.LOGGED_VALUES] >= result[S.FLUSHED_VALUES] > 0
        assert result[S.SURVIVED_VALUES] >= result[S.FLUSHED_VALUES]
