"""Run a suite: plan its cells, run each in a fresh worker process, store each result at once.

Each cell runs through `scenarios.cell.run_cell` and its result is written as soon as it is
measured, through `results.store` (one run of the reference tracker per cell, one experiment
per scenario; the suite itself is one run of the experiment `suites`). So an interrupt
(Ctrl-C, SIGTERM) loses only the cell in progress, and `resume` skips every cell whose
identity (suite, framework, scenario, parameters, repetition) is already stored, but for the
harness's failures (an environment that did not build, an outcome never stored), which run
again, and skipped cells, which the limits decide again (a larger budget runs them).

The manager never imports a framework: what an adapter supports comes from the worker's
`--describe`, and a cell needing a capability the adapter does not declare is stored as
`unsupported` without starting a process. Which frameworks, by which label and
requirement (another version by `--with`), is `scenarios/frameworks.py`; the planning
`scenarios/plan.py`, the rule that stops a framework climbing `scenarios/limits.py`, the
display `scenarios/progress.py`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple, TextIO

from results import schema as S
from results.database import DEFAULT_DB
from results.errors import UsageError
from results.provenance import ENV_LOCK, ENV_SIZE_BYTES, machine_info
from results.store import Store
from scenarios import envs, estimates, grids, plan, workloads
from scenarios import frameworks as suite_frameworks
from scenarios.cell import RESULT_KEYS
from scenarios.limits import Limits
from scenarios.plan import Cell
from scenarios.progress import Progress, clock


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
    runs_per_day: float | None = None  # a spec's: how many runs of its workload a day
    # the interpreter for every worker instead of the frameworks' environments (tests)
    python: str | None = None
    build: bool = True
    # `--with`: requirements that replace the pin of each framework whose own distribution
    # they name; such a framework runs, and is stored, as `name@version`
    with_: tuple[str, ...] = ()


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
    grid = grids.GRIDS.get(options.grid)
    if grid is None:
        raise UsageError(f"unknown grid {options.grid!r}; known: {', '.join(grids.GRIDS)}")
    repeat = options.repeat if options.repeat is not None else grid.repeat
    if repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {repeat}")
    timeout = options.timeout or grid.timeout
    configs = plan.scenario_configs(grid, options.scenarios, options.spec, options.overrides)
    chosen, described = suite_frameworks.choose(
        options.frameworks or options.spec_frameworks, options.with_, grid
    )
    frameworks = list(chosen)
    cells = plan.plan_cells(frameworks, configs, repeat, options.shard)
    grid_label = "spec" if options.spec else grid.name

    # a resume (not a shard's first run) needs the database it resumes: never create one
    existing = options.resume and options.shard is None
    try:
        store = Store(options.db, existing=existing)
    except UsageError as exc:
        raise UsageError(f"--resume: {exc}" if existing else str(exc)) from None
    try:
        info = machine_info()
        suite_id, seed = _suite_identity(store, options, grid_label, info, configs, frameworks)
        limits = _limits(options, grid)
        versions: dict[str, str] = {}
        done = _resumed(store, suite_id, configs, limits, versions) if options.resume else set()
        todo = [c for c in plan.order(cells, seed) if c.key() not in done]
        supports = {name: described[name].get("supports", ()) for name in frameworks}
        progress = Progress(estimates.estimate_cells(todo, supports, limits), stream)
        progress.say(
            f"suite {suite_id} ({grid_label}, seed {seed}): {len(cells)} cells, "
            f"{len(cells) - len(todo)} already stored, {len(todo)} to run "
            f"(estimate {clock(sum(progress.estimates))}) into {options.db}"
        )
        stale = cell_module.remove_stale_folders()
        if stale:
            progress.say(f"removed {stale} cell folders of earlier runs that were killed")
        pythons: dict[str, str] = {}
        env_errors: dict[str, str] = {}
        declarations = {name: dict(described[name]) for name in frameworks}
        if not options.python:
            pythons, env_errors = _ensure_envs(
                todo, chosen, described, progress, options, declarations
            )
        suite_run = store.begin_suite(
            suite_id,
            params={**info, S.COMMAND: options.command, S.SEED: seed, S.GRID: grid_label},
            fields={
                "frameworks": " ".join(frameworks),
                "scenarios": " ".join(configs),
                "repeat": repeat,
                "configs": json.dumps(configs),
                "shard": f"{options.shard[0] + 1}/{options.shard[1]}" if options.shard else "",
                "cells_planned": len(cells),
                "cells_stored_before": len(cells) - len(todo),
                S.DECLARATIONS: json.dumps(declarations),
                **({S.RUNS_PER_DAY: options.runs_per_day} if options.runs_per_day else {}),
            },
        )
        outcomes: dict[str, int] = defaultdict(int)
        started = time.monotonic()
        interrupted = False
        ran = 0
        with _sigterm_interrupts():
            try:
                for cell in todo:
                    declared = described[cell.framework]
                    result = _measure(
                        cell,
                        chosen[cell.framework].adapter,
                        declared,
                        limits,
                        versions.get(cell.framework, ""),
                        env_errors,
                        timeout,
                        pythons.get(cell.framework, options.python),
                        run_one,
                        cell_seed(seed, cell),
                    )
                    result[S.DURABILITY] = declared.get("durability", "")
                    with _signals_held():
                        store.write_cell(
                            cell.scenario,
                            cell.label(),
                            suite_id=suite_id,
                            machine=info[S.MACHINE],
                            framework=cell.framework,
                            role=declared.get("role", S.TRACKER),
                            config=cell.config,
                            repetition=cell.repetition,
                            result=result,
                            requirement=chosen[cell.framework].installed,
                        )
                        ran += 1  # counted with the write: a signal lands after both
                    limits.record(cell, result[S.OUTCOME], result.get(S.PROCESS_NS))
                    if result.get(S.FRAMEWORK_VERSION):
                        versions.setdefault(cell.framework, str(result[S.FRAMEWORK_VERSION]))
                    outcomes[result[S.OUTCOME]] += 1
                    shown = result.get(S.headline(cell.scenario, S.SCHEMA_VERSION))
                    progress.step(
                        cell.label(),
                        result[S.OUTCOME],
                        shown / 1e9 if shown is not None else 0.0,
                        str(result.get(S.REASON) or ""),
                    )
            except KeyboardInterrupt:
                interrupted = True
            seconds = time.monotonic() - started
            with _signals_held():
                store.end_suite(
                    suite_run,
                    {"cells_run": ran, "wall_seconds": round(seconds, 3)},
                    interrupted,
                )
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
        store.close()


def _limits(options: Options, grid: grids.Grid) -> Limits:
    """The suite's cell cap and framework budget: given, else the grid's. A spec has no
    budget unless it is given one: it runs every repetition it asks for (the cell cap still
    stops a framework climbing past a configuration that took too long, and says so)."""
    import math

    if options.framework_budget is not None:
        budget = options.framework_budget
    else:
        budget = math.inf if options.spec else grid.framework_budget
    return Limits.of(grid, options.cell_cap, budget)


def _resumed(
    store: Store,
    suite_id: str,
    configs: Mapping[str, Sequence[Mapping[str, Any]]],
    limits: Limits,
    versions: dict[str, str],
) -> set[str]:
    """The keys of the cells the suite already stored, each fed to the limits as it ran."""
    ranks = {
        plan.identity("", name, config, -1): rank
        for name, scenario_configs in configs.items()
        for rank, config in enumerate(scenario_configs)
    }
    own = {name: list(workloads.get(name).defaults) for name in configs}
    done = set()
    for item in store.stored_cells(suite_id, own):
        if item.schema_version != S.SCHEMA_VERSION:
            raise UsageError(
                f"suite {suite_id} holds cells of results schema {item.schema_version}; this "
                f"trackbench writes schema {S.SCHEMA_VERSION}: start a new suite instead"
            )
        rank = ranks.get(plan.identity("", item.scenario, item.config, -1), 0)
        cell = Cell(item.framework, item.scenario, tuple(item.config.items()), item.repetition,
                    rank)  # fmt: skip
        limits.record(cell, item.outcome, item.process_ns)
        if item.framework_version:
            versions.setdefault(item.framework, item.framework_version)
        done.add(cell.key())
    return done


def _suite_identity(
    store: Store,
    options: Options,
    grid_label: str,
    info: Mapping[str, Any],
    configs: Mapping[str, Any],
    frameworks: Sequence[str],
) -> tuple[str, int]:
    """(suite id, seed): given, derived for shards, the latest one resumed, or new.

    A shard's id is derived from the commit and the plan, so every machine running the same
    command gets the same suite, and `--resume` continues that suite (not the latest one).
    """
    seed = options.seed
    if options.suite:
        suite_id = options.suite
    elif options.shard is not None:
        layout = json.dumps([grid_label, sorted(frameworks), configs, options.repeat, seed])
        digest = hashlib.sha256(f"{info[S.COMMIT]}\n{layout}".encode()).hexdigest()[:10]
        suite_id = f"{grid_label}-{digest}"
    elif options.resume:
        latest = store.latest_suite(grid_label)
        if latest is None:
            raise UsageError(f"--resume: no earlier {grid_label!r} suite in {options.db}")
        suite_id = latest[0]
    else:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        suite_id = f"{grid_label}-{stamp}-{os.urandom(2).hex()}"
    if seed is None and options.resume:
        seed = store.seed_of(suite_id)  # the order it started with, if it is stored
    if seed is None:
        seed = int.from_bytes(os.urandom(4), "big")
    return suite_id, seed


def _ensure_envs(
    cells: Sequence[Cell],
    chosen: Mapping[str, suite_frameworks.Framework],
    described: Mapping[str, Any],
    progress: Progress,
    options: Options,
    declarations: Mapping[str, dict[str, Any]],
) -> tuple[dict[str, str], dict[str, str]]:
    """Build each needed environment that is missing: (framework label -> interpreter, label
    -> error for failed builds); each environment's size goes beside its framework's
    `declarations`, for the report.

    The interpreters are fixed here, once per suite: an edit to `tracker/` while the suite
    runs makes a new environment key, but every cell of the suite keeps measuring the same
    snapshot of the code it started with.
    """
    pythons: dict[str, str] = {}
    errors: dict[str, str] = {}
    needed = sorted(
        {
            c.framework
            for c in cells
            if not workloads.get(c.scenario).missing(described[c.framework].get("supports", ()))
        }
    )
    for name in needed:
        adapter, with_ = chosen[name].adapter, chosen[name].with_
        try:
            spec = envs.spec_for(adapter, with_, info=described[name])
            if spec.state() != "ready":
                if not options.build:
                    errors[name] = (
                        f"environment {spec.state()} (run `{envs.build_command(adapter, with_)}`)"
                    )
                    continue
                progress.say(f"building the {name} environment ...")
                info = envs.build(spec, echo=progress.say)
                progress.say(f"built {name} in {info['build_seconds']:.1f} s")
            size = (spec.info() or {}).get("size_bytes")
            if size is not None:
                declarations[name][ENV_SIZE_BYTES] = size
            declarations[name][ENV_LOCK] = spec.lock_note
            pythons[name] = os.fspath(spec.python)
        except envs.EnvError as exc:
            errors[name] = f"environment: {exc}"
            progress.say(f"{name}: {exc}")
    return pythons, errors


def _measure(
    cell: Cell,
    adapter: str,
    declared: Mapping[str, Any],
    limits: Limits,
    version: str,
    env_errors: Mapping[str, str],
    timeout: float,
    python: str | None,
    run_one: Callable[..., dict[str, Any]],
    seed: int,
) -> dict[str, Any]:
    """The cell's result: decided here (unsupported, skipped) or measured by a worker."""
    why = workloads.get(cell.scenario).why_unsupported(cell.framework, declared)
    if why:
        return decided(S.UNSUPPORTED, why, version)
    why = limits.why_skip(cell)
    if why:
        return decided(S.SKIPPED, why, version)
    if cell.framework in env_errors:
        return harness_failed(env_errors[cell.framework], version)
    try:
        return run_one(
            adapter, cell.scenario, cell.config, timeout, python=python,
            declared=declared, seed=seed,
        )  # fmt: skip
    except envs.EnvError as exc:
        return harness_failed(f"environment: {exc}", version)


def cell_seed(suite_seed: int, cell: Cell) -> int:
    """A cell's own seed, from the suite's and the cell's identity: a resumed suite gives a
    cell the same one (where the crash scenario's writer is killed)."""
    import zlib

    return zlib.crc32(repr((suite_seed, cell.key())).encode())


def decided(outcome: str, reason: str, version: str = "") -> dict[str, Any]:
    """A result the manager decides without starting a worker (unsupported, skipped)."""
    result: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    result.update(outcome=outcome, fidelity=S.NOT_CHECKED, reason=reason, framework_version=version)
    return result


def harness_failed(reason: str, version: str = "") -> dict[str, Any]:
    """A cell the harness could not run (its environment did not build): `skipped`, marked as
    the harness's failure so that `--resume` runs it again; never the framework's crash."""
    result = decided(S.SKIPPED, f"harness failure: {reason}", version)
    result[S.HARNESS_FAILURE] = S.ENVIRONMENT_FAILED
    return result
