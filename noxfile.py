"""Sessions: `nox -l` lists them; `nox -s tests` is what CI runs."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"
# Pinned so a new release cannot fail CI on code that did not change.
RUFF = "ruff==0.17.6"
MYPY = "mypy==2.4.1"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (PostgreSQL and the framework environments are started/built by it)."""
    session.install("-e", ".[all,test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Check style and common bugs with ruff."""
    session.install(RUFF)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """Check types with mypy."""
    session.install("-e", ".[all,test]", MYPY, "pandas-stubs")
    session.run("mypy")


@nox.session(python=PYTHON, default=False)
def bench(session: nox.Session) -> None:
    """The tracker's hot paths beside raw floors; the harness's own cost and stability."""
    session.install("-e", ".[all,test]")
    # a null-adapter cell against `python -I -c pass` (median of 20), and the spread of the
    # reference tracker's startup cell over 10 repetitions
    session.run("trackbench", "bench-harness", "-n", "20", "--stability", "10")
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
def headline(session: nox.Session) -> None:
    """Each framework's tracking_ns beside the same work timed by a plain script."""
    session.install("-e", ".[all]")
    session.run("python", "benchmarks/headline_check.py", *session.posargs)


@nox.session(python=PYTHON, default=False)
def quick(session: nox.Session) -> None:
    """The main job: build the environments, run the quick suite into results/, report it."""
    session.install("-e", ".[all]")
    # a framework whose environment cannot be built exits 1 here; the suite still runs and
    # stores that framework's cells as crashes with the build error as the reason
    session.run("trackbench", "envs", "--build", success_codes=[0, 1])
    session.run("trackbench", "run", "--grid", "quick", "--db", "results/trackbench.db",
                *session.posargs)  # fmt: skip
    session.run("trackbench", "report", "--db", "results/trackbench.db")  # into report/


@nox.session(python=PYTHON, default=False)
def fmt(session: nox.Session) -> None:
    """Format the code with ruff (never run from tests)."""
    session.install(RUFF)
    session.run("ruff", "check", "--fix", ".")
    session.run("ruff", "format", ".")
