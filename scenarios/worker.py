"""Run one cell inside a framework's environment and write one JSON result.

Started by the manager (scenarios/cell.py) as

    ENV/bin/python -I scenarios/worker.py CELL.json      run the cell CELL.json describes
    python -I scenarios/worker.py --describe [NAMES]      print adapters' declarations as JSON

CELL.json holds: framework (a registry name or "module:Class"), workload, params, workdir,
result (where to write the result JSON), service_log, service_timeout (seconds).

Lifecycle and timings as in DESIGN.md: load -> import_ns; the local server, if any ->
service_start_ns; open -> init_ns; the workload -> start_run_ns and end_run_ns (summed) and
log_ns (the whole workload less those two); finish -> finish_ns. Then, untimed: disk_bytes
of the work directory and the fidelity check of read_back() against what was logged.

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

from adapters.base import Adapter, Service, Unsupported, expand_env  # noqa: E402
from adapters.registry import ADAPTERS, resolve  # noqa: E402
from results.schema import PHASE_FIELDS as TIMINGS  # noqa: E402  (names only, stdlib)
from scenarios import fidelity, workloads  # noqa: E402


class ServiceTimeout(Exception):
    """The adapter's local server never answered within the allowed time."""


class ServiceDied(Exception):
    """The adapter's local server exited before it answered."""


def describe(names: list[str]) -> dict[str, dict[str, Any]]:
    """The declared attributes of each adapter (all registered ones if `names` is empty)."""
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
            "fidelity": cls.fidelity,
            "fidelity_note": cls.fidelity_note,
            "array_mechanism": cls.array_mechanism,
            "leaves_behind": cls.leaves_behind,
            "broken": cls.broken,
            "project_packages": list(cls.project_packages),
        }
    return out


def disk_bytes(path: str) -> int:
    """Bytes in regular files under `path` (symlinks not followed)."""
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:  # removed while walking
                continue
            if not os.path.islink(os.path.join(dirpath, name)):
                total += st.st_size
    return total


# --- the cell ------------------------------------------------------------------------------


def _free_port() -> int:
    import socket  # only cells with a local server need it

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_service(
    adapter: Adapter, cell: dict[str, Any], workdir: str, result: dict[str, Any]
) -> tuple[Any, Service | None]:
    if type(adapter).service_argv is Adapter.service_argv:
        return None, None  # no server: skip the imports and the port below
    import subprocess  # only cells with a local server need it
    from pathlib import Path

    port = _free_port()
    argv = adapter.service_argv(Path(workdir), port)
    if argv is None:
        return None, None
    service = Service(port, Path(workdir))
    started = time.perf_counter_ns()
    with open(cell["service_log"], "ab") as log:
        # its own process group, so one killpg ends the server and whatever it started
        proc = subprocess.Popen(
            argv, cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=log, process_group=0
        )
    try:
        _wait_ready(adapter, proc, service, argv[0], float(cell.get("service_timeout", 60)))
    except BaseException:
        _stop_service(proc)  # the caller never gets hold of it
        raise
    result["service_start_ns"] = time.perf_counter_ns() - started
    return proc, service


def _wait_ready(adapter: Adapter, proc: Any, service: Service, what: str, timeout: float) -> None:
    deadline = time.perf_counter_ns() + int(timeout * 1e9)
    while True:
        try:
            ready = adapter.service_ready(service)
        except OSError:  # connection refused while it starts
            ready = False
        if ready:
            return
        code = proc.poll()
        if code is not None:
            raise ServiceDied(f"local server {what} exited with {code} before it answered")
        if time.perf_counter_ns() > deadline:
            raise ServiceTimeout(f"local server {what} did not answer within {timeout:g} s")
        time.sleep(0.005)


def _stop_service(proc: Any, grace: float = 10.0) -> None:
    import signal
    import subprocess

    # SIGTERM first: a server killed outright leaves shared memory behind (PostgreSQL's
    # System V segments outlive it and pile up cell after cell); SIGKILL if it lingers.
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    proc.wait()


def _signal_measured(cell: dict[str, Any]) -> None:
    """Tell the manager the measured part is over: what follows (read back, fidelity
    check, stopping a server) is verification, not tracking, and is not in wall_ns."""
    fd = cell.get("measured_fd")
    if fd is None:
        return
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ns = int((me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime) * 1e9)
    peak_kib = max(me.ru_maxrss, children.ru_maxrss)
    os.write(fd, f"{cpu_ns} {peak_kib}\n".encode())
    os.close(fd)


def run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Run the cell described by `cell` and return its result (never raises)."""
    now = time.perf_counter_ns
    result: dict[str, Any] = {
        "outcome": "crash",
        "fidelity": "not_checked",
        "reason": "",
        **dict.fromkeys(TIMINGS),
        "framework_version": "",
        "disk_bytes": None,
    }
    workdir = cell["workdir"]
    phase = "resolve"
    service_proc = None
    try:
        for package in ("adapters", "results", "scenarios"):
            where = getattr(sys.modules[package], "__file__", None) or ""
            if not os.path.dirname(where).startswith(ROOT):
                raise ImportError(f"{package!r} resolves to {where}, not this project's")
        cls = resolve(cell["framework"])
        workload = workloads.get(cell["workload"])
        params = workload.params(cell.get("params"))
        missing = workload.missing(cls.supports)
        if missing:
            raise Unsupported(f"{cls.name} does not declare {', '.join(missing)}")
        adapter = cls()
        from pathlib import Path

        # before the import: several frameworks read their settings once, at import
        os.environ.update(expand_env(cls.env, Path(workdir)))

        phase = "load"
        started = now()
        adapter.load()
        result["import_ns"] = now() - started
        try:
            result["framework_version"] = adapter.version()
        except Exception as exc:  # metadata, not the measurement: never fails the cell
            result["framework_version"] = f"unknown ({type(exc).__name__}: {exc})"

        phase = "prepare"
        inputs = workload.prepare(params)

        phase = "service"
        service_proc, service = _start_service(adapter, cell, workdir, result)

        phase = "open"
        started = now()
        adapter.open(Path(workdir), service)
        result["init_ns"] = now() - started

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
        try:
            started = now()
            workload.run(adapter, inputs)
            whole = now() - started
        finally:
            del adapter.start_run, adapter.end_run
        result["start_run_ns"] = spent["start_run"]
        result["end_run_ns"] = spent["end_run"]
        result["log_ns"] = whole - spent["start_run"] - spent["end_run"]

        phase = "finish"
        started = now()
        adapter.finish()
        result["finish_ns"] = now() - started
        _signal_measured(cell)

        result["disk_bytes"] = disk_bytes(workdir)
        result["outcome"] = "ok"
        phase = "read_back"
        result["fidelity"], result["reason"] = fidelity.check(adapter, workload, inputs)
    except Unsupported as exc:
        result["outcome"], result["reason"] = "unsupported", f"{phase}: {exc}"
    except ServiceTimeout as exc:
        result["outcome"], result["reason"] = "timeout", f"{phase}: {exc}"
    except (Exception, SystemExit) as exc:  # the framework's failure is the cell's result
        import traceback  # only on failure: it costs ~4 ms of every cell's start-up

        traceback.print_exc()
        result["outcome"] = "crash"
        result["reason"] = f"{phase}: {type(exc).__name__}: {exc}"
    finally:
        if service_proc is not None:
            _stop_service(service_proc)
    if result["disk_bytes"] is None:
        result["disk_bytes"] = disk_bytes(workdir)
    return result


def main(argv: list[str]) -> int:
    """Command-line entry: describe adapters, or run one cell and write its result."""
    if argv[:1] == ["--describe"]:
        json.dump(describe(argv[1:]), sys.stdout)
        sys.stdout.write("\n")
        return 0
    if len(argv) != 1:
        print("usage: worker.py CELL.json | --describe [NAMES]", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as fh:
        cell = json.load(fh)
    result = run_cell(cell)
    tmp = cell["result"] + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(tmp, cell["result"])  # the manager never sees half a result
    return 0 if result["outcome"] in ("ok", "unsupported") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
