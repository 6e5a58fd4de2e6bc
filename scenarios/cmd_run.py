"""`trackbench run`, `list` and `bench-harness`: suites, the menu, the harness's own cost.

Bad input (unknown framework, scenario or grid, a malformed --set or --shard, a --with
that is no framework's distribution or no one version, a database that cannot be reached)
is a one-line UsageError, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from typing import Any

from results.errors import UsageError


def register(subparsers: Any) -> None:
    """Add the `run`, `list` and `bench-harness` subcommands."""
    from scenarios import grids
    from scenarios.cmd_envs import add_with_argument

    run = subparsers.add_parser(
        "run",
        help="run a benchmark suite into the results database",
        description="Run every cell (framework x scenario x parameters x repetition) of a "
        "grid in a fresh worker process each, in shuffled order, one at a time, storing each "
        "result as soon as it is measured.",
    )
    run.add_argument(
        "--grid",
        default="quick",
        metavar="NAME",
        help=f"one of {', '.join(grids.GRIDS)} (default quick)",
    )
    run.add_argument("--frameworks", nargs="+", metavar="NAME", help="default: all")
    run.add_argument("--scenarios", nargs="+", metavar="NAME", help="default: the grid's")
    run.add_argument("--repeat", type=int, metavar="N", help="repetitions (default: the grid's)")
    run.add_argument(
        "--db", default=None, metavar="URL", help="results database (default results/trackbench.db)"
    )
    run.add_argument(
        "--resume",
        action="store_true",
        help="skip cells already stored for this suite (the harness's failures run again)",
    )
    run.add_argument("--suite", metavar="ID", help="the suite id (to resume or share a suite)")
    run.add_argument(
        "--shard", metavar="I/N", help="run only shard I of N (all repetitions together)"
    )
    run.add_argument("--seed", type=int, help="seed of the shuffled order (default: random)")
    run.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="SCENARIO.PARAM=V[,V]",
        help="change a scenario parameter (repeatable)",
    )
    run.add_argument(
        "--spec",
        metavar="FILE",
        help="a TOML file describing your own workload (every key: the README's \"Your own "
        'workload"; e.g. examples/my-project.toml)',
    )
    run.add_argument("--timeout", type=float, metavar="S", help="per-cell time limit in seconds")
    run.add_argument(
        "--cell-cap",
        type=float,
        metavar="S",
        help="a cell slower than this stops its framework climbing (default: the grid's)",
    )
    run.add_argument(
        "--budget",
        type=float,
        metavar="S",
        help="seconds per framework before it stops repeating and climbing (default: the grid's)",
    )
    run.add_argument("--no-build", action="store_true", help="do not build missing environments")
    add_with_argument(
        run,
        many=True,
        note="; each framework whose own distribution REQ names (one version: NAME==VERSION "
        "or a wheel) runs in its own environment and is stored as NAME@VERSION; name "
        "NAME@VERSION in --frameworks beside NAME to measure both",
    )
    run.set_defaults(func=main_run)

    lst = subparsers.add_parser("list", help="list frameworks, scenarios and grids")
    lst.set_defaults(func=main_list)

    bench = subparsers.add_parser(
        "bench-harness",
        help="the harness's own cost: a null-adapter cell beside `python -I -c pass`",
    )
    bench.add_argument("-n", type=int, default=20, help="samples of each (default 20)")
    bench.add_argument(
        "--stability",
        type=int,
        default=0,
        metavar="N",
        help="also run the tracker's startup cell N times and report its 95%% interval",
    )
    bench.set_defaults(func=main_bench)


# --- run -----------------------------------------------------------------------------------


def options_from(args: argparse.Namespace) -> Any:
    """The runner's Options from parsed arguments; UsageError for bad values."""
    from results.database import DEFAULT_DB
    from scenarios import grids, plan, runner, userspec

    if args.grid not in grids.GRIDS:
        raise UsageError(f"unknown grid {args.grid!r}; known: {', '.join(grids.GRIDS)}")
    if args.repeat is not None and args.repeat < 1:
        raise UsageError(f"--repeat must be at least 1, got {args.repeat}")
    for flag, value in (("--timeout", args.timeout), ("--cell-cap", args.cell_cap),
                        ("--budget", args.budget)):  # fmt: skip
        if value is not None and not value > 0:
            raise UsageError(f"{flag} must be positive, got {value:g}")
    shard = plan.parse_shard(args.shard) if args.shard else None
    overrides = userspec.parse_set(args.sets)
    spec = userspec.load(args.spec) if args.spec else None
    repeat, timeout, budget = args.repeat, args.timeout, args.budget
    if spec is not None:  # the command line wins over the spec
        repeat = spec.repeat if repeat is None else repeat
        timeout = spec.timeout if timeout is None else timeout
        budget = spec.budget if budget is None else budget
    return runner.Options(
        grid=args.grid,
        frameworks=args.frameworks or (),
        scenarios=args.scenarios or (),
        repeat=repeat,
        db=args.db or os.environ.get("TRACKBENCH_DB") or DEFAULT_DB,
        resume=args.resume,
        suite=args.suite,
        shard=shard,
        seed=args.seed,
        spec=spec.scenarios if spec else None,
        spec_frameworks=spec.frameworks if spec else (),
        overrides=overrides,
        command=command_line(args),
        timeout=timeout,
        cell_cap=args.cell_cap,
        framework_budget=budget,
        runs_per_day=spec.runs_per_day if spec else None,
        build=not args.no_build,
        # the command line's --with, else the spec's `with`
        with_=tuple(args.with_) or (tuple(spec.with_) if spec else ()),
    )


def command_line(args: argparse.Namespace) -> str:
    """The `trackbench run` command that reproduces this suite, options spelled out."""
    argv = ["trackbench", "run", "--grid", args.grid]
    for flag, values in (("--frameworks", args.frameworks), ("--scenarios", args.scenarios)):
        if values:
            argv += [flag, *values]
    for flag, value in (("--repeat", args.repeat), ("--db", args.db), ("--suite", args.suite),
                        ("--shard", args.shard), ("--seed", args.seed), ("--spec", args.spec),
                        ("--timeout", args.timeout), ("--cell-cap", args.cell_cap),
                        ("--budget", args.budget)):  # fmt: skip
        if value is not None:
            argv += [flag, str(value)]
    for item in args.sets:
        argv += ["--set", item]
    argv += ["--with", *args.with_] if args.with_ else []
    argv += ["--resume"] if args.resume else []
    return shlex.join(argv)


def main_run(args: argparse.Namespace) -> int:
    """Run a suite; 130 if interrupted (every finished cell is stored)."""
    from scenarios import runner

    options = options_from(args)
    # SIGTERM stops the suite as Ctrl-C does, also in the moments around the runner's own
    # handler (which restores this one); once stopped, a second signal (an impatient
    # Ctrl-C) would only kill the process on its way out: ignored
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        summary = runner.run_suite(options)
    except BaseException:
        signal.signal(signal.SIGTERM, previous)
        raise
    if summary.interrupted:
        ignore_stops()
    else:
        signal.signal(signal.SIGTERM, previous)
    counts = ", ".join(f"{n} {o}" for o, n in sorted(summary.outcomes.items())) or "nothing"
    print(
        f"suite {summary.suite_id}: {summary.ran} cells run in {summary.seconds:.0f} s "
        f"({counts}); {summary.already_stored} were already stored; results in {options.db}",
        file=sys.stderr,
    )
    return 130 if summary.interrupted else 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def ignore_stops() -> None:
    """Ignore Ctrl-C and SIGTERM from now on: the process is already stopping."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


# --- list ----------------------------------------------------------------------------------


def main_list(args: argparse.Namespace) -> int:
    """Print the frameworks (with what they support), the scenarios and the grids."""
    from scenarios import envs, estimates, grids, workloads

    described = envs.describe()
    print("frameworks:")
    for name, info in described.items():
        if "error" in info:
            print(f"  {name:<14} (adapter error: {info['error'][:70]})")
            continue
        try:
            state = envs.spec_for(name, info=info).state()
        except envs.EnvError as exc:
            state = f"error: {exc}"[:40]
        note = f"  BROKEN: {info['broken']}" if info.get("broken") else ""
        print(f"  {name:<14} env {state:<10} supports {', '.join(info['supports'])}{note}")
    print("scenarios:")
    for name in workloads.SCENARIOS:
        workload = workloads.get(name)
        needs = ", ".join(sorted(workload.needs)) or "-"
        print(f"  {name:<14} {workload.doc}")
        none = "" if workload.defaults else " -"
        print(f"  {'':<14} needs: {needs}; parameters (default):{none}")
        for param, default in workload.defaults.items():
            least = workload.least.get(param)
            floor = f" (at least {least})" if least else ""
            print(f"  {'':<16} {f'{param}={default}':<24} {workload.param_docs[param]}{floor}")
    print("grids:")
    for grid in grids.GRIDS.values():
        included = [k for k, info in described.items() if grid.includes(k, info)]
        count = grid.cell_count(len(included))
        supports = {k: described[k]["supports"] for k in included}
        minutes = estimates.estimate_suite_seconds(grid, supports) / 60
        fewer = (
            f" ({grid.slow_repeat[1]} of a cell over {grid.slow_repeat[0]:g} s)"
            if grid.slow_repeat
            else ""
        )
        print(
            f"  {grid.name:<9} {grid.doc}; {grid.repeat} repetitions{fewer}, up to {count} "
            f"cells for {len(included)} frameworks, about {minutes:.0f} min by the estimates; "
            f"timeout {grid.timeout:g} s, cell cap {grid.cell_cap:g} s, "
            + (
                f"budget {grid.framework_budget:g} s per framework"
                if math.isfinite(grid.framework_budget)
                else "no framework budget"
            )
        )
        for scenario, configs in grid.scenarios.items():
            shown = "; ".join(", ".join(f"{k}={v}" for k, v in c.items()) or "-" for c in configs)
            print(f"      {scenario:<14} {shown}")
    return 0


# --- bench-harness -------------------------------------------------------------------------


def harness_cost(n: int = 20) -> dict[str, float]:
    """Medians, in seconds, of a null-adapter startup cell's headline (all the harness adds to
    every tracking_ns) and writer process, of `python -I -c pass`, and the difference of the
    last two (samples interleaved, so both see the same machine load)."""
    from scenarios import cell, envs

    python = envs.ensure("null").python
    tracking, process, bare = [], [], []
    for _ in range(n):
        result = cell.run_cell("null", "startup", {}, 60, python=python)
        if result["outcome"] != "ok":
            raise UsageError(f"the null cell failed: {result['outcome']} {result['reason']}")
        tracking.append(result["tracking_ns"] / 1e9)
        process.append(result["process_ns"] / 1e9)
        started = time.perf_counter_ns()
        subprocess.run([os.fspath(python), "-I", "-c", "pass"], check=True)
        bare.append((time.perf_counter_ns() - started) / 1e9)
    process_median, bare_median = statistics.median(process), statistics.median(bare)
    return {
        "null_tracking_s": statistics.median(tracking),
        "null_process_s": process_median,
        "python_pass_s": bare_median,
        "harness_cost_s": process_median - bare_median,
        "n": float(n),
    }


def stability(n: int) -> dict[str, Any]:
    """The tracker's startup cell n times: median and the bootstrap 95% half-width / median,
    and the cells that failed (`failed`: "outcome: reason" -> how many), never dropped."""
    import random
    from collections import Counter

    from scenarios import cell, envs

    python = envs.ensure("tracker").python
    walls: list[float] = []
    failed: Counter[str] = Counter()
    for _ in range(n):
        result = cell.run_cell("tracker", "startup", {}, 60, python=python)
        if result["outcome"] == "ok":
            walls.append(result["tracking_ns"] / 1e9)
        else:
            failed[f"{result['outcome']}: {str(result.get('reason') or '')[:200]}"] += 1
    if len(walls) < 2:
        raise UsageError(
            f"the tracker's startup cell did not run twice ({len(walls)} ok of {n}"
            f"{'; ' + _failed_text(failed) if failed else ''})"
        )
    rng = random.Random(0)
    medians = sorted(
        statistics.median(rng.choices(walls, k=len(walls))) for _ in range(2000)
    )  # fmt: skip
    low, high = medians[int(0.025 * len(medians))], medians[int(0.975 * len(medians)) - 1]
    median = statistics.median(walls)
    return {
        "median_s": median,
        "half_width_ratio": (high - low) / 2 / median,
        "n": len(walls),
        "failed": dict(failed),
    }


def _failed_text(failed: Any) -> str:
    """`2 failed: crash: exit code 3 (x2)`: every failure, counted, with its reason."""
    parts = [f"{why} (x{count})" for why, count in failed.items()]
    return f"{sum(failed.values())} failed: " + "; ".join(parts)


def main_bench(args: argparse.Namespace) -> int:
    """Print the harness's own cost (target: under 50 ms) and optionally the stability."""
    if args.n < 1:
        raise UsageError(f"-n must be at least 1, got {args.n}")
    cost = harness_cost(args.n)
    print(
        f"null-adapter startup cell: tracking_ns median {cost['null_tracking_s'] * 1000:.2f} ms "
        f"(what the harness adds to every headline); writer process median "
        f"{cost['null_process_s'] * 1000:.1f} ms; python -I -c pass: median "
        f"{cost['python_pass_s'] * 1000:.1f} ms; harness cost: "
        f"{cost['harness_cost_s'] * 1000:.1f} ms (n={args.n}; target < 50 ms)"
    )
    if args.stability:
        found = stability(args.stability)
        print(
            f"tracker startup: median {found['median_s'] * 1000:.1f} ms, 95% interval "
            f"half-width {found['half_width_ratio'] * 100:.1f}% of the median "
            f"(n={found['n']:g}; target <= 10%)"
        )
        if found["failed"]:
            print(
                f"tracker startup: {_failed_text(found['failed'])} of {args.stability} cells, "
                f"left out of the interval"
            )
    return 0
