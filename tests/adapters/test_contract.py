"""The contract, for every registered framework: its real adapter in its real environment.

100 floats (NaN, -0.0 and infinities among them) over steps 0..99 and one float64 array of
1,000 elements, finish, read back, and the declared fidelity, checked exactly. Restrict a
local run with -k (e.g. `-k "tracker or sqlite"`) while other adapters are being written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.registry import ADAPTERS


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ADAPTERS))
def test_contract(name: str, check_contract: Callable[[str], dict[str, Any]]) -> None:
    """Outcome ok and the declared fidelity; `broken` adapters are expected failures."""
    result = check_contract(name)
    assert result["framework_version"], "the adapter reports no framework version"


def test_broken_adapter_is_an_expected_failure(
    check_contract: Callable[[str], dict[str, Any]],
) -> None:
    """A fake adapter declaring `broken`: this test must report as xfailed, not failed."""
    check_contract("tests.scenarios.fake_adapters:Broken")


def test_missing_adapter_module_is_a_clear_failure() -> None:
    """Not a skip: the failure names the module that is missing."""
    from adapter_contract import check_contract

    with pytest.raises(pytest.fail.Exception, match=r"No module named 'adapters\.nowhere'"):
        check_contract("adapters.nowhere:Adapter")
