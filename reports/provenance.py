"""Where results come from: the machine, versions, date, commit and commands of a section.

Every page and every image of a report carries this, so a figure found alone still says what
it measured and how to measure it again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from reports.analysis import Section
from results import schema as S


def trackbench_version() -> str:
    """The installed trackbench version, or `unknown` when run from a source tree."""
    try:
        return version("trackbench")
    except PackageNotFoundError:
        return "unknown"


def _joined(values: list[str]) -> str:
    return " | ".join(dict.fromkeys(v for v in values if v)) or "unknown"


@dataclass(frozen=True)
class Provenance:
    """What a report page or image says about its origin."""

    suite_id: str
    machine: str
    os: str
    cpu: str
    python: str
    commit: str  # with "+dirty" when the work tree had changes; several if the suite resumed
    date: str  # when the suite started
    results_command: str  # the command that produced the results
    report_command: str  # the command that produced this page or image
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
    return Provenance(
        suite_id=section.suite_id,
        machine=section.machine,
        os=_joined([r.get(S.OS) for r in runs]),
        cpu=_joined([r.get(S.CPU) for r in runs]),
        python=_joined([r.get(S.PYTHON) for r in runs]),
        commit=_joined([r.commit_label for r in runs]),
        date=runs[0].date if runs else "unknown date",
        results_command=_joined([r.get(S.COMMAND, "") for r in runs]),
        report_command=report_command,
        generated=generated or now(),
        versions=section.versions(),
        trackbench=trackbench_version(),
        seed=_joined([r.get(S.SEED) for r in runs]),
        grid=_joined([r.get(S.GRID) for r in runs]),
    )


def now() -> str:
    """The current time, UTC, to the minute."""
    return dt.datetime.now(tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
