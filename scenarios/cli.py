"""The `trackbench` command line: one subcommand per module listed in COMMANDS.

The command line is the one place where the layers meet: it names each layer's subcommand
module (the runner's here, the reports' `reports.cli`) and imports it by that name, so that
neither layer imports the other.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import NoReturn

from results.errors import UsageError

# Each module defines `register(subparsers)`, which adds its subcommand(s) with a
# `func(args) -> int` default. Imported lazily so `trackbench --help` stays fast.
COMMANDS = [
    "scenarios.cmd_demo",
    "scenarios.cmd_envs",
    "scenarios.cmd_run",
    "scenarios.cmd_profile",
    "reports.cli",
]


def _version() -> str:
    try:
        return version("trackbench")
    except PackageNotFoundError:
        return "unknown"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block above them)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every subcommand registered."""
    parser = _Parser(prog="trackbench", description="Measure ML experiment trackers side by side.")
    parser.add_argument("--version", action="version", version=f"trackbench {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `trackbench` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from tracker import TrackerError

    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # here, so that a closed pipe is seen below and not at exit
        return code
    except (UsageError, TrackerError) as exc:
        print(f"trackbench: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader left (`trackbench list | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # as a shell reports a command that SIGPIPE ended
    except OSError as exc:
        if exc.filename is None:
            raise
        print(f"trackbench: error: cannot use {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        from scenarios.cmd_run import ignore_stops

        ignore_stops()  # a second Ctrl-C must not kill the process on its way out
        print("trackbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
