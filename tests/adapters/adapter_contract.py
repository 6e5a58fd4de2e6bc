"""The adapter contract, for every adapter's tests: the real adapter, in its real environment.

    from adapter_contract import check_contract, run_contract

`run_contract(name)` builds the framework's environment if needed (once per test session)
and runs the contract workload through the worker exactly as a benchmark cell runs it
(`scenarios.cell.run_cell`), returning the result dict. `check_contract(name, request)`
also asserts the contract: a durability and a role declared, outcome ok and the fidelity
the adapter declares (read back by a new process); an adapter
that declares `broken` becomes an expected failure with that reason (strict, so a fixed
framework is noticed), and an adapter module that does not exist is a failure saying so.
The conftest.py beside this file offers both as fixtures.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from adapters.base import DURABILITIES, ROLES
from scenarios import envs
from scenarios.cell import run_cell

# generous: Aim's and MLflow's first start in a fresh environment take seconds
CONTRACT_TIMEOUT = 300.0


@functools.cache
def environment(name: str, with_: tuple[str, ...] = ()) -> envs.EnvSpec:
    """The framework's environment, built on first use in this test session."""
    return envs.ensure(name, with_)


def declared(name: str) -> dict[str, Any]:
    """What the adapter declares; a clear test failure if its module is missing or broken."""
    try:
        return envs.declared(name)
    except envs.EnvError as exc:
        pytest.fail(str(exc), pytrace=False)


def run_contract(
    name: str,
    workload: str = "contract",
    params: Mapping[str, Any] | None = None,
    *,
    with_: Sequence[str] = (),
    timeout: float = CONTRACT_TIMEOUT,
) -> dict[str, Any]:
    """One cell of `workload` for framework `name`, through the worker; its result dict."""
    spec = environment(name, tuple(with_))
    return run_cell(name, workload, params, timeout, python=spec.python)


def check_contract(
    name: str, request: pytest.FixtureRequest | None = None, with_: Sequence[str] = ()
) -> dict[str, Any]:
    """Run the contract cell (in the environment `with_` changes) and assert outcome ok and
    the declared fidelity; the result."""
    info = declared(name)
    assert info["durability"] in DURABILITIES, f"{name} declares no durability"
    assert info["role"] in ROLES, f"{name}: role {info['role']!r}"
    if info["broken"] and request is not None:
        request.applymarker(pytest.mark.xfail(reason=info["broken"], strict=True))
    result = run_contract(name, with_=with_)
    assert result["outcome"] == "ok", f"{name}: {result['outcome']}: {result['reason']}"
    assert result["fidelity"] == info["fidelity"], (
        f"{name} declares {info['fidelity']!r} fidelity but read back {result['fidelity']!r}: "
        f"{result['reason']}"
    )
    if info["fidelity"] == "lossy":
        assert result["reason"] == info["fidelity_note"]
    return result
