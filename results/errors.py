"""The one error of bad input that every layer raises and the command line prints as one line."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""


def need(module: str, extra: str) -> None:
    """Raise a one-line UsageError with the install hint when an optional module is missing."""
    import importlib.util  # only when an optional part is about to be used

    if importlib.util.find_spec(module) is None:
        raise UsageError(f"this needs {module}: pip install 'trackbench[{extra}]'")
