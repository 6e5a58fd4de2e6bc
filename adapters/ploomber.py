"""ploomber-engine tracking: the adapter writes the script it tracks; results in SQLite."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    FLUSH,
    LARGE_ARRAYS,
    LOSSY,
    MANY_RUNS,
    POWER,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Unsupported,
)

# A parameter naming the run, passed with the run's params: ploomber-engine's tracking has
# no experiments, runs or names, only one row of values per execution.
RUN_KEY = "trackbench_run"
NO_STEPS = (
    "ploomber-engine tracking stores one value per name per execution (each cell's last "
    "expression): no steps, so no series"
)
NO_ARRAYS = (
    "ploomber-engine tracking stores a cell's text/plain output, parsed back only when it is "
    "a Python literal: an array becomes its repr string (8 significant digits, abbreviated "
    "past 1,000 elements)"
)


STORE = "ploomber"  # the experiments' databases, in the work directory


class PloomberAdapter(Adapter):
    """ploomber-engine `track_execution` of a generated percent-format script.

    A run maps onto one tracked execution: `start_run` begins a script, `log` adds one cell
    per value (`name = value` then `name`, whose output ploomber-engine records under that
    name), and `end_run` writes the script and executes it with `track_execution`, which
    inserts the params and every cell's output into sklearn-evaluation's SQLiteTracker
    (one SQLite file per experiment). So the tracking work happens in `end_run`.
    """

    name = "ploomber"
    # sklearn-evaluation's SQLiteTracker: SQLite's defaults, a commit per insert (strace: 32
    # fdatasync calls for one run)
    durability = POWER
    requirements = (
        "ploomber-engine==0.0.33",
        "jupytext==1.19.6",
        "sklearn-evaluation==0.12.2",
        # sklearn-evaluation 0.12.2 imports six without declaring it.
        "six==1.17.0",
    )
    env: ClassVar[dict[str, str]] = {
        # ploomber-core's telemetry (PostHog) and its PyPI version check.
        "PLOOMBER_STATS_ENABLED": "false",
        "PLOOMBER_VERSION_CHECK_DISABLED": "true",
        # ploomber-core keeps its settings and user id under ~/.ploomber by default.
        "PLOOMBER_HOME_DIR": "{workdir}/ploomber-home",
        # The IPython shell that executes the script keeps a profile under ~/.ipython.
        "IPYTHONDIR": "{workdir}/ipython",
        # sklearn-evaluation imports matplotlib, which writes its font cache under
        # ~/.cache/matplotlib; kept in the work directory, so every fresh process rebuilds
        # it (about 0.2 s of the import here, against a warm cache).
        "MPLCONFIGDIR": "{workdir}/matplotlib",
        "MPLBACKEND": "Agg",  # no display here; nothing is plotted
    }
    supports = frozenset({MANY_RUNS, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        STEPS: NO_STEPS,
        ARRAYS: NO_ARRAYS,
        LARGE_ARRAYS: NO_ARRAYS,
        # its SQLiteTracker is one SQLite file, but every concurrent writer logs series
        CONCURRENCY: "not measurable: the concurrency scenario logs series, and " + NO_STEPS,
        FLUSH: "track_execution is the whole tracked run: it inserts the parameters when the "
        "execution starts and upserts the cells' values only after the last cell has run; "
        "ploomber-engine has no call that stores the values of the cells run so far",
    }
    fidelity = LOSSY
    fidelity_note = (
        "values are recorded from each cell's text/plain output: NaN and infinities are not "
        "Python literals and come back as the strings 'nan', 'inf', '-inf'"
    )
    array_mechanism = "none: " + NO_ARRAYS
    leaves_behind = "nothing found outside the work directory; no processes"

    def load(self) -> None:
        """Import ploomber-engine's tracking (it imports jupytext and sklearn-evaluation)."""
        from ploomber_engine.tracking import track_execution

        self._track_execution = track_execution

    def open(self, workdir: Path, service: Any = None) -> None:
        """The scripts and databases live under WORKDIR/ploomber."""
        self._root = Path(workdir) / STORE
        self._scripts = self._root / "scripts"
        self._scripts.mkdir(parents=True, exist_ok=True)
        self._count = 0
        self._cells: list[str] = []

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Begin a script; the params are what track_execution injects into it."""
        if not experiment or "/" in experiment or experiment.startswith("."):
            raise Unsupported(f"experiment {experiment!r} cannot name a database file")
        self._experiment = experiment
        self._params = {**params, RUN_KEY: run_name}
        # The cell tagged "parameters": ploomber-engine injects the params after it.
        self._cells = ["# parameters"]
        self._names: set[str] = set()

    def log(self, values: dict[str, float], step: int) -> None:
        """One cell per value; a second value for a name (a step) is Unsupported."""
        if step != 0:
            raise Unsupported(NO_STEPS)
        for key, value in values.items():
            if not key.isidentifier():
                raise Unsupported(f"ploomber-engine records variables; {key!r} is not one")
            if key in self._names:
                raise Unsupported(NO_STEPS)
            self._names.add(key)
            self._cells.append(f"{key} = {_literal(value)}\n{key}")

    def log_array(self, name: str, array: Any) -> None:
        """Not possible: see NO_ARRAYS."""
        raise Unsupported(NO_ARRAYS)

    def end_run(self) -> None:
        """Write the script and run it under `track_execution`: the tracked execution."""
        self._count += 1
        script = self._scripts / f"run-{self._count}.py"
        script.write_text("".join(f"# %%\n{cell}\n\n" for cell in self._cells))
        database = self._root / f"{self._experiment}.db"
        self._track_execution(
            str(script), parameters=self._params, database=str(database), quiet=True
        )
        self._cells = []

    def finish(self) -> None:
        """Nothing left: SQLiteTracker commits each insert and update."""

    def read_back(self, workdir: Path, service: Any) -> list[RunData]:
        """Every row of every experiment's database, through sklearn-evaluation's tracker."""
        from sklearn_evaluation import SQLiteTracker

        runs = []
        for database in sorted((workdir / STORE).glob("*.db")):
            tracker = SQLiteTracker(str(database))
            try:
                rows = tracker.query(
                    "SELECT uuid, parameters FROM experiments ORDER BY rowid", as_frame=False
                ).rows
            finally:
                tracker.conn.close()
            for uuid, raw in rows:
                stored = json.loads(raw) if raw else {}
                run_name = str(stored.pop(RUN_KEY, uuid))
                # One flat dict per execution: params and cell outputs are not told apart.
                # All of it is reported as params, and the numeric entries (with the NaN
                # and infinity strings) also as values at step 0.
                metrics = {
                    key: [(0, _value(value))] for key, value in stored.items() if _is_value(value)
                }
                runs.append(
                    RunData(
                        experiment=database.stem,
                        run_name=run_name,
                        params=stored,
                        metrics=metrics,
                        arrays={},
                    )
                )
        return runs

    def expect_scalar(self, value: float) -> Any:
        """Finite floats come back exact; NaN and infinities as their repr strings."""
        return value if math.isfinite(value) else repr(value)


def _literal(value: float) -> str:
    """Python source for `value`: repr round-trips a finite float exactly."""
    value = float(value)
    return repr(value) if math.isfinite(value) else f"float({repr(value)!r})"


def _is_value(stored: Any) -> bool:
    """Whether a stored entry can be a logged value: a number, or NaN/inf as text."""
    if isinstance(stored, bool):
        return False
    return isinstance(stored, (int, float)) or stored in ("nan", "inf", "-inf")


def _value(stored: Any) -> Any:
    """A stored value as read: floats as Python floats, strings (nan, inf) as they are."""
    return float(stored) if isinstance(stored, (int, float)) else stored
