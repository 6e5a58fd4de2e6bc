"""Run one cell from the manager side: launch the worker, measure the process, map failures.

`run_cell()` starts `scenarios/worker.py` with the framework environment's interpreter in
isolated mode, in a fresh temporary directory (`work/` is the cell's work directory, `home/`
its HOME, `tmp/` its TMPDIR), with an environment built from an allowlist, proxies pointed
at a closed loopback port, and a marker variable that every process the cell starts
inherits. It enforces the timeout by killing the worker's whole process group, measures
wall time, CPU time and peak memory of the worker and its children, counts processes and
files the cell left behind, and returns one dict in the results schema's names.

Never imports a framework (nor the worker's adapter modules).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from results.schema import FIDELITIES, OUTCOMES
from results.schema import PHASE_FIELDS as TIMINGS
from scenarios import envs

# Every key run_cell returns, in the results schema's names (DESIGN.md); `framework_version`
# is a param there, `outside_paths` names the first outside files for the report.
RESULT_KEYS = (
    "outcome",
    "fidelity",
    "reason",
    *TIMINGS,
    "wall_ns",
    "cpu_ns",
    "peak_rss_bytes",
    "disk_bytes",
    "leftover_processes",
    "outside_files",
    "framework_version",
    "outside_paths",
)
# Variables passed through from the manager's environment; everything else is dropped.
ALLOWED_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
MARKER_VAR = "TRACKBENCH_CELL"
# Not watched for files left outside the work directory: git, environments and caches.
PROJECT_SKIP = frozenset(
    {".git", ".envs", ".nox", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache",
     ".pytest_cache", ".hypothesis", ".benchmarks", "results"}
)  # fmt: skip
STDERR_TAIL = 1500
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connections to it fail at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))  # held, so nothing else can start listening there
        yield int(sock.getsockname()[1])


def worker_env(python: Path, home: Path, tmp: Path, marker: str, proxy_port: int) -> dict[str, str]:
    """The worker's environment: the allowlist, its own HOME and TMPDIR, dead-end proxies."""
    env = {key: os.environ[key] for key in ALLOWED_ENV if key in os.environ}
    # the environment's bin/ first: servers and tools a framework ships (fml, aim) resolve
    env["PATH"] = os.pathsep.join([os.fspath(python.parent), env.get("PATH", os.defpath)])
    env.setdefault("LANG", "C.UTF-8")
    env["HOME"] = os.fspath(home)  # anything written under ~ is seen, and never the real ~
    env["TMPDIR"] = os.fspath(tmp)
    proxy = f"http://127.0.0.1:{proxy_port}"
    for key in PROXY_VARS:
        env[key] = proxy  # a stray network call fails at once instead of hanging
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"  # local servers still work
    env["DO_NOT_TRACK"] = "true"  # the common telemetry opt-out; some honour only "true"
    env[MARKER_VAR] = marker
    return env


def _proc_stats() -> Iterator[tuple[int, int, int, int, int]]:
    """(pid, ppid, session, rss_bytes, cpu_ns incl. reaped children) of every process."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        yield (int(entry), int(fields[1]), int(fields[3]), int(fields[21]) * PAGE,
               ticks * 1_000_000_000 // TICKS)  # fmt: skip


def tree_usage(root: int) -> dict[int, tuple[int, int]]:
    """pid -> (rss_bytes, cpu_ns) of `root` and everything in its session or below it."""
    stats = list(_proc_stats())
    parent = {pid: ppid for pid, ppid, _sid, _rss, _cpu in stats}
    found = {}
    for pid, _ppid, sid, rss, cpu in stats:
        node, depth = pid, 0
        while node not in (root, 0, 1) and depth < 64:
            node, depth = parent.get(node, 0), depth + 1
        if sid == root or node == root:
            found[pid] = (rss, cpu)
    return found


def tree_rss(root: int) -> int:
    """Resident bytes of `root` and everything in its session or descended from it."""
    return sum(rss for rss, _cpu in tree_usage(root).values())


def marked_processes(marker: str) -> list[int]:
    """Processes whose environment carries the cell's marker (they came from the cell)."""
    needle = f"{MARKER_VAR}={marker}".encode()
    found: list[int] = []
    if not os.path.isdir("/proc"):  # not Linux: leftovers cannot be seen
        return found
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as fh:
                if needle in fh.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:  # gone, or a zombie
            continue
    return found


class _Watch(threading.Thread):
    """Samples the worker tree's memory, kills its process group at the deadline, and
    records the moment the worker says its measured part is over."""

    def __init__(self, pid: int, timeout: float, measured_fd: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.deadline = time.monotonic() + timeout
        self.stopped = threading.Event()
        self.timed_out = False
        self.peak = 0
        self.fd: int | None = measured_fd
        # (perf_counter_ns, cpu_ns, peak_rss_bytes) when the worker finished finish()
        self.measured: tuple[int, int, int] | None = None

    def run(self) -> None:
        # A sample reads every /proc/*/stat (~2 ms). None in the first 50 ms, where the
        # worker's own ru_maxrss covers a short cell, then rarer and rarer, so sampling
        # never competes with the cell it measures for the 2 cores.
        interval = 0.05
        try:
            while not self.stopped.is_set():
                remaining = self.deadline - time.monotonic()
                if remaining <= 0:
                    self.timed_out = True
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.pid, signal.SIGKILL)
                    return
                if self.fd is not None:
                    ready, _, _ = select.select([self.fd], [], [], min(interval, remaining))
                    if ready:
                        self._read_measured()
                        continue
                elif self.stopped.wait(min(interval, remaining)):
                    return
                if self.measured is None:  # the peak of the measured part only
                    with contextlib.suppress(OSError, ValueError, IndexError):
                        self.peak = max(self.peak, tree_rss(self.pid))
                interval = min(interval * 1.5, 0.25)
        finally:
            if self.fd is not None:
                os.close(self.fd)

    def _read_measured(self) -> None:
        assert self.fd is not None
        message = os.read(self.fd, 128)
        os.close(self.fd)
        self.fd = None
        if not message:  # the worker ended before finish(): whole-process figures stand
            return
        at = time.perf_counter_ns()
        worker_cpu, worker_peak_kib = (int(x) for x in message.split())
        usage = tree_usage(self.pid)
        usage.pop(self.pid, None)  # the worker's own share is in its message, exactly
        # live helpers (a server, a background writer) count with their CPU so far
        cpu = worker_cpu + sum(c for _rss, c in usage.values())
        peak = max(self.peak, worker_peak_kib * 1024, tree_rss(self.pid))
        self.measured = (at, cpu, peak)


def _snapshot_project() -> set[str]:
    found: set[str] = set()
    for dirpath, dirs, files in os.walk(envs.ROOT):
        dirs[:] = [d for d in dirs if d not in PROJECT_SKIP]
        found.update(os.path.join(dirpath, f) for f in files)
    return found


def _snapshot_home() -> set[str]:
    # the real home's usual write targets, one level deep: cheap, catches ~/.x and ~/.cache/x
    home = Path(os.path.expanduser("~"))
    found: set[str] = set()
    for place in (home, home / ".cache", home / ".config", home / ".local" / "share",
                  home / ".local" / "state", Path(tempfile.gettempdir())):  # fmt: skip
        with contextlib.suppress(OSError):
            found.update(
                os.fspath(place / name)
                for name in os.listdir(place)
                if not name.startswith("trackbench-cell-")  # other cells' own folders
            )
    return found


def _files_under(path: Path) -> list[str]:
    out: list[str] = []
    for dirpath, _dirs, files in os.walk(path):
        out.extend(os.path.join(dirpath, f) for f in files)
    return sorted(out)


def _tail(path: Path) -> str:
    try:
        data = path.read_bytes()[-STDERR_TAIL:]
    except OSError:
        return ""
    return data.decode("utf-8", "replace").strip()


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _valid(result: Any) -> str:
    """Why a worker's result is malformed, or "" when it is fine."""
    if not isinstance(result, dict):
        return f"result is {type(result).__name__}, not an object"
    if result.get("outcome") not in OUTCOMES:
        return f"unknown outcome {result.get('outcome')!r}"
    if result.get("fidelity") not in FIDELITIES:
        return f"unknown fidelity {result.get('fidelity')!r}"
    for key in (*TIMINGS, "disk_bytes"):
        value = result.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"{key} is {value!r}, not an integer"
    return ""


def run_cell(
    framework: str,
    workload: str,
    params: Mapping[str, Any] | None = None,
    timeout: float = 600.0,
    *,
    python: str | os.PathLike[str] | None = None,
    with_: Sequence[str] = (),
    service_timeout: float = 60.0,
    keep: bool = False,
    python_args: Sequence[str] = (),
    stderr_copy: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Run one cell in a fresh worker process; a dict keyed as in RESULT_KEYS.

    `python` is the interpreter to run the worker with (default: the framework's built
    environment; EnvError if it is not built). Failures of the cell are outcomes, never
    exceptions. `keep` leaves the cell's temporary directory in place for inspection.
    `python_args` go between `python -I` and the worker (a profiler's, `-X importtime`);
    `stderr_copy` receives the worker's whole stderr.
    """
    python = Path(python) if python is not None else envs.python_for(framework, with_)
    cell_dir = Path(tempfile.mkdtemp(prefix="trackbench-cell-"))
    # traversable (not listable) by others: a server run as another user, such as the
    # `postgres` system user, must reach its data directory inside the work directory
    cell_dir.chmod(0o711)
    work, home, tmp = cell_dir / "work", cell_dir / "home", cell_dir / "tmp"
    for folder in (work, home, tmp):
        folder.mkdir()
    result_path, stderr_path = cell_dir / "result.json", cell_dir / "stderr.txt"
    cell = {
        "framework": framework,
        "workload": workload,
        "params": dict(params or {}),
        "workdir": os.fspath(work),
        "result": os.fspath(result_path),
        "service_log": os.fspath(cell_dir / "service.log"),
        "service_timeout": min(service_timeout, timeout),
    }
    measured_r, measured_w = os.pipe()
    cell["measured_fd"] = measured_w
    (cell_dir / "cell.json").write_text(json.dumps(cell), encoding="utf-8")
    marker = uuid.uuid4().hex
    project_before, home_before = _snapshot_project(), _snapshot_home()
    home_before.add(os.fspath(cell_dir))
    try:
        with (
            closed_port() as proxy_port,
            open(cell_dir / "stdout.txt", "wb") as out,
            open(stderr_path, "wb") as err,
        ):
            env = worker_env(python, home, tmp, marker, proxy_port)
            argv = [
                os.fspath(python),
                "-I",
                *python_args,
                os.fspath(envs.WORKER),
                os.fspath(cell_dir / "cell.json"),
            ]
            started = time.perf_counter_ns()
            try:
                proc = subprocess.Popen(
                    argv, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                    start_new_session=True,  # own process group and session: one kill ends all
                    pass_fds=(measured_w,),
                )  # fmt: skip
            except BaseException:
                os.close(measured_r)
                raise
            finally:
                os.close(measured_w)
            watch = _Watch(proc.pid, timeout, measured_r)
            watch.start()
            try:
                _pid, status, usage = os.wait4(proc.pid, 0)
                wall_ns = time.perf_counter_ns() - started
            except BaseException:  # interrupted: nothing the cell started may outlive it
                for pid in marked_processes(marker):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                raise
            finally:
                watch.stopped.set()
                watch.join()
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.returncode = os.waitstatus_to_exitcode(status)
        leftovers = marked_processes(marker)
        for pid in leftovers:  # left running by the cell: counted, then ended
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        outside = _files_under(home) + _files_under(tmp)
        outside += sorted(_snapshot_project() - project_before)
        outside += sorted(_snapshot_home() - home_before)
        result = _outcome(result_path, stderr_path, proc.returncode, watch.timed_out, timeout)
        if watch.measured is not None:
            # from the start of the process to the end of finish(): what a program pays to
            # track; the read-back and fidelity check that follow are verification
            measured_at, cpu_ns, peak_rss = watch.measured
            wall_ns = measured_at - started
        else:  # the cell ended before finish(): the whole process
            cpu_ns = int((usage.ru_utime + usage.ru_stime) * 1e9)
            # ru_maxrss (KiB) is the worker's own peak, or a reaped child's if larger;
            # the samples add up processes alive at the same time
            peak_rss = max(usage.ru_maxrss * 1024, watch.peak)
        result.update(
            wall_ns=wall_ns,
            cpu_ns=cpu_ns,
            peak_rss_bytes=peak_rss,
            leftover_processes=len(leftovers),
            outside_files=len(outside),
            outside_paths=[_display(p, cell_dir) for p in outside[:20]],
        )
        if stderr_copy is not None:
            shutil.copyfile(stderr_path, stderr_copy)
        return result
    finally:
        if not keep:
            shutil.rmtree(cell_dir, ignore_errors=True)


def _display(path: str, cell_dir: Path) -> str:
    for folder, shown in (("home", "~"), ("tmp", "$TMPDIR")):
        prefix = os.fspath(cell_dir / folder)
        if path.startswith(prefix + os.sep):
            return shown + path[len(prefix) :]
    return path


def _outcome(
    result_path: Path, stderr_path: Path, code: int, timed_out: bool, timeout: float
) -> dict[str, Any]:
    """The worker's result, or the outcome its absence, malformation or exit code means."""
    result: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    result.update(fidelity="not_checked", reason="", framework_version="")
    worker: Any = None
    problem = ""
    if result_path.exists():
        try:
            worker = json.loads(result_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            problem = f"result is not JSON: {exc}"
        else:
            problem = _valid(worker)
    tail = _tail(stderr_path)
    if timed_out:
        result["outcome"] = "timeout"
        wrote = " after writing its result (something kept it alive)" if worker else ""
        result["reason"] = f"killed after {timeout:g} s{wrote}"
    elif problem:
        result["outcome"], result["reason"] = "bad_output", f"{problem}; {_exit_text(code)}"
    elif worker is None:
        if code == 0:
            result["outcome"], result["reason"] = "bad_output", "worker exited 0 with no result"
        else:
            result["outcome"] = "crash"
            result["reason"] = f"{_exit_text(code)}: {tail}"
    else:
        result.update({k: worker.get(k) for k in RESULT_KEYS if k in worker})
        if code != 0 and worker["outcome"] in ("ok", "unsupported"):
            result["outcome"] = "crash"
            result["reason"] = f"{_exit_text(code)} after writing its result: {tail}"
            result["fidelity"] = "not_checked"
        elif worker["outcome"] == "crash":
            result["reason"] = f"{worker.get('reason', '')} ({_exit_text(code)}); stderr: {tail}"
    if worker and not problem and timed_out:
        # keep whatever phases the worker measured before it hung at exit
        result.update({k: worker.get(k) for k in (*TIMINGS, "framework_version", "disk_bytes")})
    return result
