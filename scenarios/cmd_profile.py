"""`trackbench profile`: one cell under pyinstrument, then again with -X importtime.

The files are named by framework, scenario and the parameters that differ from the
workload's defaults, so profiles of other parameters never overwrite each other. The HTML
shows the framework's phases alone (the adapter's calls and what they call) unless
`--all-frames`; the share of the sampled time the harness's own code took is printed, and
so is the CPU time pyinstrument cannot see: it samples the main thread only, and the
framework's other threads and processes (wandb-core, a writer thread, a local server) are
measured as the process tree's CPU less the main thread's.

A cell its framework cannot run is a one-line UsageError before anything runs; a cell that
fails under the profiler is one line and exit status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from results.errors import UsageError

# Runs the worker under pyinstrument: the tool sits in its own folder, appended to sys.path
# after the environment's packages, so it never shadows what the framework installed. The
# report is written at exit by the handler registered first, so that it runs last and the
# main thread's CPU includes the framework's own exit handlers.
_LAUNCHER = """
import atexit, json, os, runpy, sys, time
html, report, tools, frames, framework, description = sys.argv[1:7]
found, me = {}, os.getpid()
def save():
    if os.getpid() == me:  # not in a forked child that exits through here
        found["main_thread_cpu_ns"] = time.thread_time_ns()
        with open(report, "w", encoding="utf-8") as fh:
            json.dump(found, fh)
atexit.register(save)
sys.path.append(tools)
from pyinstrument import Profiler
sys.argv = sys.argv[7:]
profiler = Profiler(interval=0.0005)
profiler.start(target_description=description)
code = 0
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else 0
finally:
    session = profiler.stop()
    if os.getpid() == me:
        from scenarios.cmd_profile import write_html
        found.update(write_html(session, html, framework, all_frames=frames == "all"))
sys.exit(code)
"""


def register(subparsers: Any) -> None:
    """Add the `profile` subcommand."""
    prof = subparsers.add_parser(
        "profile",
        help="profile one cell: a pyinstrument HTML page and the -X importtime tree",
        description="Runs the cell twice in the framework's environment: once under "
        "pyinstrument (installed beside the environments), once with -X importtime. Files "
        "are named FRAMEWORK-SCENARIO[-K=V...] (the parameters that differ from the "
        "defaults). The page shows the framework's phases alone; pyinstrument samples the "
        "main thread only, and the CPU time of other threads and processes is printed.",
    )
    prof.add_argument("framework")
    prof.add_argument("scenario")
    prof.add_argument("params", nargs="*", metavar="K=V", help="scenario parameters")
    prof.add_argument("--out", default="profiles", help="output folder (default profiles/)")
    prof.add_argument("--timeout", type=float, default=600, help="seconds per run")
    prof.add_argument(
        "--all-frames",
        action="store_true",
        help="keep the harness's own frames (worker, workload) in the page",
    )
    prof.set_defaults(func=main_profile)


def _profile_tools() -> Path:
    """A folder holding pyinstrument, installed once beside the environments."""
    from scenarios import envs

    folder = envs.envs_root() / "tools-pyinstrument"
    if (folder / "pyinstrument").is_dir():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="tools-", dir=folder.parent))
    proc = subprocess.run(
        [*envs.uv_command(), "pip", "install", "--quiet", "--target", os.fspath(staging),
         "--python", envs.base_python(), "pyinstrument"],
        capture_output=True, text=True, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
    )  # fmt: skip
    if proc.returncode != 0:
        raise UsageError(f"installing pyinstrument failed: {proc.stderr.strip()[-300:]}")
    os.replace(staging, folder)
    return folder


def importtime_tree(stderr: str, top: int = 15) -> list[tuple[int, int, str]]:
    """The largest cumulative imports of an `-X importtime` log: (cumulative us, self us, name)."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        try:
            rows.append((int(parts[1]), int(parts[0]), parts[2].rstrip()))
        except ValueError:
            continue
    return sorted(rows, reverse=True)[:top]


def file_stem(framework: str, scenario: str, params: Mapping[str, Any],
              defaults: Mapping[str, Any]) -> str:  # fmt: skip
    """`mlflow-high_frequency-n_values=1000`: the parameters that differ from the defaults,
    sorted, every character a file name may not safely hold replaced by `_`."""
    changed = [f"{k}={v}" for k, v in sorted(params.items()) if defaults.get(k) != v]
    return re.sub(r"[^A-Za-z0-9._=+-]", "_", "-".join([framework, scenario, *changed]))


def _adapter_call(
    stack: Sequence[str], files: frozenset[str], methods: frozenset[str]
) -> int | None:
    """Where, in a sample's stack (outermost first), the first call of one of the adapter's
    methods is; None when the sample is the harness's own work."""
    for at, info in enumerate(stack):
        # pyinstrument's frame: function NUL file NUL line, then its attributes
        function, file, *_ = info.split("\x00")
        if function in methods and file in files:
            return at
    return None


def write_html(session: Any, path: str, framework: str, *, all_frames: bool) -> dict[str, float]:
    """Inside the profiled writer: write the session's HTML page, the framework's phases
    alone unless `all_frames`; the share of the sampled time that was the harness's own
    code (samples with none of the adapter's methods on their stack)."""
    import inspect

    from pyinstrument.renderers import HTMLRenderer
    from pyinstrument.session import Session

    from adapters.base import Adapter
    from adapters.registry import resolve

    cls = resolve(framework)
    files = frozenset(inspect.getfile(c) for c in cls.__mro__ if issubclass(c, Adapter))
    # version() is the harness's untimed look-up of metadata, not one of the framework's phases
    methods = frozenset(k for k, v in vars(Adapter).items()
                        if callable(v) and k[0] != "_" and k != "version")  # fmt: skip
    kept, harness, total = [], 0.0, 0.0
    for stack, seconds in session.frame_records:
        total += seconds
        at = _adapter_call(stack, files, methods)
        if at is None:
            harness += seconds
        else:  # the adapter's call becomes a root: the worker and workload above it go
            kept.append((stack[at:], seconds))
    if not all_frames:
        data = session.to_json(include_frame_records=False)
        session = Session.from_json({**data, "frame_records": kept, "sample_count": len(kept)})
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HTMLRenderer().render(session))
    return {"harness_share": harness / total if total else 0.0}


def _params(workload: Any, scenario: str, items: Sequence[str]) -> dict[str, Any]:
    """The cell's parameters from K=V arguments, checked as `run --set` checks them."""
    from scenarios import userspec

    given: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip() or "," in value:
            raise UsageError(f"parameters are K=V (one value each), got {item!r}")
        given.update(userspec.parse_set([f"{scenario}.{key.strip()}={value}"])[scenario])
    return workload.params({k: v[0] for k, v in given.items()})


def _cell_text(result: Mapping[str, Any]) -> str:
    """`ok, tracking 1.23 s`, or the outcome and the first line of its reason, before the
    worker's stderr (200 characters)."""
    seconds = f", tracking {result['tracking_ns'] / 1e9:.2f} s" if result.get("tracking_ns") else ""
    reason = str(result.get("reason") or "").split("; stderr:")[0].strip().split("\n")[0][:200]
    return f"{result['outcome']}{seconds}{': ' + reason if reason else ''}"


def not_covered(result: Mapping[str, Any], report: Mapping[str, Any]) -> str:
    """The line saying how much CPU the profile could not see: the process tree's (the
    writer's threads, its children, a local server) less the main thread's."""
    from results import schema as S

    main_thread = report.get("main_thread_cpu_ns")
    if result.get(S.CPU_NS) is None or main_thread is None:
        return "not covered: unknown (the profiled writer did not report its main thread's CPU)"
    # clamped: the two are read from different clocks (rusage, the thread's own), which round
    # differently when there is nothing else
    other = max(result[S.CPU_NS] - main_thread, 0)
    return (
        f"not covered: {other / 1e9:.2f} s CPU in other threads and processes, of "
        f"{result[S.CPU_NS] / 1e9:.2f} s in all (the profile shows the main thread only)"
    )


def main_profile(args: argparse.Namespace) -> int:
    """Profile one cell into --out: STEM.html, STEM.summary.txt and STEM.importtime.txt."""
    from results import schema as S
    from scenarios import cell, envs, plan

    if not args.timeout > 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout:g}")
    workload = plan.check_scenario(args.scenario)
    params = _params(workload, args.scenario, args.params)
    try:
        declared = envs.declared(args.framework)
        why = workload.why_unsupported(args.framework, declared)
        if why:
            raise UsageError(f"{args.framework} cannot run {args.scenario}: {why}")
        spec = envs.spec_for(args.framework, info=declared)
        if spec.state() != "ready":
            print(f"building the {args.framework} environment ...", file=sys.stderr)
            envs.build(spec)
    except envs.EnvError as exc:
        raise UsageError(str(exc)) from None
    tools = _profile_tools()
    out = Path(args.out).absolute()  # the writer runs in the cell's own folder
    out.mkdir(parents=True, exist_ok=True)
    stem = file_stem(args.framework, args.scenario, params, workload.defaults)
    html, summary = out / f"{stem}.html", out / f"{stem}.summary.txt"
    importtime = out / f"{stem}.importtime.txt"
    shown = " ".join([args.framework, args.scenario, *args.params])
    with tempfile.TemporaryDirectory(prefix="trackbench-profile-") as scratch:
        report_path = Path(scratch) / "report.json"
        launcher = ("-c", _LAUNCHER, os.fspath(html), os.fspath(report_path), os.fspath(tools),
                    "all" if args.all_frames else "framework", args.framework,
                    f"trackbench profile {shown}")  # fmt: skip
        # the same launcher as `trackbench run`: only the interpreter's arguments differ
        profiled = cell.run_cell(
            args.framework, args.scenario, params, args.timeout, python=spec.python,
            python_args=launcher, declared=declared,
        )  # fmt: skip
        report = json.loads(report_path.read_text("utf-8")) if report_path.exists() else {}
    lines = [f"trackbench profile {shown}", f"pyinstrument: {html} ({_cell_text(profiled)})"]
    if "harness_share" in report:
        kept = "kept (--all-frames)" if args.all_frames else "left out (--all-frames keeps it)"
        lines.append(f"  the harness's own code: {report['harness_share']:.0%} of the sampled "
                     f"time, {kept}")  # fmt: skip
    lines.append(f"  {not_covered(profiled, report)}")
    failed = profiled[S.OUTCOME] != S.OK
    if failed:
        lines.append(f"the cell's whole reason: {profiled.get(S.REASON) or '-'}")
    summary.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if failed:
        print(f"trackbench: error: {shown} under the profiler: {_cell_text(profiled)} (the "
              f"whole reason: {summary})", file=sys.stderr)  # fmt: skip
        return 1
    print("\n".join(lines[1:]), f"  summary: {summary}", sep="\n")
    timed = cell.run_cell(
        args.framework, args.scenario, params, args.timeout, python=spec.python,
        python_args=("-X", "importtime"), stderr_copy=importtime, declared=declared,
    )  # fmt: skip
    print(f"-X importtime: {importtime} ({_cell_text(timed)})")
    print("largest imports (cumulative ms, self ms, module):")
    logged = importtime.read_text(encoding="utf-8") if importtime.exists() else ""
    for cumulative, own, name in importtime_tree(logged):
        print(f"  {cumulative / 1000:9.1f} {own / 1000:9.1f}  {name.strip()}")
    if timed[S.OUTCOME] != S.OK:
        print(f"trackbench: error: {shown} with -X importtime: {_cell_text(timed)}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0
