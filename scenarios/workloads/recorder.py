"""What a workload should have stored: its logging replayed into an in-memory adapter."""

from __future__ import annotations

from typing import Any

from adapters.base import Adapter, RunData
from scenarios.workloads.base import Workload


class Recorder(Adapter):
    """An in-memory adapter: replaying a workload into it gives the data it logged."""

    name = "recorder"

    def __init__(self) -> None:
        self.runs: list[RunData] = []

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Start recording one run."""
        self.runs.append(RunData(experiment, run_name, dict(params), {}, {}))

    def log(self, values: dict[str, float], step: int) -> None:
        """Record one value per name at `step`."""
        metrics = self.runs[-1].metrics
        for key, value in values.items():
            metrics.setdefault(key, []).append((step, value))

    def log_array(self, name: str, array: Any) -> None:
        """Record the array itself (inputs are read-only, so no copy is needed)."""
        self.runs[-1].arrays[name] = array

    def end_run(self) -> None:
        """Nothing to do: the run is already recorded."""


def expected_runs(workload: Workload, inputs: Any, adapter_cls: type[Adapter]) -> list[RunData]:
    """What `workload` logs into an adapter of `adapter_cls`, replayed into a Recorder."""
    # The recorder declares what the real adapter declares, so a workload that adapts to
    # `supports` (e.g. skips arrays) records the same thing it asked the real one to store.
    recorder_cls = type("Recorder", (Recorder,), {"supports": adapter_cls.supports})
    recorder = recorder_cls()
    (workload.expected or workload.run)(recorder, inputs)
    for run in recorder.runs:
        for series in run.metrics.values():
            series.sort(key=lambda point: point[0])  # RunData promises step order
    return recorder.runs
