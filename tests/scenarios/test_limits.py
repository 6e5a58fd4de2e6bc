"""The rule that stops a framework climbing, and the estimates that follow the same rule."""

from __future__ import annotations

from scenarios import plan
from scenarios.limits import Limits


def test_a_timed_out_configuration_is_not_repeated_and_the_budget_holds() -> None:
    limits = Limits(cell_cap=60, framework_budget=100)
    small = plan.Cell("fw", "many_runs", (("n_runs", 10), ("n_values", 10)), 0, 0)
    again = small._replace(repetition=1)
    bigger = plan.Cell("fw", "many_runs", (("n_runs", 100), ("n_values", 10)), 0, 1)
    other = plan.Cell("fw", "many_runs", (("n_runs", 1), ("n_values", 100)), 0, 1)
    limits.record(small, "timeout", 120e9)
    assert "timed out" in limits.why_skip(again)
    assert "timed out after 120 s" in limits.why_skip(bigger)
    assert limits.why_skip(other) == ""  # larger in no parameter than what ran
    limits2 = Limits(cell_cap=60, framework_budget=100)
    limits2.record(small, "ok", 50e9)
    assert limits2.why_skip(again) == ""  # within the budget: every repetition runs
    assert limits2.why_skip(bigger) == ""
    limits2.record(again, "ok", 55e9)  # past the budget now
    assert "105 s of its 100 s budget: no more repetitions" in limits2.why_skip(
        again._replace(repetition=2)
    )
    assert "budget: no larger configurations" in limits2.why_skip(bigger)
    assert limits2.why_skip(other) == ""  # never measured, larger than nothing that ran


def test_a_slow_configuration_repeats_fewer_times() -> None:
    """The reference grid's rule: 5 repetitions, but 3 of a cell whose median is over 10 s."""
    limits = Limits(cell_cap=60, framework_budget=1e9, slow_repeat=(10.0, 3))
    slow = [plan.Cell("fw", "arrays", (("n_arrays", 10),), rep, 0) for rep in range(5)]
    fast = [plan.Cell("fw", "arrays", (("n_arrays", 1),), rep, 0) for rep in range(5)]
    for cell, seconds in zip(slow[:3], (9.0, 12.0, 11.0), strict=True):
        assert limits.why_skip(cell) == ""
        limits.record(cell, "ok", seconds * 1e9)
    assert limits.why_skip(slow[3]) == (
        "its 3 repetitions took a median 11.0 s, over 10 s: 3 are enough"
    )
    for cell in fast:  # under 10 s: every repetition runs
        assert limits.why_skip(cell) == ""
        limits.record(cell, "ok", 9.5e9)
