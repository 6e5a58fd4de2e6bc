"""The one rule that stops a framework climbing a grid: the cell cap, the framework budget and
fewer repetitions of slow cells.

- `cell_cap`: a cell that took longer (or timed out) stops its framework from running any
  configuration of that scenario at least as large in every parameter;
- `framework_budget`: once a framework has spent that many seconds in the suite, it repeats
  no configuration it already measured and runs none larger than one it already ran;
- `slow_repeat` (seconds, n): a configuration whose first n ok cells took over that many
  seconds (their median) runs no more repetitions: n samples of a slow cell are enough.

The runner feeds every finished cell in; the ETA and the grids' time estimates feed
estimated cells through the same rule, so what they predict is what the runner does.
"""

from __future__ import annotations

import copy
import statistics
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from results import schema as S
from scenarios import grids
from scenarios.plan import Cell

# Outcomes of a cell that started a worker; `unsupported` and `skipped` were decided without.
RAN = frozenset({S.OK, S.TIMEOUT, S.CRASH, S.BAD_OUTPUT})


class Limits:
    """The grid's cell cap and framework budget, fed with every finished cell."""

    def __init__(
        self,
        cell_cap: float,
        framework_budget: float,
        slow_repeat: tuple[float, int] | None = None,
    ) -> None:
        self.cell_cap = cell_cap
        self.framework_budget = framework_budget
        self.slow_repeat = slow_repeat
        self.ok_seconds: dict[str, list[float]] = defaultdict(list)  # configuration -> cells
        self.spent: dict[str, float] = defaultdict(float)
        self.ran: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.measured: set[str] = set()  # configurations with an ok cell
        self.over: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = defaultdict(list)
        self.timed_out: set[str] = set()

    @classmethod
    def of(
        cls, grid: grids.Grid, cell_cap: float | None = None, budget: float | None = None
    ) -> Limits:
        """The grid's limits, with its cell cap or budget replaced where given."""
        return cls(
            grid.cell_cap if cell_cap is None else cell_cap,
            grid.framework_budget if budget is None else budget,
            grid.slow_repeat,
        )

    def copy(self) -> Limits:
        """An independent copy, to try a plan without changing this one."""
        return copy.deepcopy(self)

    def record(self, cell: Cell, outcome: str, process_ns: Any) -> None:
        """Account for a finished (or stored) cell that took `process_ns` of the suite."""
        seconds = float(process_ns) / 1e9 if isinstance(process_ns, (int, float)) else 0.0
        where = (cell.framework, cell.scenario)
        self.spent[cell.framework] += seconds
        if outcome in RAN:
            self.ran[where].append(cell.config)
        if outcome == S.OK:
            self.measured.add(cell.config_key())
            self.ok_seconds[cell.config_key()].append(seconds)
        if outcome == S.TIMEOUT:
            self.over[where].append((cell.config, f"timed out after {seconds:.0f} s"))
            self.timed_out.add(cell.config_key())
        elif outcome == S.OK and seconds > self.cell_cap:
            self.over[where].append(
                (cell.config, f"took {seconds:.1f} s, over the {self.cell_cap:g} s cell cap")
            )

    def why_skip(self, cell: Cell) -> str:
        """Why the cell must not run (a reason for `skipped`), or "" when it may."""
        where = (cell.framework, cell.scenario)
        if cell.config_key() in self.timed_out:
            return "another repetition of this configuration timed out"
        if self.slow_repeat is not None:
            slow, enough = self.slow_repeat
            took = self.ok_seconds[cell.config_key()]
            if len(took) >= enough and statistics.median(took) > slow:
                return (
                    f"its {len(took)} repetitions took a median "
                    f"{statistics.median(took):.1f} s, over {slow:g} s: {enough} are enough"
                )
        for config, why in self.over[where]:
            if grids.dominates(cell.config, config):
                return f"the smaller configuration {_config_text(config)} {why}"
        spent = self.spent[cell.framework]
        if spent <= self.framework_budget:
            return ""
        budget = f"{cell.framework} spent {spent:.0f} s of its {self.framework_budget:g} s budget"
        if cell.config_key() in self.measured:
            return f"{budget}: no more repetitions of a configuration already measured"
        if any(grids.dominates(cell.config, c) for c in self.ran[where]):
            return f"{budget}: no larger configurations"
        return ""


def _config_text(config: Mapping[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in config.items()) + ")"
