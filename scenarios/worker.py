"""Run one cell's processes inside a framework's environment, each writing one JSON result.

Started by the manager (scenarios/cell.py), in this order, as

    ENV/bin/python -I scenarios/worker.py --service CELL.json  keep the local server, if any
    ENV/bin/python -I scenarios/worker.py CELL.json            the writer: the timed lifecycle
    ENV/bin/python -I scenarios/worker.py --read CELL.json     a new process reading it back
    ENV/bin/python -I scenarios/worker.py --live-read CELL.json  started by a paused writer
    python -I scenarios/worker.py --describe [NAMES]           adapters' declarations as JSON

The writer and the reader watch a pipe from the manager (scenarios/watchdog.py): they end
themselves and what they started when the manager dies or their deadline passes.

CELL.json holds: framework (a registry name or "module:Class"), workload, params, workdir,
result and read_result (where to write the writer's and the reader's JSON), read_back_done
(where the reader says the framework's reader has returned), progress (where a writer
killed by plan leaves its counts), seed (the cell's own), cell_json (its own path, for a
live reader) and live_read_timeout, service_log and service_timeout (seconds). The kept
server's port is in the environment (SERVICE_PORT_VAR).

The writer (DESIGN.md): load -> import_ns; the version lookup, untimed; prepare ->
prepare_ns; open -> init_ns; the workload -> start_run_ns and end_run_ns (summed) and log_ns
(the whole workload less those two); finish -> finish_ns. Then it only hands over its
timings (with the clock readings `load_started_ns` and `finished_ns`, from which the manager
takes harness_ns and exit_ns) and exits. The reader imports the framework (read_import_ns),
reads everything back with the framework's reader (read_ns where that is the scenario's
headline) and checks it against what the workload logged (the fidelity).

Standard library only (NumPy for array work): this runs in every framework's environment.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

# `-I` keeps the script's folder and the user's site off sys.path. The project root goes
# last, after site-packages, so an environment's own snapshot (the reference tracker's
# sources, copied in at build time) wins over the working tree.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.append(ROOT)

from adapters.base import Adapter, RunData, Unsupported, expand_env, service_from_env  # noqa: E402
from adapters.registry import ADAPTERS, resolve  # noqa: E402
from results import schema as S  # noqa: E402  (names only, stdlib)
from scenarios import fidelity, workloads  # noqa: E402


def describe(names: list[str]) -> dict[str, dict[str, Any]]:
    """The declared attributes of each adapter (all registered ones if `names` is empty)."""
    from scenarios.service import has_service

    out: dict[str, dict[str, Any]] = {}
    for name in names or list(ADAPTERS):
        try:
            cls = resolve(name)
        except Exception as exc:  # a missing or broken adapter module is data here
            out[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        out[name] = {
            "class": f"{cls.__module__}:{cls.__qualname__}",
            "requirements": list(cls.requirements),
            "env": dict(cls.env),
            "supports": sorted(cls.supports),
            "lacks": dict(cls.lacks),
            "fidelity": cls.fidelity,
            "fidelity_note": cls.fidelity_note,
            "durability": cls.durability,
            "flush_note": cls.flush_note,
            "role": cls.role,
            "reader": cls.reader,
            "array_mechanism": cls.array_mechanism,
            "leaves_behind": cls.leaves_behind,
            "historical": cls.historical,
            "broken": cls.broken,
            "project_packages": list(cls.project_packages),
            "service": has_service(cls),
        }
    return out


def _setup(cell: dict[str, Any]) -> tuple[Adapter, workloads.Workload, dict[str, Any]]:
    """The cell's adapter (its environment variables set), workload and parameters."""
    for package in ("adapters", "results", "scenarios"):
        where = getattr(sys.modules[package], "__file__", None) or ""
        if not os.path.dirname(where).startswith(ROOT):
            raise ImportError(f"{package!r} resolves to {where}, not this project's")
    cls = resolve(cell["framework"])
    workload = workloads.get(cell["workload"])
    params = workload.params(cell.get("params"))
    why = workload.why_unsupported(cls.name, {"supports": cls.supports, "lacks": cls.lacks})
    if why:
        raise Unsupported(why)
    from pathlib import Path

    # before the import: several frameworks read their settings once, at import
    os.environ.update(expand_env(cls.env, Path(cell["workdir"])))
    return cls(), workload, params


def _failed(result: dict[str, Any], phase: str, exc: BaseException) -> None:
    import traceback  # only on failure: it costs ~4 ms of every cell's start-up

    traceback.print_exc()
    result["outcome"] = S.CRASH
    result["reason"] = f"{phase}: {type(exc).__name__}: {exc}"


def write(cell: dict[str, Any]) -> dict[str, Any]:
    """The writer: run the timed lifecycle of the cell and return its result (never raises)."""
    now = time.perf_counter_ns
    result: dict[str, Any] = {
        S.OUTCOME: S.CRASH,
        S.REASON: "",
        **dict.fromkeys(S.WRITER_TIMINGS),
        S.FRAMEWORK_VERSION: "",
        "load_started_ns": None,
    }
    phase = "resolve"
    try:
        adapter, workload, params = _setup(cell)
        from pathlib import Path

        phase = "load"
        started = result["load_started_ns"] = now()
        adapter.load()
        result[S.IMPORT_NS] = now() - started
        try:
            result[S.FRAMEWORK_VERSION] = adapter.version()
        except Exception as exc:  # metadata, not the measurement: never fails the cell
            result[S.FRAMEWORK_VERSION] = f"unknown ({type(exc).__name__}: {exc})"

        phase = "prepare"
        started = now()
        inputs = workload.prepare(params)
        result[S.PREPARE_NS] = now() - started

        phase = "open"
        started = now()
        adapter.open(Path(cell["workdir"]), service_from_env(Path(cell["workdir"])))
        result[S.INIT_NS] = now() - started
        if workload.setup is not None:
            phase = "setup"
            workload.setup(adapter, inputs)

        phase = "workload"
        spent = {"start_run": 0, "end_run": 0}

        def timed(method_name: str) -> Any:
            method = getattr(adapter, method_name)

            def wrapper(*args: Any, **kwargs: Any) -> Any:
                began = now()
                try:
                    return method(*args, **kwargs)
                finally:
                    spent[method_name] += now() - began

            return wrapper

        # instance attributes shadow the methods for the workload only; log() stays a
        # plain bound-method call, so the timed loop pays nothing for the harness
        setattr(adapter, "start_run", timed("start_run"))  # noqa: B010
        setattr(adapter, "end_run", timed("end_run"))  # noqa: B010
        if workload.kill_point is not None:
            after = workload.kill_point(params, int(cell.get("seed") or 0))
            _plan_kill(adapter, after, cell["progress"], result[S.FRAMEWORK_VERSION])
        live: dict[str, Any] = {"paused_ns": 0}
        if workload.live_read_after is not None:
            live = _plan_live_read(adapter, workload.live_read_after(params), cell)
        try:
            started = now()
            notes = workload.run(adapter, inputs)
            whole = now() - started
        finally:
            del adapter.start_run, adapter.end_run
            adapter.__dict__.pop("log", None)
        fields = (S.LIVE_READ, S.LIVE_LOGGED_VALUES, S.LIVE_LAG_VALUES)
        result.update({k: live[k] for k in fields if k in live})
        if isinstance(notes, dict):  # the scenario's own fields the workload measured
            for name in S.WRITER_MEASURED:
                if name in notes:
                    result[name] = notes.pop(name)
        if notes:
            result["notes"] = notes
        result[S.START_RUN_NS] = spent["start_run"]
        result[S.END_RUN_NS] = spent["end_run"]
        result[S.LOG_NS] = whole - spent["start_run"] - spent["end_run"] - live["paused_ns"]

        phase = "finish"
        started = now()
        adapter.finish()
        result[S.FINISH_NS] = now() - started
        result[S.OUTCOME] = S.OK
    except Unsupported as exc:
        result[S.OUTCOME], result[S.REASON] = S.UNSUPPORTED, f"{phase}: {exc}"
    except (Exception, SystemExit) as exc:  # the framework's failure is the cell's result
        _failed(result, phase, exc)
    return result


def _plan_kill(adapter: Adapter, after: int, progress: str, version: str) -> None:
    """Make the writer kill itself with SIGKILL when it is about to log more than `after`
    values, first saving the counts logged and flushed (and the framework's version) to
    `progress`, for the manager and the reader; log() and flush() are wrapped to count, as
    instance attributes."""
    import signal

    counts: dict[str, Any] = {S.LOGGED_VALUES: 0, S.FLUSHED_VALUES: 0, S.FRAMEWORK_VERSION: version}
    log, flush = adapter.log, adapter.flush

    def counted_log(values: dict[str, float], step: int) -> None:
        if counts[S.LOGGED_VALUES] + len(values) > after:
            _save(counts, progress)
            os.kill(os.getpid(), signal.SIGKILL)
        log(values, step)
        counts[S.LOGGED_VALUES] += len(values)

    def counted_flush() -> None:
        flush()
        counts[S.FLUSHED_VALUES] = counts[S.LOGGED_VALUES]

    setattr(adapter, "log", counted_log)  # noqa: B010
    setattr(adapter, "flush", counted_flush)  # noqa: B010


def _plan_live_read(adapter: Adapter, after: int, cell: dict[str, Any]) -> dict[str, Any]:
    """Make the writer pause once `after` values are logged while another process reads the
    store in use (`live_read`); log() is wrapped, as an instance attribute. Returns the
    state the wrapper fills: the live read's fields and how long the pause took."""
    state: dict[str, Any] = {"logged": 0, "paused_ns": 0}
    log = adapter.log

    def logged_then_read(values: dict[str, float], step: int) -> None:
        log(values, step)
        state["logged"] += len(values)
        if S.LIVE_READ not in state and state["logged"] >= after:
            began = time.perf_counter_ns()
            seen, why = _live_reader(cell)
            state["paused_ns"] = time.perf_counter_ns() - began
            state[S.LIVE_READ] = f"unsupported: {why}" if why else "ok"
            state[S.LIVE_LOGGED_VALUES] = state["logged"]
            if not why:
                state[S.LIVE_LAG_VALUES] = state["logged"] - seen

    setattr(adapter, "log", logged_then_read)  # noqa: B010
    return state


def _live_reader(cell: dict[str, Any]) -> tuple[int, str]:
    """Run `--live-read` in a new process of this environment: the values it saw, and ""
    or why it could not read."""
    import subprocess

    argv = [sys.executable, "-I", os.path.abspath(__file__), "--live-read", cell["cell_json"]]
    timeout = float(cell["live_read_timeout"])
    try:
        done = subprocess.run(argv, stdout=subprocess.PIPE, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return 0, f"the reader did not return within {timeout:g} s"
    try:
        answer = json.loads(done.stdout.splitlines()[-1])
        return int(answer.get("seen", 0)), str(answer.get("error", ""))
    except (IndexError, ValueError, AttributeError):
        return 0, f"the reader exited with {done.returncode} and no answer"


def live_read(cell: dict[str, Any]) -> dict[str, Any]:
    """The live reader: the framework's reader on a store whose writer is paused mid-run;
    how many values it saw, or the error (never raises)."""
    try:
        adapter = _setup(cell)[0]
        from pathlib import Path

        adapter.load()
        got = adapter.read_back(Path(cell["workdir"]), service_from_env(Path(cell["workdir"])))
        runs = [RunData(*run) for run in got]
        return {"seen": sum(len(series) for run in runs for series in run.metrics.values())}
    except Unsupported as exc:
        return {"error": str(exc)}
    except (Exception, SystemExit) as exc:  # a reader that cannot read a store in use
        return {"error": f"{type(exc).__name__}: {exc}"}


def read(cell: dict[str, Any]) -> dict[str, Any]:
    """The reader: in a new process, read back what the writer stored; fidelity (never
    raises). read_ns is measured where reading is the scenario's headline."""
    now = time.perf_counter_ns
    result: dict[str, Any] = {S.OUTCOME: S.OK, S.FIDELITY: S.NOT_CHECKED, S.REASON: "",
                              **dict.fromkeys(S.READER_TIMINGS)}  # fmt: skip
    phase = "resolve"
    try:
        adapter, workload, params = _setup(cell)
        from pathlib import Path

        phase = "load"
        started = now()
        adapter.load()
        result[S.READ_IMPORT_NS] = now() - started
        phase = "prepare"
        inputs = workload.prepare(params)  # seeded: what the writer logged
        phase = "read_back"
        timed = cell["workload"] in S.READ_HEADLINED
        if timed:
            # the table's own library, loaded before the clock starts: what is timed is the
            # framework's reader and filling the table, the same work for every framework
            import numpy  # noqa: F401

            from scenarios.workloads.readback import long_table
        started = now()
        got = adapter.read_back(Path(cell["workdir"]), service_from_env(Path(cell["workdir"])))
        if timed:
            long_table(got)
            result[S.READ_NS] = now() - started
        # the framework's part is done: the manager gives the harness's check its own time
        _save(result, cell["read_back_done"])
        if workload.examine is not None:
            phase = "examine"
            result.update(workload.examine(adapter, got, cell.get("notes") or {}))
            return result
    except Unsupported as exc:
        result[S.FIDELITY], result[S.REASON] = S.UNVERIFIED, str(exc)
        return result
    except (Exception, SystemExit) as exc:  # a reader that fails loses the data for its user
        _failed(result, phase, exc)
        if phase == "read_back" and workload.kill_point is not None:
            # a killed writer's store that does not open: the finding, not the reader's crash
            notes = {**(cell.get("notes") or {}), "open_error": f"{type(exc).__name__}: {exc}"}
            result.update(workload.examine(adapter, None, notes) if workload.examine else {})
            result[S.OUTCOME] = S.OK
        elif phase == "read_back":
            result[S.OUTCOME] = S.OK
            result[S.FIDELITY] = S.WRONG_DATA
            result[S.REASON] = f"read_back raised {type(exc).__name__}: {exc}"
        return result
    result[S.FIDELITY], result[S.REASON] = fidelity.check(adapter, workload, inputs, got)
    return result


def _save(result: dict[str, Any], path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(tmp, path)  # the manager never sees half a result


def main(argv: list[str]) -> int:
    """Command-line entry: describe adapters, keep a server, write or read one cell."""
    from scenarios import cellgroup

    cellgroup.join()  # first: whatever the framework starts is in the cell's group
    if argv[:1] == ["--describe"]:
        json.dump(describe(argv[1:]), sys.stdout)
        sys.stdout.write("\n")
        return 0
    modes = (["--read"], ["--service"], ["--live-read"])
    mode, paths = (argv[0], argv[1:]) if argv[:1] in modes else ("", argv)
    if len(paths) != 1:
        print("usage: worker.py [--read | --service | --live-read] CELL.json | --describe "
              "[NAMES]", file=sys.stderr)  # fmt: skip
        return 2
    if mode != "--service":  # the keeper stops with its stdin: the manager holds the other end
        from scenarios import watchdog

        watchdog.start()  # ends this process if the manager dies or the deadline passes
    with open(paths[0], encoding="utf-8") as fh:
        cell = json.load(fh)
    if mode == "--service":
        from scenarios import service

        try:
            adapter = _setup(cell)[0]
        except Exception as exc:  # reported to the manager, which records the cell
            print(json.dumps({S.OUTCOME: S.CRASH, S.REASON: f"service: {exc}"}), flush=True)
            return 1
        return service.keep(adapter, cell)
    if mode == "--read":
        _save(read(cell), cell["read_result"])
        return 0
    if mode == "--live-read":
        print(json.dumps(live_read(cell)), flush=True)
        return 0
    result = write(cell)
    # the clock reading the manager takes exit_ns from: what follows is handing over the
    # timings and the interpreter's exit (atexit handlers, thread joins: the user's too)
    result["finished_ns"] = time.perf_counter_ns()
    _save(result, cell["result"])
    return 0 if result[S.OUTCOME] in (S.OK, S.UNSUPPORTED) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
