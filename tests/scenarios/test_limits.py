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
