"""Every cell and suite run of a results database, read back through the tracker as one table.

A cell is one run of a scenario experiment. `load()` returns every cell of every scenario as
one pandas DataFrame (fixed columns, then each scenario's own parameters, then the schema's
fields) and every suite run as a `SuiteRun`, and says which machine each cell ran on, so that
nothing downstream can pool results from different machines by accident.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from results import schema as S
from results.database import one_line, open_existing, to_url
from results.errors import UsageError, need

if TYPE_CHECKING:  # pandas is imported only by the functions that need it
    import pandas as pd

# The fixed columns of the cells table, before the scenario parameters and the fields.
SCENARIO = "scenario"
RUN_ID = "run_id"
RUN_NAME = "run_name"
CONFIG = "config"  # a label of the scenario parameters, e.g. "n_values=1000"
MACHINE = "machine"
LEAD_COLUMNS = (
    SCENARIO,
    S.SUITE_ID,
    MACHINE,
    S.FRAMEWORK,
    S.FRAMEWORK_VERSION,
    S.ROLE,
    CONFIG,
    S.REPETITION,
    S.SCHEMA_VERSION_PARAM,
    RUN_ID,
    RUN_NAME,
)
TEXT_FIELDS = (S.OUTCOME, S.FIDELITY, S.REASON, S.DURABILITY)
NUMBER_FIELDS = tuple(
    f for f in (*S.CELL_FIELDS, *S.SCENARIO_NUMBERS, *S.OLD_FIELDS) if f not in TEXT_FIELDS
)
# Derived: which field is the cell's headline (S.headline: tracking_ns, read_ns, or schema 1's
# wall_ns) and its value, so that reports read one column whatever the schema version.
HEADLINE = "headline"
HEADLINE_NS = "headline_ns"


@dataclass(frozen=True)
class SuiteRun:
    """One run of the `suites` experiment: where, when and how a suite (or a shard) ran."""

    suite_id: str
    machine: str
    params: dict[str, Any]
    started: float | None  # Unix seconds
    run_id: Any = None
    fields: dict[str, Any] = field(default_factory=dict)

    def get(self, name: str, default: str = "unknown") -> str:
        """A suite param as text, or `default` when it was not recorded."""
        value = self.params.get(name)
        return default if value is None else str(value)

    @property
    def date(self) -> str:
        """When the suite run started, UTC, to the minute."""
        if self.started is None:
            return "unknown date"
        when = dt.datetime.fromtimestamp(self.started, tz=dt.UTC)
        return when.strftime("%Y-%m-%d %H:%M UTC")

    @property
    def commit_label(self) -> str:
        """The commit, with `+dirty` when the work tree had uncommitted changes, and
        `+dirty?` when git could not say (never shown as clean)."""
        if S.DIRTY in self.params and self.params[S.DIRTY] is None:
            return self.get(S.COMMIT) + "+dirty?"
        return self.get(S.COMMIT) + ("+dirty" if _truthy(self.params.get(S.DIRTY)) else "")

    def declarations(self) -> dict[str, dict[str, Any]]:
        """What each framework's adapter declared when the suite ran ({} before they were kept)."""
        text = self.fields.get(S.DECLARATIONS)
        try:
            found = json.loads(text) if isinstance(text, str) else {}
        except ValueError:
            return {}
        return found if isinstance(found, dict) else {}


@dataclass
class Results:
    """Every cell and suite run of one results database."""

    url: str
    cells: pd.DataFrame
    suite_runs: list[SuiteRun]
    # each scenario's own parameter names, in the order the runner wrote them
    scenario_params: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def suite_ids(self) -> list[str]:
        """Suite ids, oldest first."""
        order: dict[str, float] = {}
        for run in self.suite_runs:
            started = run.started if run.started is not None else math.inf
            order[run.suite_id] = min(order.get(run.suite_id, math.inf), started)
        for sid in self.cells[S.SUITE_ID].unique():
            order.setdefault(str(sid), math.inf)
        return sorted(order, key=lambda sid: (order[sid], sid))

    def runs_of(self, suite_id: str) -> list[SuiteRun]:
        """The suite runs (one, or one per shard or resume) recorded for a suite id."""
        return [r for r in self.suite_runs if r.suite_id == suite_id]

    def check_suite(self, suite_id: str) -> None:
        """Raise a one-line UsageError naming the known suites if `suite_id` is not one."""
        known = self.suite_ids()
        if suite_id not in known:
            listed = ", ".join(known) if known else "none"
            raise UsageError(f"unknown suite id {suite_id!r} in {self.url} (known: {listed})")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    return bool(value) and not (isinstance(value, float) and math.isnan(value))


def load(db: str) -> Results:
    """Read every cell and suite run of a results database (path or URL)."""
    url = to_url(db)
    need("pandas", "frames")
    conn = open_existing(db)
    try:
        names = list(conn.experiments())
        if S.SUITES_EXPERIMENT not in names:
            raise UsageError(f"{url} holds no trackbench results (no experiment 'suites')")
        suites = conn.experiment(S.SUITES_EXPERIMENT).runs_df()
        frames = {}
        for name in names:
            if name == S.SUITES_EXPERIMENT:
                continue
            frame = conn.experiment(name).runs_df()
            # an experiment without the cell params is not a scenario (someone else's data)
            if S.PARAM_PREFIX + S.SUITE_ID in frame.columns:
                frames[name] = frame
    except UsageError:
        raise
    except Exception as exc:  # a damaged or foreign database: say so in one line
        raise UsageError(f"cannot read results database {url}: {one_line(exc)}") from None
    finally:
        close = getattr(conn, "close", None)
        if close is not None:
            close()
    return from_frames(url, frames, suites)


def is_missing(value: Any) -> bool:
    """None, NaN, pandas' NA or NaT."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def plain(value: Any) -> Any:
    """A pandas/NumPy cell value as a plain Python value; None for missing."""
    if is_missing(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer() and abs(value) < 2**53:
            return int(value)
    return value


def _seconds(value: Any) -> float | None:
    """Unix seconds from a pandas Timestamp or a number; None when missing."""
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return None if is_missing(value) else float(value.timestamp())
    number = plain(value)
    return None if number is None else float(number)


def _suite_runs(frame: pd.DataFrame) -> list[SuiteRun]:
    runs = []
    prefix = S.PARAM_PREFIX
    for record in frame.to_dict("records"):
        params = {
            str(k)[len(prefix) :]: plain(v) for k, v in record.items() if str(k).startswith(prefix)
        }
        sid = params.get(S.SUITE_ID)
        if sid is None:
            continue
        fields = {
            str(k)[len(S.FIELD_PREFIX) :]: plain(v)
            for k, v in record.items()
            if str(k).startswith(S.FIELD_PREFIX)
        }
        started = _seconds(record.get("created_at"))
        runs.append(
            SuiteRun(
                suite_id=str(sid),
                machine=str(params.get(S.MACHINE) or "unknown machine"),
                params=params,
                started=started,
                run_id=plain(record.get("id")),
                fields=fields,
            )
        )
    runs.sort(key=lambda r: (r.started if r.started is not None else math.inf, r.suite_id))
    return runs


def _no_outcome(row: dict[str, Any], record: Mapping[Any, Any]) -> str:
    """The reason shown for a cell whose outcome was never stored: the harness's failure."""
    reason = f"; {row[S.REASON]}" if row[S.REASON] else ""
    return (
        f"harness failure: interrupted, no outcome stored (run "
        f"{plain(record.get('status')) or 'unknown'}: the harness stopped while writing it; "
        f"--resume runs it again){reason}"
    )


def _schema1_role(framework: str) -> str:
    """A cell's role where it was not recorded (schema 1): the reference by its name."""
    return S.REFERENCE if framework == S.REFERENCE_FRAMEWORK else S.TRACKER


def config_label(params: Sequence[tuple[str, Any]]) -> str:
    """`n_runs=10, n_values=100`; `default` for a scenario without parameters."""
    return ", ".join(f"{k}={v}" for k, v in params) if params else "default"


def _number(value: Any, url: str, scenario: str, run_id: Any, name: str) -> float:
    """A cell's numeric field as a float (NaN when absent); anything else is refused."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UsageError(
            f"{url}: the {scenario} cell in run {run_id} has {name} = {str(value)[:40]!r}, not "
            f"a number; something other than trackbench changed this database (delete that "
            f"run or restore a copy)"
        )
    return float(value)


def _identity(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row[c] for c in (SCENARIO, S.SUITE_ID, MACHINE, S.FRAMEWORK, CONFIG,
                                  S.REPETITION))  # fmt: skip


def _without_superseded(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows less each `skipped` cell that a later run of the same cell replaced (`--resume`
    decides a skipped cell again, and runs again what the harness failed): a measured cell
    is never dropped, even where the same cell was measured twice."""
    latest: dict[tuple[Any, ...], Any] = {}
    for row in rows:
        key, run_id = _identity(row), row[RUN_ID]
        if key not in latest or _later(run_id, latest[key]):
            latest[key] = run_id
    return [r for r in rows if r[S.OUTCOME] != S.SKIPPED or r[RUN_ID] == latest[_identity(r)]]


def _later(run_id: Any, other: Any) -> bool:
    try:
        return bool(run_id > other)
    except TypeError:  # ids of another kind: keep the first seen
        return False


def from_frames(url: str, scenarios: dict[str, pd.DataFrame], suites: pd.DataFrame) -> Results:
    """Build Results from runs_df() frames: one per scenario experiment, and the suites'."""
    import pandas as pd

    suite_runs = _suite_runs(suites)
    machines: dict[str, set[str]] = {}
    for run in suite_runs:
        machines.setdefault(run.suite_id, set()).add(run.machine)

    rows: list[dict[str, Any]] = []
    scenario_params: dict[str, tuple[str, ...]] = {}
    for scenario, frame in scenarios.items():
        own = tuple(
            str(c)[len(S.PARAM_PREFIX) :]
            for c in frame.columns
            if str(c).startswith(S.PARAM_PREFIX)
            and str(c)[len(S.PARAM_PREFIX) :] not in S.NON_SCENARIO_PARAMS
        )
        scenario_params[scenario] = own
        implied = S.IMPLIED_PARAMS.get(scenario, {})
        for record in frame.to_dict("records"):
            param = {
                name: plain(record.get(S.PARAM_PREFIX + name))
                for name in (*S.CELL_PARAMS, S.MACHINE_PARAM, *own)
            }
            for name in set(implied) & set(own):  # a cell stored before the parameter existed
                if param[name] is None:
                    param[name] = implied[name]
            version = param[S.SCHEMA_VERSION_PARAM]
            S.check_version(version, url)
            sid = str(param[S.SUITE_ID])
            machine = param[S.MACHINE_PARAM]
            if machine is None:
                known = machines.get(sid, set())
                if len(known) > 1:
                    # a sharded suite whose cells do not say where they ran: pooling its
                    # cells would mix machines, so refuse rather than guess
                    raise UsageError(
                        f"suite {sid} ran on several machines ({', '.join(sorted(known))}) and "
                        "its cells do not record theirs: report each machine's suite apart"
                    )
                machine = next(iter(known)) if known else "unknown machine"
            config = [
                (name, param[name])
                for name in own
                if param[name] is not None and param[name] != implied.get(name)
            ]
            row: dict[str, Any] = {
                SCENARIO: scenario,
                S.SUITE_ID: sid,
                MACHINE: str(machine),
                S.FRAMEWORK: str(param[S.FRAMEWORK]),
                S.FRAMEWORK_VERSION: (
                    "" if param[S.FRAMEWORK_VERSION] is None else str(param[S.FRAMEWORK_VERSION])
                ),
                S.ROLE: str(param[S.ROLE] or _schema1_role(str(param[S.FRAMEWORK]))),
                CONFIG: config_label(config),
                S.REPETITION: param[S.REPETITION],
                S.SCHEMA_VERSION_PARAM: version,
                RUN_ID: plain(record.get("id")),
                RUN_NAME: plain(record.get("name")),
            }
            for name in own:
                row[name] = param[name]
            for name in TEXT_FIELDS:
                value = plain(record.get(S.FIELD_PREFIX + name))
                row[name] = "" if value is None else str(value)
            if not row[S.OUTCOME]:  # the manager died while writing it: not the framework's
                row[S.OUTCOME], row[S.REASON] = S.SKIPPED, _no_outcome(row, record)
            for name in NUMBER_FIELDS:
                value = plain(record.get(S.FIELD_PREFIX + name))
                row[name] = _number(value, url, scenario, record.get("id"), name)
            row[HEADLINE] = S.headline(scenario, version)
            row[HEADLINE_NS] = row[row[HEADLINE]]
            for name in S.SCENARIO_FIELDS:  # a dict or text, in that scenario's cells only
                row[name] = plain(record.get(S.FIELD_PREFIX + name))
            paths = plain(record.get(S.FIELD_PREFIX + S.OUTSIDE_PATHS))
            row[S.OUTSIDE_PATHS] = "" if paths is None else str(paths)
            rows.append(row)
    rows = _without_superseded(rows)

    all_params: list[str] = []
    for own in scenario_params.values():
        all_params.extend(p for p in own if p not in all_params)
    fields = [*TEXT_FIELDS, *NUMBER_FIELDS, HEADLINE, HEADLINE_NS, S.OUTSIDE_PATHS,
              *S.SCENARIO_FIELDS]  # fmt: skip
    clash = set(all_params) & {*LEAD_COLUMNS, *fields}
    if clash:
        raise UsageError(f"scenario parameters clash with result columns: {sorted(clash)}")
    columns = [*LEAD_COLUMNS, *all_params, *fields]
    cells = pd.DataFrame(rows, columns=columns)
    for name in all_params:
        values = [row.get(name) for row in rows]  # as read, before pandas chose a dtype
        kinds = {type(v) for v in values if v is not None}
        if kinds == {int}:  # keep integer parameters integers (not 100.0) despite the gaps
            cells[name] = pd.array(values, dtype="Int64")
        elif kinds and not kinds <= {int, float}:
            cells[name] = pd.Series(values, dtype=object)
    return Results(url=url, cells=cells, suite_runs=suite_runs, scenario_params=scenario_params)
