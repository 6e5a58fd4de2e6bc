"""Recording suites: one run of the experiment `suites` per suite run, one run per cell.

The runner writes each cell as soon as it is measured, as one completed run of its scenario's
experiment in the schema's names, and asks what a suite already holds when it resumes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from results import schema as S
from results.cells import plain
from results.database import open_existing, open_for_writing

INTERRUPTED = "interrupted"  # the status of a suite run stopped by Ctrl-C or SIGTERM


class StoredCell(NamedTuple):
    """A cell already recorded for a suite."""

    framework: str
    scenario: str
    config: dict[str, Any]  # the scenario's own parameters
    repetition: int
    outcome: str
    process_ns: Any  # the writer process's whole time: what the suite spent on the cell
    framework_version: str
    schema_version: Any


class Store:
    """A results database opened to record suites (creating it if needed, unless `existing`)."""

    def __init__(self, db: str, *, existing: bool = False) -> None:
        # resuming a database that is not there must not leave an empty one behind
        self.db = open_existing(db) if existing else open_for_writing(db)
        self._experiments: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<results.Store {self.db.backend.url}>"

    def close(self) -> None:
        """Close the database (a suite run left open is ended as COMPLETED by the tracker)."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------------

    def begin_suite(
        self, suite_id: str, params: Mapping[str, Any], fields: Mapping[str, Any]
    ) -> Any:
        """Record the start of a suite run (durable at once); the tracker run that holds it."""
        run = self.db.experiment(S.SUITES_EXPERIMENT).run(
            suite_id,
            params={S.SCHEMA_VERSION_PARAM: S.SCHEMA_VERSION, S.SUITE_ID: suite_id, **params},
        )
        for name, value in fields.items():
            run[name] = value
        run.flush()
        return run

    @staticmethod
    def end_suite(run: Any, fields: Mapping[str, Any], interrupted: bool) -> None:
        """Record how a suite run ended: completed, or interrupted (and resumable)."""
        for name, value in fields.items():
            run[name] = value
        if interrupted:
            run.end(INTERRUPTED)
        else:
            run.end()

    def write_cell(
        self,
        scenario: str,
        name: str,
        *,
        suite_id: str,
        machine: str,
        framework: str,
        role: str,
        config: Mapping[str, Any],
        repetition: int,
        result: Mapping[str, Any],
        requirement: str = "",
    ) -> None:
        """Store one cell's result as one completed run (params and fields of the schema);
        `requirement` is the `--with` one its framework ran with instead of its pin."""
        exp = self._experiments.get(scenario)
        if exp is None:
            exp = self._experiments[scenario] = self.db.experiment(scenario)
        params: dict[str, Any] = {
            S.SCHEMA_VERSION_PARAM: S.SCHEMA_VERSION,
            S.SUITE_ID: suite_id,
            S.FRAMEWORK: framework,
            S.FRAMEWORK_VERSION: str(result.get(S.FRAMEWORK_VERSION) or ""),
            S.ROLE: role,
            **config,
            S.REPETITION: repetition,
            S.MACHINE_PARAM: machine,
        }
        if requirement:
            params[S.REQUIREMENT] = requirement
        run = exp.run(name, params=params, tags=[str(result.get(S.OUTCOME))])
        for field in (*S.CELL_FIELDS, *S.SCENARIO_FIELDS, *S.SCENARIO_NUMBERS):
            value = result.get(field)
            if value is not None:
                run[field] = value
        if result.get(S.OUTSIDE_PATHS):
            run[S.OUTSIDE_PATHS] = json.dumps(result[S.OUTSIDE_PATHS])
        if result.get(S.HARNESS_FAILURE):
            run[S.HARNESS_FAILURE] = str(result[S.HARNESS_FAILURE])
        run.end()

    # -- what is already stored ---------------------------------------------------------------

    def _suites(self) -> Any:
        """The suite runs as a runs_df() frame, or None when no suite was ever recorded."""
        if S.SUITES_EXPERIMENT not in self.db.experiments():
            return None
        frame = self.db.experiment(S.SUITES_EXPERIMENT).runs_df()
        return frame if S.PARAM_PREFIX + S.SUITE_ID in frame.columns else None

    def latest_suite(self, grid: str) -> tuple[str, int] | None:
        """(suite id, seed) of the most recent suite run of `grid`, if any."""
        frame = self._suites()
        grid_col = S.PARAM_PREFIX + S.GRID
        if frame is None or grid_col not in frame.columns:
            return None
        frame = frame[frame[grid_col] == grid].sort_values("id")
        if frame.empty:
            return None
        last = frame.iloc[-1]
        return str(last[S.PARAM_PREFIX + S.SUITE_ID]), _seed(last)

    def seed_of(self, suite_id: str) -> int | None:
        """The seed a suite was first run with, or None if the suite is unknown."""
        frame = self._suites()
        if frame is None:
            return None
        rows = frame[frame[S.PARAM_PREFIX + S.SUITE_ID] == suite_id]
        return None if rows.empty else _seed(rows.iloc[0])

    def stored_cells(
        self, suite_id: str, scenarios: Mapping[str, Sequence[str]]
    ) -> list[StoredCell]:
        """The cells of `suite_id` in these scenarios (name -> its parameter names) that are
        stored for good: neither half written, failed by the harness nor skipped (all three
        run again, or are decided again)."""
        from tracker.run import COMPLETED

        out: list[StoredCell] = []
        names = set(self.db.experiments())
        for scenario, own in scenarios.items():
            if scenario not in names:
                continue
            frame = self.db.experiment(scenario).runs_df()
            column = S.PARAM_PREFIX + S.SUITE_ID
            if column not in frame.columns:
                continue
            for record in frame[frame[column] == suite_id].to_dict("records"):
                if record.get("status") != COMPLETED:
                    continue  # stopped half way (killed hard): run again
                if rerun_reason(record):
                    continue  # the harness's failure, not a result about the framework
                if record.get(S.FIELD_PREFIX + S.OUTCOME) == S.SKIPPED:
                    continue  # the limits' decision: decided again (a larger budget runs it)
                version = plain(record.get(S.PARAM_PREFIX + S.FRAMEWORK_VERSION))
                out.append(
                    StoredCell(
                        framework=str(record[S.PARAM_PREFIX + S.FRAMEWORK]),
                        scenario=scenario,
                        config={n: plain(record.get(S.PARAM_PREFIX + n)) for n in own},
                        repetition=int(plain(record[S.PARAM_PREFIX + S.REPETITION])),
                        outcome=str(record.get(S.FIELD_PREFIX + S.OUTCOME)),
                        process_ns=plain(record.get(S.FIELD_PREFIX + S.PROCESS_NS)),
                        framework_version="" if version is None else str(version),
                        schema_version=plain(record.get(S.PARAM_PREFIX + S.SCHEMA_VERSION_PARAM)),
                    )
                )
        return out


def rerun_reason(record: Mapping[str, Any]) -> str:
    """Why `--resume` runs a stored cell (a runs_df() record) again: the harness failed it
    (an environment that did not build) or its outcome was never stored; "" otherwise."""
    if not plain(record.get(S.FIELD_PREFIX + S.OUTCOME)):
        return S.NO_OUTCOME
    return str(plain(record.get(S.FIELD_PREFIX + S.HARNESS_FAILURE)) or "")


def _seed(record: Any) -> int:
    return int(plain(record.get(S.PARAM_PREFIX + S.SEED)) or 0)
