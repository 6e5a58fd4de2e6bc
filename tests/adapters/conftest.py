"""Fixtures for adapter tests: the contract, run for real through the worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from adapter_contract import check_contract as _check
from adapter_contract import run_contract as _run


@pytest.fixture
def check_contract(request: pytest.FixtureRequest) -> Callable[[str], dict[str, Any]]:
    """`check_contract(name)`: run the contract cell and assert the adapter's declarations."""
    return lambda name: _check(name, request)


@pytest.fixture
def run_contract() -> Callable[..., dict[str, Any]]:
    """`run_contract(name, workload="contract", params=None, with_=())`: one real cell."""
    return _run
