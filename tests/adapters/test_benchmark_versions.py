"""MLtraq's benchmark versions of 2024 (reports/published/mltraq_speed.toml) run through the
same adapters, offline, and read back what they stored: the report's "at their version"
column is measured, not a harness failure."""

from __future__ import annotations

import pytest
from adapter_contract import check_contract, run_contract

from reports import reproduction
from scenarios import envs

# What those versions need beside them on Python 3.11 (the README's `--with` example): W&B
# 0.16.3 and MLflow 2.11.0 use pkg_resources (and W&B np.float_), MLflow 2.11.0 imports a
# pool class SQLAlchemy 2.1 removed, MLtraq 0.0.125 on NumPy 1 needs an older PyArrow.
COMPANIONS_2024 = ("numpy<2", "setuptools<70", "pyarrow<16", "sqlalchemy<2.1")
VERSIONS_2024 = reproduction.load().versions
# Aim's version has no artifact API, so the contract's array cannot be stored (tested apart)
NO_ARRAYS = "aim"


def _with(name: str, version: str) -> tuple[str, ...]:
    return (f"{envs.distribution(envs.declared(name))}=={version}", *COMPANIONS_2024)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "version"), [(n, v) for n, v in VERSIONS_2024.items() if n != NO_ARRAYS]
)
def test_contract_at_their_version(name: str, version: str) -> None:
    """The contract (NaN, -0.0, infinities, an array) reads back as the adapter declares,
    at the version MLtraq measured (W&B's history steps and MLtraq's loader differ there)."""
    result = check_contract(name, with_=_with(name, version))
    assert result["framework_version"] == version


@pytest.mark.slow
def test_aim_at_their_version_reads_back_and_says_why_it_has_no_arrays() -> None:
    """Aim 3.18.1 has no index to rebuild and no artifact API: its values read back exact,
    and an array is a crash that says the API is missing, not a harness error."""
    version = VERSIONS_2024[NO_ARRAYS]
    with_ = _with(NO_ARRAYS, version)
    values = run_contract(NO_ARRAYS, "high_frequency", {"n_values": 100}, with_=with_)
    assert (values["outcome"], values["fidelity"], values["framework_version"]) == (
        "ok",
        "exact",
        version,
    ), values["reason"]
    arrays = run_contract(NO_ARRAYS, "arrays", {"n_arrays": 1, "n_elements": 10}, with_=with_)
    assert arrays["outcome"] == "crash"
    assert "no artifact API (Run.log_artifact)" in arrays["reason"]
