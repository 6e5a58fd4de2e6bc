"""Sessions: `nox -l` lists them; `nox -s tests` is what CI runs."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (PostgreSQL and the framework environments are started/built by it)."""
    session.install("-e", ".[all,test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Check types with mypy."""
    session.install("-e", ".[all,test]", "mypy", "pandas-stubs")
    session.run("mypy")


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """Micro-benchmarks of the reference tracker's hot paths, beside the raw floors."""
    session.install("-e", ".[all,test]")
    session.run(
        "pytest",
        "benchmarks",
        "-o",
        "addopts=",
        "-p",
        "no:cacheprovider",
        "--benchmark-only",
        "--benchmark-columns=min,median,iqr,rounds",
        *session.posargs,
    )


@nox.session(python=PYTHON, default=False)
def quick(session: nox.Session) -> None:
    """The main job: the quick benchmark suite into results/trackbench.db, then its report."""
    session.install("-e", ".[all]")
    session.run("trackbench", "demo", *session.posargs)


@nox.session(python=PYTHON, default=False)
def fmt(session: nox.Session) -> None:
    """Format the code with ruff (never run from tests)."""
    session.install("ruff")
    session.run("ruff", "check", "--fix", ".")
    session.run("ruff", "format", ".")
