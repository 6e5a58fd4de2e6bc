"""One section per framework, and the failures collapsed: what the report says of each
framework beside the scenario tables.

Everything here comes from what the adapters declared when the suite ran
(`analysis.declared`) and from the cells: nothing is read from the adapters of the machine
making the report, which may have changed since.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from reports import analysis, plots
from reports.analysis import Failure, Leftover, Section
from results import schema as S
from results.cells import CONFIG, HEADLINE_NS, SCENARIO
from results.provenance import ENV_LOCK, ENV_SIZE_BYTES


@dataclass(frozen=True)
class TimeSpent:
    """Where one framework's time goes in one configuration of one writing scenario."""

    scenario: str
    config: str
    seconds: float  # median of the headline over the ok cells
    phases: dict[str, float]  # phase label (plots.PHASE_LABELS, plots.REST) -> median ns


@dataclass(frozen=True)
class Profile:
    """What the report says of one framework: declared by its adapter, or seen in its cells."""

    name: str
    role: str
    version: str
    env_bytes: int | None  # None: the suite did not record it (before issue 18, or --python)
    env_lock: str  # locked, or why not (`unlocked: no lock`); "" when not recorded
    time: list[TimeSpent]
    arrays: str  # the adapter's array_mechanism
    durability: str
    flush_note: str  # what its flush() does not keep, as its adapter documents
    losses: tuple[str, ...]  # the documented loss, then any other the lossy cells recorded
    leaves_behind: str  # as declared
    leftover: Leftover | None  # as measured
    lacks: dict[str, str]  # capability -> why the framework has no mechanism for it
    unsupported: tuple[tuple[str, int, str], ...]  # (scenario, cells, reason)
    broken: str  # why it cannot run here, as declared
    other_outcomes: dict[str, int]  # crash, timeout, skipped, wrong data ... -> cells
    historical: str
    reader: str  # what reads its data back when not its own reader
    env: dict[str, str]  # the environment variables its adapter sets (how it was configured)
    declared: bool  # whether the suite kept its adapter's declarations (older ones did not)


def _writing(section: Section) -> list[str]:
    """The timed scenarios whose phases are the writer's (not a reading scenario's)."""
    return [
        sc for sc in section.timed_scenarios() if S.READ_NS not in analysis.headlines(section, sc)
    ]


def time_spent(section: Section, framework: str) -> list[TimeSpent]:
    """Per writing scenario, the phase medians in its largest configuration where the
    framework has ok cells (the one where its costs show most)."""
    cells = section.cells
    mine = cells[(cells[S.FRAMEWORK] == framework) & (cells[S.OUTCOME] == S.OK)]
    out = []
    for scenario in _writing(section):
        ran = set(mine.loc[mine[SCENARIO] == scenario, CONFIG])
        configs = [c for c in section.configs(scenario) if c in ran]
        if not configs:
            continue
        config = configs[-1]
        seconds = analysis.median_of(section, scenario, config, framework, HEADLINE_NS) / 1e9
        medians = plots.phase_medians(section, scenario, config, framework)
        phases = {plots.PHASE_LABELS.get(k, k): v for k, v in medians.items() if not math.isnan(v)}
        if set(phases) - {plots.REST}:  # none recorded: nothing but the headline to show
            out.append(TimeSpent(scenario, config, seconds, phases))
    return out


def _text(value: object) -> str:
    return "" if value is None else str(value)


def profiles(section: Section) -> list[Profile]:
    """One profile per framework of the section, in the section's framework order."""
    decl = {
        name: analysis.declared(section, name)
        for name in ("array_mechanism", "durability", "flush_note", "fidelity",
                     "fidelity_note", "leaves_behind", "lacks", "broken", "historical",
                     "reader", "env", ENV_SIZE_BYTES, ENV_LOCK)
    }  # fmt: skip
    versions = section.versions()
    left = {x.framework: x for x in analysis.leftovers(section)}
    kept = {name for run in section.runs for name in run.declarations()}
    cells = section.cells
    out = []
    for name in section.frameworks():
        mine = cells[cells[S.FRAMEWORK] == name]
        ok = mine[mine[S.OUTCOME] == S.OK]
        losses = []
        if decl["fidelity"].get(name) == S.LOSSY and decl["fidelity_note"].get(name):
            losses.append(str(decl["fidelity_note"][name]))
        lossy = ok[ok[S.FIDELITY] == S.LOSSY]
        losses += [str(r) for r in lossy[S.REASON] if r]
        unsupported = mine[mine[S.OUTCOME] == S.UNSUPPORTED]
        groups = Counter(
            (rec[SCENARIO], rec[S.REASON] or "(no reason given)")
            for rec in unsupported.to_dict("records")
        )
        other = Counter(
            S.WRONG_DATA if rec[S.OUTCOME] == S.OK else (rec[S.OUTCOME] or "no outcome")
            for rec in mine.to_dict("records")
            if rec[S.OUTCOME] not in (S.OK, S.UNSUPPORTED) or rec[S.FIDELITY] == S.WRONG_DATA
        )
        lacks = decl["lacks"].get(name)
        env = decl["env"].get(name)
        size = decl[ENV_SIZE_BYTES].get(name)
        out.append(
            Profile(
                name=name,
                role=str(mine[S.ROLE].iloc[0]),
                version=versions.get(name, "unknown"),
                env_bytes=int(size) if isinstance(size, (int, float)) else None,
                env_lock=_text(decl[ENV_LOCK].get(name)),
                time=time_spent(section, name),
                arrays=_text(decl["array_mechanism"].get(name)),
                durability=", ".join(sorted({d for d in mine[S.DURABILITY] if d}))
                or _text(decl["durability"].get(name)),
                flush_note=_text(decl["flush_note"].get(name)),
                losses=tuple(dict.fromkeys(losses)),
                leaves_behind=_text(decl["leaves_behind"].get(name)),
                leftover=left.get(name),
                lacks={str(k): str(v) for k, v in lacks.items()} if isinstance(lacks, dict) else {},
                unsupported=tuple((sc, n, why) for (sc, why), n in groups.items()),
                broken=_text(decl["broken"].get(name)),
                other_outcomes=dict(other),
                historical=_text(decl["historical"].get(name)),
                reader=_text(decl["reader"].get(name)),
                env={str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {},
                declared=name in kept,
            )
        )
    return out


# A reason's line longer than this is shown by its end (the full text is a click away).
LAST_LINE_CHARS = 240


@dataclass(frozen=True)
class FailureGroup:
    """Cells of one framework with the same outcome and reason, across configurations and
    repetitions."""

    framework: str
    outcome: str
    reason: str  # the whole text
    cells: int
    where: tuple[str, ...]  # `scenario (configuration)`, in the order first seen

    @property
    def last_line(self) -> str:
        """The reason's last line (a traceback's exception), its end when it is long."""
        lines = [line.strip() for line in self.reason.splitlines() if line.strip()]
        last = lines[-1] if lines else "(no reason given)"
        return last if len(last) <= LAST_LINE_CHARS else "..." + last[-LAST_LINE_CHARS:]

    @property
    def cut(self) -> bool:
        """Whether the last line leaves some of the reason out."""
        whole = self.reason.strip()
        return bool(whole) and self.last_line != whole


def failure_groups(failures: list[Failure]) -> list[FailureGroup]:
    """`analysis.failures` collapsed: one group per (framework, outcome, reason), in the
    order the failures are listed."""
    groups: dict[tuple[str, str, str], list[Failure]] = {}
    for f in failures:
        groups.setdefault((f.framework, f.outcome, f.reason), []).append(f)
    return [
        FailureGroup(
            *key,
            cells=sum(len(f.repetitions) for f in found),
            where=tuple(dict.fromkeys(f"{f.scenario} ({f.config})" for f in found)),
        )
        for key, found in groups.items()
    ]
