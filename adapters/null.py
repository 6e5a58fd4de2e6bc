"""The null adapter: does nothing, so a cell through it measures the harness's own cost."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from adapters.base import CAPABILITIES, FLOOR, NONE, READ_BACK, UNVERIFIED, Adapter


class NullAdapter(Adapter):
    """Accepts everything and keeps nothing: the worker, process and timing overhead alone."""

    name = "null"
    role = FLOOR  # the harness alone: the lowest any cell can be
    durability = NONE  # nothing is stored
    requirements = ()  # the worker's own minimum (numpy) only
    supports = CAPABILITIES - {READ_BACK}
    lacks: ClassVar[dict[str, str]] = {READ_BACK: "it stores nothing, by design"}
    fidelity = UNVERIFIED
    fidelity_note = "stores nothing by design"
    array_mechanism = "discarded"

    def version(self) -> str:
        """No framework: the Python version the harness ran on."""
        return "python-{}.{}.{}".format(*sys.version_info[:3])

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Nothing to start."""

    def log(self, values: dict[str, float], step: int) -> None:
        """Discard the values."""

    def log_array(self, name: str, array: Any) -> None:
        """Discard the array."""

    def flush(self) -> None:
        """Nothing to flush."""

    def end_run(self) -> None:
        """Nothing to end."""
