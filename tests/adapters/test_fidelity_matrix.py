"""The fidelity scenario on real frameworks: what each keeps of the values that break trackers.

One cell each, through the real worker in the framework's own environment, read back by a
new process with the framework's reader. The verdicts asserted are the findings the report
must show: the reference tracker keeps every kind; Neptune drops non-finite values; MLflow
clamps infinities and turns -0.0 into 0.0; TensorBoard rounds to float32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from scenarios.workloads.edge_values import KINDS

Cell = Callable[..., dict[str, Any]]


def _matrix(run_contract: Cell, name: str) -> dict[str, str]:
    result = run_contract(name, "fidelity")
    assert result["outcome"] == "ok", f"{name}: {result['reason']}"
    matrix: dict[str, str] = result["fidelity_matrix"]
    assert list(matrix) == list(KINDS)
    return matrix


@pytest.mark.slow
def test_the_reference_tracker_keeps_every_kind(run_contract: Cell) -> None:
    result = run_contract("tracker", "fidelity")
    assert set(result["fidelity_matrix"].values()) == {"kept"}
    assert (result["fidelity"], result["concurrent_start"]) == ("exact", "safe")


@pytest.mark.slow
def test_neptune_drops_non_finite_values(run_contract: Cell) -> None:
    matrix = _matrix(run_contract, "neptune")
    assert [matrix[k] for k in ("nan", "pos_inf", "neg_inf")] == ["dropped"] * 3
    assert matrix["neg_zero"] == matrix["max_float"] == "kept"


@pytest.mark.slow
def test_mlflow_changes_infinities_and_negative_zero(run_contract: Cell) -> None:
    matrix = _matrix(run_contract, "mlflow")
    assert matrix["pos_inf"] == "changed to 1.7976931348623157e+308"
    assert matrix["neg_inf"] == "changed to -1.7976931348623157e+308"
    assert matrix["neg_zero"] == "changed to 0.0"
    assert matrix["long_name"].startswith("refused: MlflowException")  # 250 characters at most
    assert matrix["bool_param"] == "changed to 'True'"  # params are strings


@pytest.mark.slow
def test_tensorboard_rounds_to_float32(run_contract: Cell) -> None:
    matrix = _matrix(run_contract, "tensorboard")
    assert matrix["not_float32"] == "changed to 1.0"
    assert matrix["subnormal"] == "changed to 0.0"
    assert matrix["max_float"] == "changed to inf"
    assert matrix["nan"] == "kept"
