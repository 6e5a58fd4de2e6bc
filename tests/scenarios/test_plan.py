"""Planning a suite: the cells, their shuffled round-by-round order, shards."""

from __future__ import annotations

from typing import Any

import pytest

from results.errors import UsageError
from scenarios import grids, plan


def test_order_is_shuffled_reproducibly_round_by_round() -> None:
    configs: dict[str, list[dict[str, Any]]] = {
        "high_frequency": [{"n_values": 10}, {"n_values": 100}],
        "startup": [{}],
    }
    cells = plan.plan_cells(["a", "b", "c"], configs, 3)
    first, again, other = plan.order(cells, 1), plan.order(cells, 1), plan.order(cells, 2)
    assert first == again and first != other
    assert sorted(first) == sorted(cells)
    ranks = [(c.rank, c.repetition) for c in first]
    assert ranks == sorted(ranks)  # smaller configurations first, first repetitions first
    size = ranks.count((0, 0))
    assert first[:size] != sorted(first[:size], key=plan.Cell.key)


def test_shards_split_the_cells_keeping_repetitions_together() -> None:
    configs = plan.scenario_configs(
        grids.QUICK, ["high_frequency", "many_runs"],
        overrides={"high_frequency": {"n_values": [1, 10, 100, 1000]}},
    )  # fmt: skip
    every = plan.plan_cells(["a", "b", "c"], configs, 3)
    shards = [plan.plan_cells(["a", "b", "c"], configs, 3, (i, 3)) for i in range(3)]
    assert sorted(c for s in shards for c in s) == sorted(every)
    for shard in shards:
        keys = {(c.framework, c.scenario, c.params) for c in shard}
        assert len(shard) == 3 * len(keys)  # all three repetitions of each configuration
    assert plan.parse_shard("2/3") == (1, 3)
    for bad in ("0/3", "4/3", "x", "1/0", "1-2"):
        with pytest.raises(UsageError, match="--shard"):
            plan.parse_shard(bad)
