"""Where results come from: the machine, versions, date, commit and commands of a section.

Every page and every image of a report carries this, so a figure found alone still says what
it measured and how to measure it again. A page is meant to be published as it is, so nothing
of the machine's own file system goes in it: the database by its name, the commands with
their paths relative or by name, and a cell's temporary folder, the home and the temporary
directory shortened in every text a cell recorded (`public_*`, `published`).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import tempfile
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from reports.analysis import Section
from results import schema as S
from results.database import sqlite_path
from results.provenance import FILESYSTEM, MEMORY


def trackbench_version() -> str:
    """The installed trackbench version, or `unknown` when run from a source tree."""
    try:
        return version("trackbench")
    except PackageNotFoundError:
        return "unknown"


NOT_RECORDED = "not recorded"


def _joined(values: list[str], missing: str = "unknown") -> str:
    return " | ".join(dict.fromkeys(v for v in values if v)) or missing


def _gib(value: Any) -> str:
    """Bytes as `15.6 GiB`; "" when not a number (not recorded)."""
    try:
        return f"{float(value) / 2**30:.1f} GiB" if value else ""
    except (TypeError, ValueError):
        return ""


@dataclass(frozen=True)
class Provenance:
    """What a report page or image says about its origin."""

    suite_id: str
    machine: str
    os: str
    cpu: str
    python: str
    memory: str  # e.g. `15.6 GiB`, or `not recorded` (suites before issue 18)
    filesystem: str  # of the cells' work directories, or `not recorded`
    commit: str  # with "+dirty" when the work tree had changes; several if the suite resumed
    date: str  # when the suite started
    results_command: str  # the command that produced the results (public_command)
    report_command: str  # the command that produced this page or image (public_command)
    generated: str  # when the page or image was made
    versions: dict[str, str]  # framework -> version
    trackbench: str
    seed: str
    grid: str

    def lines(self) -> list[str]:
        """Three short lines for an image's footer."""
        return [
            f"{self.machine} | {self.cpu} | {self.os} | Python {self.python} | "
            f"suite {self.suite_id} ({self.grid}, seed {self.seed}) | commit {self.commit} | "
            f"{self.date} | trackbench {self.trackbench}",
            f"results: {self.results_command}",
            f"figure: {self.report_command}",
        ]

    def as_text(self) -> str:
        """One paragraph, for image metadata."""
        versions = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        return " / ".join([*self.lines(), f"versions: {versions}", f"made {self.generated}"])


def provenance(section: Section, report_command: str, generated: str | None = None) -> Provenance:
    """The provenance of one section, with the command that makes the report."""
    runs = section.runs
    memory = [_gib(r.params.get(MEMORY)) for r in runs]
    return Provenance(
        suite_id=section.suite_id,
        machine=section.machine,
        os=_joined([r.get(S.OS) for r in runs]),
        cpu=_joined([r.get(S.CPU) for r in runs]),
        python=_joined([r.get(S.PYTHON) for r in runs]),
        memory=_joined(memory, NOT_RECORDED),
        filesystem=_joined([r.get(FILESYSTEM, "") for r in runs], NOT_RECORDED),
        commit=_joined([r.commit_label for r in runs]),
        date=runs[0].date if runs else "unknown date",
        results_command=_joined([public_command(r.get(S.COMMAND, "")) for r in runs]),
        report_command=public_command(report_command),
        generated=generated or now(),
        versions=section.versions(),
        trackbench=trackbench_version(),
        seed=_joined([r.get(S.SEED) for r in runs]),
        grid=_joined([r.get(S.GRID) for r in runs]),
    )


def now() -> str:
    """The current time, UTC, to the minute."""
    return dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# A cell's own folder (scenarios/cell.py names them so), wherever the suite's machine keeps
# its temporary files: shown as `<cell>`, its work/, home/ and tmp/ kept after it.
CELL_FOLDER = re.compile(r"(?:/[^\s'\"():]*)?/trackbench-cell-[^/\s'\"():]+")
# A framework's files inside an environment: shown from its site-packages on.
SITE_PACKAGES = re.compile(r"/[^\s'\"():]*/lib/python[0-9.]+/site-packages(?=/|\b)")
# Not preceded by what continues a path: `<cell>/tmp` is the cell's, not the machine's.
OUTSIDE_A_PATH = r"(?<![\w.~$>/-])"
# Home folders of any machine (the suite may have run elsewhere than the report).
HOMES = re.compile(rf"{OUTSIDE_A_PATH}(?:/home|/Users)/[^/\s'\"():]+(?=/|\b)")


def public_text(text: str) -> str:
    """A recorded text with the machine's own paths shortened: a cell's folder as `<cell>`,
    an environment's files from `site-packages/` on, a home as `~`, the temporary directory
    as `$TMPDIR`."""
    if "/" not in text:
        return text
    out = CELL_FOLDER.sub("<cell>", text)
    out = SITE_PACKAGES.sub("<env>/site-packages", out)
    for folder, shown in ((Path.home(), "~"), (Path(tempfile.gettempdir()), "$TMPDIR")):
        here = os.fspath(folder)
        if len(here) > 1:  # never "/"; nor a folder of that name inside another path
            out = re.sub(rf"{OUTSIDE_A_PATH}{re.escape(here)}(?=/|\b)", shown, out)
    return HOMES.sub("~", out)


def public_url(url: str) -> str:
    """A database as a published page names it: an SQLite file by its name, any other URL
    without its password, query (host paths, options) and fragment."""
    path = sqlite_path(url)
    if path is not None:
        return os.path.basename(path) or path
    parts = urlsplit(url)
    if not parts.scheme:
        return _public_path(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _public_path(path: str) -> str:
    """A path relative to the working directory when it is inside it, else its name."""
    full = os.path.abspath(os.path.expanduser(path))
    here = os.getcwd()
    if full == here or full.startswith(here.rstrip(os.sep) + os.sep):
        return os.path.relpath(full, here)
    return os.path.basename(full.rstrip(os.sep)) or full


def _public_word(word: str) -> str:
    option, eq, value = word.partition("=")
    if eq and option.startswith("-"):
        return f"{option}={_public_word(value)}"
    if "://" in word:
        return public_url(word)
    if word.startswith(("/", "~")):
        return _public_path(word)
    return public_text(word)


def public_command(command: str) -> str:
    """A command line as a published page shows it: each path relative to the working
    directory or by its name, each database URL by `public_url`."""
    try:
        words = shlex.split(command)
    except ValueError:  # unbalanced quotes: shorten what can be, leave the rest
        return public_text(command)
    return shlex.join(_public_word(w) for w in words) if words else command


def _public_value(value: Any) -> Any:
    if isinstance(value, str):
        return public_text(value)
    if isinstance(value, dict):
        return {k: _public_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public_value(v) for v in value]
    return value


def published(section: Section) -> Section:
    """The section with every text its cells recorded (reasons, paths left behind, value-kind
    verdicts) passed through `public_text`, for a page meant to be published."""
    cells = section.cells.copy()
    for column in cells.columns:
        if cells[column].dtype.kind == "O":  # text (object or pandas' str) and JSON values
            cells[column] = cells[column].map(_public_value)
    return replace(section, cells=cells)
