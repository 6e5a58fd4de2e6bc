"""Run a suite: cells (framework x scenario x parameters x repetition), one at a time.

Each cell runs in a fresh worker process through `scenarios.cell.run_cell` and its result is
written at once as one run of the reference tracker (one experiment per scenario), in the
names of `reports/schema.py`; the suite itself is one run of the experiment `suites`. So an
interrupt (Ctrl-C, SIGTERM) loses only the cell in progress, and `resume` skips every cell
whose identity (suite, framework, scenario, parameters, repetition) is already stored.

Order: all cells of a scenario's smaller configurations run before any of its larger ones
(so that the grid's cell cap and framework budget can stop a framework from climbing);
within each size round the order is shuffled with a recorded seed.

The manager never imports a framework: what an adapter supports comes from the worker's
`--describe`, and a cell needing a capability the adapter does not declare is stored as
`unsupported` without starting a process.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from reports import schema as S
from scenarios import envs, grids, workloads
from scenarios.cell import RESULT_KEYS

DEFAULT_DB = "results/trackbench.db"
ROOT = Path(__file__).resolve().parent.parent


class RunnerError(Exception):
    """Bad input to the runner (unknown framework or scenario, bad shard, no database)."""


class Cell(NamedTuple):
    """One cell: a framework running one configuration of a scenario, one repetition."""

    framework: str
    scenario: str
    params: tuple[tuple[str, Any], ...]  # the scenario's own parameters, defaults applied
    repetition: int
    rank: int  # the configuration's size round: smaller configurations run first

    @property
    def config(self) -> dict[str, Any]:
        """The scenario parameters as a dict."""
        return dict(self.params)

    def key(self) -> str:
        """The cell's identity within a suite (framework, scenario, parameters, repetition)."""
        return identity(self.framework, self.scenario, self.config, self.repetition)

    def label(self) -> str:
        """`mlflow many_runs n_runs=10 n_values=10 #2` (repetitions counted from 0)."""
        config = " ".join(f"{k}={v}" for k, v in self.params)
        return (
            f"{self.framework} {self.scenario}{' ' + config if config else ''} #{self.repetition}"
        )


def identity(framework: str, scenario: str, config: Mapping[str, Any], repetition: int) -> str:
    """A canonical text key of a cell's identity (the suite id aside)."""
    return json.dumps([framework, scenario, sorted(config.items()), repetition])


def shard_of(cell: Cell, count: int) -> int:
    """The shard (0-based) a cell belongs to: every repetition of a configuration alike."""
    text = json.dumps([cell.framework, cell.scenario, sorted(cell.params)])
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % count


def parse_shard(text: str) -> tuple[int, int]:
    """`i/n` (1-based) as (i - 1, n); RunnerError if malformed."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i = n = 0
    if not sep or n < 1 or not 1 <= i <= n:
        raise RunnerError(f"--shard wants i/n with 1 <= i <= n (e.g. 2/3), got {text!r}")
    return i - 1, n


# --- planning ------------------------------------------------------------------------------


def resolve_frameworks(
    names: Sequence[str] | None, grid: grids.Grid, described: Mapping[str, Any]
) -> list[str]:
    """The frameworks a suite runs: `names`, or every registered one the grid does not exclude."""
    if not names:
        return [n for n in described if n not in grid.exclude]
    from adapters.registry import ADAPTERS  # names only: no adapter module is imported

    out = []
    for name in names:
        info = described.get(name)
        if info is None or (":" not in name and name not in ADAPTERS):
            raise RunnerError(f"unknown framework {name!r}; known: {', '.join(ADAPTERS)}")
        if "error" in info:
            raise RunnerError(f"framework {name!r}: {info['error']}")
        if name not in out:
            out.append(name)
    return out


def scenario_configs(
    grid: grids.Grid,
    scenarios: Sequence[str] | None = None,
    spec: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    overrides: Mapping[str, Mapping[str, Sequence[Any]]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Each scenario's configurations, defaults applied, smallest first.

    `spec` (a user's own workload) replaces the grid's scenarios; `overrides` (from
    `--set scenario.param=value[,value]`) replace one parameter in every configuration of
    a scenario, adding the scenario with its defaults if it was not there.
    """
    base: dict[str, list[Mapping[str, Any]]] = {
        name: list(configs) for name, configs in (spec or grid.scenarios).items()
    }
    for name in overrides or {}:
        base.setdefault(name, [{}])
    if scenarios:
        for name in scenarios:
            check_scenario(name)
        base = {name: base.get(name, [{}]) for name in scenarios}
    out: dict[str, list[dict[str, Any]]] = {}
    for name, configs in base.items():
        workload = check_scenario(name)
        expanded: list[dict[str, Any]] = []
        for config in configs:
            for changed in _apply(config, (overrides or {}).get(name, {})):
                try:
                    full = workload.params(changed)
                except KeyError as exc:
                    raise RunnerError(str(exc.args[0])) from None
                if full not in expanded:
                    expanded.append(full)
        out[name] = sorted(expanded, key=grids.size)
    return out


def _apply(config: Mapping[str, Any], changes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    out = [dict(config)]
    for name, values in changes.items():
        out = [{**c, name: v} for c in out for v in values]
    return out


def check_scenario(name: str) -> workloads.Workload:
    """The workload of a benchmark scenario; RunnerError naming the known ones otherwise."""
    if name not in workloads.SCENARIOS:
        raise RunnerError(f"unknown scenario {name!r}; known: {', '.join(workloads.SCENARIOS)}")
    return workloads.get(name)


def plan_cells(
    frameworks: Sequence[str],
    configs: Mapping[str, Sequence[Mapping[str, Any]]],
    repeat: int,
    shard: tuple[int, int] | None = None,
) -> list[Cell]:
    """Every cell, in a fixed (unshuffled) order, optionally only those of one shard."""
    cells = []
    for framework in frameworks:
        for scenario, scenario_configs_ in configs.items():
            for rank, config in enumerate(scenario_configs_):
                for repetition in range(repeat):
                    cells.append(Cell(framework, scenario, tuple(config.items()), repetition, rank))
    if shard is not None:
        index, count = shard
        cells = [c for c in cells if shard_of(c, count) == index]
    return cells


def order(cells: Sequence[Cell], seed: int) -> list[Cell]:
    """Round by round, each shuffled with `seed`: smaller sizes first, and within a size every
    configuration's first repetition before any second (so a budget trims repetitions last,
    and an interrupted suite has measured every configuration once)."""
    rng = random.Random(seed)
    rounds: dict[tuple[int, int], list[Cell]] = defaultdict(list)
    for cell in cells:
        rounds[(cell.rank, cell.repetition)].append(cell)
    out: list[Cell] = []
    for rank in sorted(rounds):
        group = sorted(rounds[rank], key=Cell.key)  # shuffled from a canonical order
        rng.shuffle(group)
        out.extend(group)
    return out


# --- the limits that stop a framework climbing ---------------------------------------------


class Limits:
    """The grid's cell cap and framework budget, fed with every finished cell."""

    def __init__(self, cell_cap: float, framework_budget: float) -> None:
        self.cell_cap = cell_cap
        self.framework_budget = framework_budget
        self.spent: dict[str, float] = defaultdict(float)
        self.ran: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.measured: set[str] = set()  # configurations with an ok cell
        self.over: dict[tuple[str, str], list[tuple[dict[str, Any], str]]] = defaultdict(list)
        self.timed_out: set[str] = set()

    def record(self, cell: Cell, outcome: str, wall_ns: Any) -> None:
        """Account for a finished (or stored) cell."""
        seconds = float(wall_ns) / 1e9 if isinstance(wall_ns, (int, float)) else 0.0
        where = (cell.framework, cell.scenario)
        self.spent[cell.framework] += seconds
        if outcome in (S.OK, S.TIMEOUT, S.CRASH, S.BAD_OUTPUT):
            self.ran[where].append(cell.config)
        if outcome == S.OK:
            self.measured.add(identity(cell.framework, cell.scenario, cell.config, -1))
        if outcome == S.TIMEOUT:
            self.over[where].append((cell.config, f"timed out after {seconds:.0f} s"))
            self.timed_out.add(identity(cell.framework, cell.scenario, cell.config, -1))
        elif outcome == S.OK and seconds > self.cell_cap:
            self.over[where].append(
                (cell.config, f"took {seconds:.1f} s, over the {self.cell_cap:g} s cell cap")
            )

    def why_skip(self, cell: Cell) -> str:
        """Why the cell must not run (a reason for `skipped`), or "" when it may."""
        where = (cell.framework, cell.scenario)
        if identity(cell.framework, cell.scenario, cell.config, -1) in self.timed_out:
            return "another repetition of this configuration timed out"
        for config, why in self.over[where]:
            if grids.dominates(cell.config, config):
                return f"the smaller configuration {_config_text(config)} {why}"
        spent = self.spent[cell.framework]
        if spent <= self.framework_budget:
            return ""
        budget = f"{cell.framework} spent {spent:.0f} s of its {self.framework_budget:g} s budget"
        if identity(cell.framework, cell.scenario, cell.config, -1) in self.measured:
            return f"{budget}: no more repetitions of a configuration already measured"
        if any(grids.dominates(cell.config, c) for c in self.ran[where]):
            return f"{budget}: no larger configurations"
        return ""


def _config_text(config: Mapping[str, Any]) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in config.items()) + ")"


# --- provenance ----------------------------------------------------------------------------


def _git(*args: str) -> str:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read only: never touch the index
    try:
        proc = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def machine_info() -> dict[str, Any]:
    """Machine, OS, CPU, Python, commit and dirty flag, as suite params."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    system = f"{platform.system()} {platform.release()}"
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system += f" ({line.split('=', 1)[1].strip(chr(34))})"
    commit = _git("rev-parse", "HEAD") or "unknown"
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        S.MACHINE: platform.node() or "unknown",
        S.OS: system,
        S.CPU: f"{cpu} x{os.cpu_count()}",
        S.PYTHON: f"{platform.python_implementation()} {platform.python_version()}",
        S.COMMIT: commit,
        S.DIRTY: dirty,
    }


# --- the results database ------------------------------------------------------------------


def connect(url: str) -> Any:
    """Open the results database (creating an SQLite file); RunnerError if unreachable."""
    import tracker

    try:
        if "://" not in url:
            Path(url).parent.mkdir(parents=True, exist_ok=True)
        elif url.startswith("sqlite:///"):
            Path(url[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
        return tracker.connect(url)
    except Exception as exc:  # the driver's or the OS's error: one line either way
        text = str(exc).strip().splitlines()
        raise RunnerError(
            f"cannot open results database {url}: {text[0] if text else exc!r}"
        ) from None


def _plain(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float):
        if value != value:  # NaN: pandas' gap
            return None
        if value.is_integer():
            return int(value)
    return value


class Stored(NamedTuple):
    """A cell already in the database."""

    cell: Cell
    outcome: str
    wall_ns: Any
    framework_version: str


def stored_cells(
    db: Any, suite_id: str, configs: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[Stored]:
    """The completed cells of `suite_id` in the scenarios of `configs`."""
    from tracker.run import COMPLETED

    out: list[Stored] = []
    names = set(db.experiments())
    for scenario, scenario_configs_ in configs.items():
        if scenario not in names:
            continue
        own = list(workloads.get(scenario).defaults)
        ranks = {json.dumps(sorted(c.items())): i for i, c in enumerate(scenario_configs_)}
        frame = db.experiment(scenario).runs_df()
        column = S.PARAM_PREFIX + S.SUITE_ID
        if column not in frame.columns:
            continue
        for record in frame[frame[column] == suite_id].to_dict("records"):
            if record.get("status") != COMPLETED:
                continue  # stopped half way (killed hard): run again
            config = {n: _plain(record.get(S.PARAM_PREFIX + n)) for n in own}
            rank = ranks.get(json.dumps(sorted(config.items())), 0)
            cell = Cell(
                str(record[S.PARAM_PREFIX + S.FRAMEWORK]),
                scenario,
                tuple(config.items()),
                int(_plain(record[S.PARAM_PREFIX + S.REPETITION])),
                rank,
            )
            version = _plain(record.get(S.PARAM_PREFIX + S.FRAMEWORK_VERSION))
            out.append(
                Stored(
                    cell,
                    str(record.get(S.FIELD_PREFIX + S.OUTCOME)),
                    _plain(record.get(S.FIELD_PREFIX + S.WALL_NS)),
                    "" if version is None else str(version),
                )
            )
    return out


def latest_suite(db: Any, grid: str) -> tuple[str, int] | None:
    """(suite id, seed) of the most recent suite run of `grid` in the database, if any."""
    if S.SUITES_EXPERIMENT not in db.experiments():
        return None
    frame = db.experiment(S.SUITES_EXPERIMENT).runs_df()
    grid_col, sid_col = S.PARAM_PREFIX + S.GRID, S.PARAM_PREFIX + S.SUITE_ID
    if grid_col not in frame.columns or sid_col not in frame.columns:
        return None
    frame = frame[frame[grid_col] == grid].sort_values("id")
    if frame.empty:
        return None
    last = frame.iloc[-1]
    return str(last[sid_col]), int(_plain(last.get(S.PARAM_PREFIX + S.SEED)) or 0)


def write_cell(
    exp: Any,
    cell: Cell,
    suite_id: str,
    machine: str,
    result: Mapping[str, Any],
) -> None:
    """Store one cell's result as one completed run (params and fields of the schema)."""
    params: dict[str, Any] = {
        S.SCHEMA_VERSION_PARAM: S.SCHEMA_VERSION,
        S.SUITE_ID: suite_id,
        S.FRAMEWORK: cell.framework,
        S.FRAMEWORK_VERSION: str(result.get("framework_version") or ""),
        **cell.config,
        S.REPETITION: cell.repetition,
        S.MACHINE_PARAM: machine,
    }
    run = exp.run(cell.label(), params=params, tags=[str(result.get(S.OUTCOME))])
    for name in S.CELL_FIELDS:
        value = result.get(name)
        if value is not None:
            run[name] = value
    if result.get("outside_paths"):
        # which files, for a reader chasing `outside_files` (not a schema field)
        run["outside_paths"] = json.dumps(result["outside_paths"])
    run.end()


def decided(outcome: str, reason: str, version: str = "") -> dict[str, Any]:
    """A result the manager decides without starting a worker (unsupported, skipped)."""
    result: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    result.update(outcome=outcome, fidelity=S.NOT_CHECKED, reason=reason, framework_version=version)
    return result


# --- progress ------------------------------------------------------------------------------


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """A progress bar with an ETA on a stream (one line per cell when not a terminal)."""

    def __init__(self, estimates: Sequence[float], stream: TextIO | None = None) -> None:
        self.estimates = list(estimates)
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.done = 0
        self.spent_estimate = 0.0

    def eta(self) -> float:
        """Seconds left: the remaining estimates scaled by how the finished cells compared."""
        elapsed = time.monotonic() - self.started
        remaining = sum(self.estimates[self.done :])
        scale = elapsed / self.spent_estimate if self.spent_estimate > 1.0 else 1.0
        return remaining * scale

    def step(self, label: str, outcome: str, seconds: float) -> None:
        """One cell finished."""
        self.spent_estimate += self.estimates[self.done] if self.done < len(self.estimates) else 0
        self.done += 1
        total = len(self.estimates)
        elapsed = time.monotonic() - self.started
        head = f"{self.done:>{len(str(total))}}/{total}"
        times = f"elapsed {_clock(elapsed)}, ETA {_clock(self.eta())}"
        if self.tty:
            width = 24
            filled = int(width * self.done / max(total, 1))
            bar = "#" * filled + "." * (width - filled)
            text = f"\r[{bar}] {head} {times}  {label}: {outcome} {seconds:.2f} s"
            self.stream.write(text[:160].ljust(160))
            if self.done == total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{head}] {label}: {outcome} {seconds:.2f} s ({times})\n")
        self.stream.flush()

    def say(self, text: str) -> None:
        """A message on its own line."""
        self.stream.write(("\n" if self.tty and self.done else "") + text + "\n")
        self.stream.flush()


# --- the suite -----------------------------------------------------------------------------


class Options(NamedTuple):
    """Everything a suite run needs (the command line builds this)."""

    grid: str = "quick"
    frameworks: Sequence[str] = ()
    scenarios: Sequence[str] = ()
    repeat: int | None = None
    db: str = DEFAULT_DB
    resume: bool = False
    suite: str | None = None
    shard: tuple[int, int] | None = None
    seed: int | None = None
    spec: Mapping[str, Sequence[Mapping[str, Any]]] | None = None
    spec_frameworks: Sequence[str] = ()
    overrides: Mapping[str, Mapping[str, Sequence[Any]]] | None = None
    command: str = ""
    timeout: float | None = None
    cell_cap: float | None = None  # default: the grid's
    framework_budget: float | None = None  # default: the grid's
    # the interpreter for every worker instead of the frameworks' environments (tests)
    python: str | None = None
    build: bool = True


class Summary(NamedTuple):
    """What a suite run did."""

    suite_id: str
    seed: int
    planned: int
    already_stored: int
    ran: int
    outcomes: dict[str, int]
    interrupted: bool
    seconds: float


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM behaves as Ctrl-C while the suite runs: the cell in progress is abandoned."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: nothing to install
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while a cell is written, so a run is never half stored."""
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def run_suite(
    options: Options,
    *,
    stream: TextIO | None = None,
    run_cell: Callable[..., dict[str, Any]] | None = None,
) -> Summary:
    """Plan, order and run a suite, storing every cell as soon as it is measured."""
    from scenarios import cell as cell_module

    run_one = run_cell or cell_module.run_cell
    grid = grids.get(options.grid) if options.grid in grids.GRIDS else None
    if grid is None:
        raise RunnerError(f"unknown grid {options.grid!r}; known: {', '.join(grids.GRIDS)}")
    repeat = options.repeat if options.repeat is not None else grid.repeat
    if repeat < 1:
        raise RunnerError(f"--repeat must be at least 1, got {repeat}")
    timeout = options.timeout or grid.timeout
    configs = scenario_configs(grid, options.scenarios, options.spec, options.overrides)
    described = _describe(options.frameworks or options.spec_frameworks)
    frameworks = resolve_frameworks(options.frameworks or options.spec_frameworks, grid, described)
    cells = plan_cells(frameworks, configs, repeat, options.shard)
    grid_label = "spec" if options.spec else grid.name

    db = connect(options.db)
    progress: Progress | None = None
    try:
        info = machine_info()
        suite_id, seed = _suite_identity(db, options, grid_label, info, configs, frameworks)
        stored = stored_cells(db, suite_id, configs) if options.resume else []
        limits = Limits(
            options.cell_cap if options.cell_cap is not None else grid.cell_cap,
            options.framework_budget
            if options.framework_budget is not None
            else grid.framework_budget,
        )
        versions: dict[str, str] = {}
        for item in stored:
            limits.record(item.cell, item.outcome, item.wall_ns)
            if item.framework_version:
                versions.setdefault(item.cell.framework, item.framework_version)
        done = {item.cell.key() for item in stored}
        todo = [c for c in order(cells, seed) if c.key() not in done]
        estimates = _estimates(todo, described, limits.framework_budget)
        progress = Progress(estimates, stream)
        progress.say(
            f"suite {suite_id} ({grid_label}, seed {seed}): {len(cells)} cells, "
            f"{len(cells) - len(todo)} already stored, {len(todo)} to run "
            f"(estimate {_clock(sum(estimates))}) into {options.db}"
        )
        pythons: dict[str, str] = {}
        env_errors: dict[str, str] = {}
        if not options.python:
            pythons, env_errors = _ensure_envs(todo, described, progress, options)
        suite_run = db.experiment(S.SUITES_EXPERIMENT).run(
            suite_id,
            params={
                S.SCHEMA_VERSION_PARAM: S.SCHEMA_VERSION,
                S.SUITE_ID: suite_id,
                **info,
                S.COMMAND: options.command,
                S.SEED: seed,
                S.GRID: grid_label,
            },
        )
        suite_run["frameworks"] = " ".join(frameworks)
        suite_run["scenarios"] = " ".join(configs)
        suite_run["repeat"] = repeat
        suite_run["configs"] = json.dumps(configs)
        suite_run["shard"] = f"{options.shard[0] + 1}/{options.shard[1]}" if options.shard else ""
        suite_run["cells_planned"] = len(cells)
        suite_run["cells_stored_before"] = len(cells) - len(todo)
        suite_run.flush()
        experiments: dict[str, Any] = {}
        outcomes: dict[str, int] = defaultdict(int)
        started = time.monotonic()
        interrupted = False
        ran = 0
        with _sigterm_interrupts():
            try:
                for cell in todo:
                    result = _measure(
                        cell,
                        described,
                        limits,
                        versions,
                        env_errors,
                        timeout,
                        pythons.get(cell.framework, options.python),
                        run_one,
                    )
                    with _signals_held():
                        exp = experiments.get(cell.scenario)
                        if exp is None:
                            exp = experiments[cell.scenario] = db.experiment(cell.scenario)
                        write_cell(exp, cell, suite_id, info[S.MACHINE], result)
                        ran += 1  # counted with the write: a signal lands after both
                    limits.record(cell, result[S.OUTCOME], result.get(S.WALL_NS))
                    if result.get("framework_version"):
                        versions.setdefault(cell.framework, str(result["framework_version"]))
                    outcomes[result[S.OUTCOME]] += 1
                    wall = result.get(S.WALL_NS)
                    progress.step(
                        cell.label(), result[S.OUTCOME], wall / 1e9 if wall is not None else 0.0
                    )
            except KeyboardInterrupt:
                interrupted = True
            seconds = time.monotonic() - started
            with _signals_held():
                suite_run["cells_run"] = ran
                suite_run["wall_seconds"] = round(seconds, 3)
                suite_run.end("interrupted" if interrupted else "COMPLETED")
        if interrupted:
            progress.say(
                f"interrupted: {ran} cells stored in this session; "
                f"`trackbench run --resume --suite {suite_id}` (same options) continues"
            )
        return Summary(
            suite_id,
            seed,
            len(cells),
            len(cells) - len(todo),
            ran,
            dict(outcomes),
            interrupted,
            seconds,
        )
    finally:
        db.close()


def _describe(names: Sequence[str]) -> dict[str, Any]:
    try:
        return envs.describe(tuple(names))
    except envs.EnvError as exc:
        raise RunnerError(str(exc)) from None


def _estimates(cells: Sequence[Cell], described: Mapping[str, Any], budget: float) -> list[float]:
    """Each cell's estimated seconds, in order; 0 for those unsupported or past the budget."""
    spent: dict[str, float] = defaultdict(float)
    measured: set[str] = set()
    out = []
    for cell in cells:
        config = identity(cell.framework, cell.scenario, cell.config, -1)
        if not _supports(described, cell) or (
            spent[cell.framework] > budget and config in measured
        ):
            out.append(grids.UNSUPPORTED_ESTIMATE)
            continue
        seconds = grids.estimate_seconds(cell.framework, cell.scenario, cell.config)
        spent[cell.framework] += seconds
        measured.add(config)
        out.append(seconds)
    return out


def _supports(described: Mapping[str, Any], cell: Cell) -> bool:
    needs = workloads.get(cell.scenario).needs
    return needs <= set(described.get(cell.framework, {}).get("supports", ()))


def _suite_identity(
    db: Any,
    options: Options,
    grid_label: str,
    info: Mapping[str, Any],
    configs: Mapping[str, Any],
    frameworks: Sequence[str],
) -> tuple[str, int]:
    """(suite id, seed): given, resumed from the database, derived for shards, or new."""
    seed = options.seed
    if options.suite:
        suite_id = options.suite
        if seed is None and options.resume:
            found = _seed_of(db, suite_id)
            seed = found if found is not None else None
    elif options.resume:
        latest = latest_suite(db, grid_label)
        if latest is None:
            raise RunnerError(f"--resume: no earlier {grid_label!r} suite in {options.db}")
        suite_id = latest[0]
        seed = latest[1] if seed is None else seed
    elif options.shard is not None:
        # every machine running the same command on the same commit gets the same suite id
        plan = json.dumps([grid_label, sorted(frameworks), configs, options.repeat, seed])
        digest = hashlib.sha256(f"{info[S.COMMIT]}\n{plan}".encode()).hexdigest()[:10]
        suite_id = f"{grid_label}-{digest}"
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        suite_id = f"{grid_label}-{stamp}-{os.urandom(2).hex()}"
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    return suite_id, seed


def _seed_of(db: Any, suite_id: str) -> int | None:
    if S.SUITES_EXPERIMENT not in db.experiments():
        return None
    frame = db.experiment(S.SUITES_EXPERIMENT).runs_df()
    column = S.PARAM_PREFIX + S.SUITE_ID
    if column not in frame.columns:
        return None
    rows = frame[frame[column] == suite_id]
    if rows.empty:
        return None
    return int(_plain(rows.iloc[0].get(S.PARAM_PREFIX + S.SEED)) or 0)


def _ensure_envs(
    cells: Sequence[Cell], described: Mapping[str, Any], progress: Progress, options: Options
) -> tuple[dict[str, str], dict[str, str]]:
    """Build each needed environment that is missing: (framework -> interpreter, framework ->
    error for failed builds).

    The interpreters are fixed here, once per suite: an edit to `tracker/` while the suite
    runs makes a new environment key, but every cell of the suite keeps measuring the same
    snapshot of the code it started with.
    """
    pythons: dict[str, str] = {}
    errors: dict[str, str] = {}
    needed = sorted({c.framework for c in cells if _supports(described, c)})
    for name in needed:
        try:
            spec = envs.spec_for(name, info=described[name])
            if spec.state() != "ready":
                if not options.build:
                    errors[name] = (
                        f"environment {spec.state()} (run `trackbench envs --build {name}`)"
                    )
                    continue
                progress.say(f"building the {name} environment ...")
                info = envs.build(spec, echo=progress.say)
                progress.say(f"built {name} in {info['build_seconds']:.1f} s")
            pythons[name] = os.fspath(spec.python)
        except envs.EnvError as exc:
            errors[name] = f"environment: {exc}"
            progress.say(f"{name}: {exc}")
    return pythons, errors


def _measure(
    cell: Cell,
    described: Mapping[str, Any],
    limits: Limits,
    versions: Mapping[str, str],
    env_errors: Mapping[str, str],
    timeout: float,
    python: str | None,
    run_one: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """The cell's result: decided here (unsupported, skipped) or measured by a worker."""
    version = versions.get(cell.framework, "")
    supports = set(described.get(cell.framework, {}).get("supports", ()))
    missing = sorted(workloads.get(cell.scenario).needs - supports)
    if missing:
        return decided(S.UNSUPPORTED, f"{cell.framework} does not declare {', '.join(missing)}",
                       version)  # fmt: skip
    why = limits.why_skip(cell)
    if why:
        return decided(S.SKIPPED, why, version)
    if cell.framework in env_errors:
        return decided(S.CRASH, env_errors[cell.framework], version)
    try:
        result = run_one(cell.framework, cell.scenario, cell.config, timeout, python=python)
    except envs.EnvError as exc:
        return decided(S.CRASH, f"environment: {exc}", version)
    return result
