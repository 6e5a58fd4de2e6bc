"""Run one cell from the manager side: its processes in order, measured, failures mapped.

`run_cell()` runs `scenarios/worker.py` with the framework environment's interpreter in
isolated mode, in a fresh temporary directory (`work/` is the cell's work directory, `home/`
its HOME, `tmp/` its TMPDIR), with an environment built from an allowlist, proxies pointed
at a closed loopback port, and a marker variable that every process the cell starts
inherits. In order:

1. the local server, if the adapter has one (`--service`): kept running for the cell, as a
   user's server would already be, its start-up timed apart (`service_start_ns`);
2. the writer: the timed lifecycle; the manager adds `harness_ns` (from the process's start
   to the framework's import), `exit_ns` (from the end of finish() to the process's exit),
   `process_ns` and the headline `tracking_ns`, CPU and peak memory of the writer's process
   tree and the server's, and `disk_bytes` of the work directory once the writer is gone;
3. the reader (`--read`), a new process: what the framework's reader returns (within the
   cell's timeout), its fidelity (the harness's check, given as long again), and `read_ns`
   where reading is the scenario's headline;
4. the server is stopped, and whatever else the cell left running is counted and ended.

Every failure is an outcome, never an exception. An interrupt (Ctrl-C, SIGTERM, even
twice) stops the cell before it propagates: SIGTERM to its process groups (the server's
keeper then stops the server cleanly), SIGKILL only after a grace period. The writer and the
reader end themselves if this manager dies (scenarios/watchdog.py), and a cell's folder is
named with its manager, so the next run removes the folders of managers that are gone.
Never imports a framework (nor the worker's adapter modules).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from adapters.base import READ_BACK, SERVICE_PORT_VAR
from results import schema as S
from scenarios import cellgroup, envs, processes
from scenarios.processes import MARKER_VAR
from scenarios.service import GRACE_SECONDS
from scenarios.watchdog import WATCH_VAR

# Every key run_cell returns, in the results schema's names (DESIGN.md); `framework_version`
# is a param there, `outside_paths` names the first outside files for the report.
RESULT_KEYS = (*S.CELL_FIELDS, *S.SCENARIO_FIELDS, *S.SCENARIO_NUMBERS, S.FRAMEWORK_VERSION,
               S.OUTSIDE_PATHS, S.HARNESS_FAILURE)  # fmt: skip
# Variables passed through from the manager's environment; everything else is dropped.
ALLOWED_ENV = ("PATH", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME")
PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")
STDERR_TAIL = 1500
FOLDER_PREFIX = "trackbench-cell-"
_OWNED = re.compile(rf"{FOLDER_PREFIX}(\d+)\.(\d+)\.(\d+)-")
# how long an interrupted cell's processes get to stop (the server cleanly) before SIGKILL
INTERRUPT_GRACE_SECONDS = 5.0
# a worker ends itself this long after its timeout, if the manager's kill did not come
WATCH_MARGIN_SECONDS = 1.0
# how long the helpers of a writer killed by plan (wandb-core, a writer thread's process)
# may go on before they are ended: what they save meanwhile survives, as after a real crash
KILLED_GRACE_SECONDS = 5.0


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


def disk_bytes(path: Path) -> int:
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


def _files_under(path: Path) -> list[str]:
    out: list[str] = []
    for dirpath, _dirs, files in os.walk(path):
        out.extend(os.path.join(dirpath, f) for f in files)
    return sorted(out)


def _tail(path: Path) -> str:
    """The last STDERR_TAIL bytes of a file: a cell's stderr may hold gigabytes."""
    try:
        with open(path, "rb") as file:
            file.seek(max(file.seek(0, os.SEEK_END) - STDERR_TAIL, 0))
            data = file.read(STDERR_TAIL)
    except OSError:
        return ""
    return data.decode("utf-8", "replace").strip()


def _exit_text(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def _display(path: str, cell_dir: Path) -> str:
    for folder, shown in (("home", "~"), ("tmp", "$TMPDIR")):
        prefix = os.fspath(cell_dir / folder)
        if path.startswith(prefix + os.sep):
            return shown + path[len(prefix) :]
    return path


def _owner() -> str:
    """This manager's name in its cells' folders: pid namespace, pid and start time."""
    return f"{_pid_namespace()}.{os.getpid()}.{processes.start_time(os.getpid())}"


def _pid_namespace() -> int:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return 0


def remove_stale_folders() -> int:
    """Remove the cell folders of managers that are gone (killed, even by SIGKILL), ending
    what their cells still run first; how many were removed.

    A folder is named with its manager (`_owner`): one whose manager is alive, or of another
    pid namespace (whose processes cannot be seen from here), or kept on purpose, stays.
    """
    removed = 0
    here = _pid_namespace()
    for path in Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}*"):
        match = _OWNED.match(path.name)
        if match is None or int(match[1]) != here:
            continue
        pid, started = int(match[2]), int(match[3])
        if processes.start_time(pid) == started:  # its manager still runs
            continue
        with contextlib.suppress(OSError):
            marker = (path / "marker").read_text(encoding="utf-8")
            processes.end_cell(marker, GRACE_SECONDS, path)
            cellgroup.remove(marker)
        shutil.rmtree(path, ignore_errors=True)
        removed += not path.exists()
    return removed


class _Folder:
    """One cell's temporary folder and the files its processes read and write."""

    def __init__(self, keep: bool = False) -> None:
        # named with its manager, so that the next run removes it if the manager dies;
        # a folder kept on purpose is not
        owned = "" if keep else f"{_owner()}-"
        self.root = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{owned}"))
        # traversable (not listable) by others: a server run as another user, such as the
        # `postgres` system user, must reach its data directory inside the work directory
        self.root.chmod(0o711)
        self.work, self.home, self.tmp = self.root / "work", self.root / "home", self.root / "tmp"
        for folder in (self.work, self.home, self.tmp):
            folder.mkdir()
        self.cell_json = self.root / "cell.json"
        self.result = self.root / "result.json"
        self.read_result = self.root / "read_result.json"
        self.read_back_done = self.root / "read_back_done.json"
        self.progress = self.root / "progress.json"  # what a writer killed by plan had logged
        self.stderr = self.root / "stderr.txt"
        self.marker = uuid.uuid4().hex  # every process of the cell inherits it
        (self.root / "marker").write_text(self.marker, encoding="utf-8")
        self.group = cellgroup.create(self.marker)  # where the machine lets us: None if not

    def write_cell(self, cell: Mapping[str, Any]) -> None:
        """(Re)write cell.json, which every process of the cell reads."""
        self.cell_json.write_text(json.dumps(cell), encoding="utf-8")


def _spawn(argv: Sequence[str], folder: _Folder, env: Mapping[str, str], stderr: Path,
           **kwargs: Any) -> subprocess.Popen[bytes]:  # fmt: skip
    with open(stderr, "ab") as err:
        return subprocess.Popen(
            argv, cwd=folder.work, env=env, stderr=err,
            start_new_session=True,  # own process group and session: one kill ends all
            **{"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, **kwargs},
        )  # fmt: skip


@contextlib.contextmanager
def _leashed(
    argv: Sequence[str], folder: _Folder, env: Mapping[str, str], stderr: Path, timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker watching a pipe only this manager writes to (scenarios/watchdog.py): it ends
    itself when the pipe closes (this manager died, or is done with it) or a little after
    its timeout."""
    read, write = os.pipe()  # neither end is inherited but by this one worker
    try:
        watch = f"{read}:{timeout + WATCH_MARGIN_SECONDS:g}"
        proc = _spawn(argv, folder, {**env, WATCH_VAR: watch}, stderr, pass_fds=(read,))
        os.close(read)
        read = -1
        yield proc
    finally:
        for fd in (read, write):
            if fd >= 0:
                os.close(fd)


def _load(path: Path) -> tuple[Any, str]:
    """A process's JSON result and "", or None and why there is none that can be used."""
    if not path.exists():
        return None, ""
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return None, f"result is not JSON: {exc}"
    if not isinstance(found, dict):
        return None, f"result is {type(found).__name__}, not an object"
    if found.get(S.OUTCOME) not in S.OUTCOMES:
        return None, f"unknown outcome {found.get(S.OUTCOME)!r}"
    for key, value in found.items():
        if key.endswith("_ns") and value is not None and type(value) is not int:
            return None, f"{key} is {value!r}, not an integer"
    return found, ""


class _Service:
    """The keeper of the adapter's local server (`worker.py --service`)."""

    def __init__(self, python: Path, folder: _Folder, env: Mapping[str, str]) -> None:
        argv = [os.fspath(python), "-I", os.fspath(envs.WORKER), "--service",
                os.fspath(folder.cell_json)]  # fmt: skip
        self.proc = _spawn(argv, folder, env, folder.root / "service_stderr.txt",
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
        self.stderr = folder.root / "service_stderr.txt"

    def ready(self, timeout: float) -> dict[str, Any]:
        """Its one-line report: the port and start-up time, or the cell's outcome."""
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else b""
        try:
            message = json.loads(line) if line else None
        except ValueError:
            message = None
        if isinstance(message, dict):
            return message
        if not ready:
            return {S.OUTCOME: S.TIMEOUT, S.REASON: f"service: no answer within {timeout:g} s"}
        return {S.OUTCOME: S.CRASH, S.REASON: f"service: {line!r}; {_tail(self.stderr)}"}

    def stop(self) -> None:
        """Close its stdin: it stops the server (SIGTERM, then SIGKILL) and exits."""
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                assert pipe is not None
                pipe.close()
        try:
            self.proc.wait(timeout=GRACE_SECONDS + 20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _writer(
    argv: list[str], folder: _Folder, env: Mapping[str, str], timeout: float,
    service: _Service | None, workload: str,
) -> dict[str, Any]:  # fmt: skip
    """Run the writer and measure it: its result in the schema's names (never raises)."""
    # the local server counts with the writer (the framework needs it), its keeper does not
    others = (service.proc.pid,) if service else ()
    cpu_before = processes.tree_cpu(others, others) if others else 0
    busy_before = processes.busy_cpu_ns()
    started = time.perf_counter_ns()
    with _leashed(argv, folder, env, folder.stderr, timeout) as proc:
        watch = processes.Watch(proc.pid, timeout, others)
        watch.start()
        try:
            _pid, status, usage = os.wait4(proc.pid, 0)
            exited = time.perf_counter_ns()
            planned = _killed_by_plan(workload, status, folder)
            if planned:  # as after a real crash, its helpers may still save what they hold
                _wait_group(proc.pid, KILLED_GRACE_SECONDS)
        finally:  # interrupted: run_cell stops the cell, the writer first given SIGTERM
            watch.stopped.set()
            watch.join()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # what it left running in its group
    busy = processes.busy_cpu_ns() - busy_before
    code = proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4 above
    # the writer's own CPU and its reaped children's, then what still runs in its session
    # (a background writer) and what the local server did meanwhile
    cpu = int((usage.ru_utime + usage.ru_stime) * 1e9) + processes.tree_cpu((proc.pid,))
    if others:
        cpu += processes.tree_cpu(others, others) - cpu_before
    result: dict[str, Any] = {
        S.OUTCOME: S.CRASH,
        S.REASON: "",
        S.FRAMEWORK_VERSION: "",
        S.PROCESS_NS: exited - started,
        S.CPU_NS: cpu,
        S.PEAK_RSS_BYTES: max(usage.ru_maxrss * 1024, watch.peak),
        # the machine's other work meanwhile (other processes, the harness's own threads)
        S.OTHER_CPU_NS: max(busy - cpu, 0),
        S.LOAD_AVERAGE: os.getloadavg()[0],
    }
    found, problem = _load(folder.result)
    tail = _tail(folder.stderr)
    if planned:
        counts = _load_counts(folder.progress)
        result.update({S.OUTCOME: S.OK, S.REASON: "", **counts})
        result["notes"] = counts  # for the reader: what had been logged and flushed
        return result
    if watch.timed_out:
        wrote = " after writing its result (something kept it alive)" if found else ""
        # whatever phases it measured before it hung at exit stay
        result.update({k: v for k, v in (found or {}).items() if k in S.WRITER_TIMINGS})
        result.update({S.OUTCOME: S.TIMEOUT, S.REASON: f"killed after {timeout:g} s{wrote}"})
    elif problem:
        result.update({S.OUTCOME: S.BAD_OUTPUT, S.REASON: f"{problem}; {_exit_text(code)}"})
    elif found is None:
        if code == 0:
            result.update({S.OUTCOME: S.BAD_OUTPUT, S.REASON: "worker exited 0 with no result"})
        else:
            result[S.REASON] = f"{_exit_text(code)}: {tail}"
    else:
        result.update({k: v for k, v in found.items() if k in RESULT_KEYS})
        result["notes"] = found.get("notes")  # for the reader only
        if code != 0 and found[S.OUTCOME] in (S.OK, S.UNSUPPORTED):
            result[S.OUTCOME] = S.CRASH
            result[S.REASON] = f"{_exit_text(code)} after writing its result: {tail}"
        elif found[S.OUTCOME] == S.CRASH:
            result[S.REASON] = f"{found.get(S.REASON, '')} ({_exit_text(code)}); stderr: {tail}"
    if found and not problem:
        if found.get("load_started_ns") is not None:
            result[S.HARNESS_NS] = found["load_started_ns"] - started
        if found.get("finished_ns") is not None and not watch.timed_out:
            result[S.EXIT_NS] = exited - found["finished_ns"]
        phases = [result.get(name) for name in S.TRACKED_PHASES]
        if result[S.OUTCOME] == S.OK and None not in phases:
            result[S.TRACKING_NS] = sum(phases)
    return result


def _killed_by_plan(workload: str, status: int, folder: _Folder) -> bool:
    """Whether the writer died of its own planned SIGKILL (it left its counts first)."""
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    return workload in S.KILLED_BY_PLAN and killed and folder.progress.exists()


def _load_counts(path: Path) -> dict[str, Any]:
    """What a writer killed by plan left (logged and flushed values, the framework's
    version): written whole (os.replace) before the kill."""
    found = json.loads(path.read_text(encoding="utf-8"))
    counts: dict[str, Any] = {k: int(found[k]) for k in (S.LOGGED_VALUES, S.FLUSHED_VALUES)}
    return {**counts, S.FRAMEWORK_VERSION: str(found.get(S.FRAMEWORK_VERSION, ""))}


def _wait_group(pgid: int, seconds: float) -> None:
    """Wait until no process of group `pgid` is left, at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)


def _reader(
    argv: list[str], folder: _Folder, env: Mapping[str, str], timeout: float, workload: str
) -> dict[str, Any]:
    """Run the reader; what it adds to the cell's result (never raises).

    The framework's reader gets the cell's timeout; once it has returned, the harness's check
    of what it read gets as long again, and a check that does not finish is the harness's
    failure, never the framework's timeout."""
    stderr = folder.root / "read_stderr.txt"
    checking = False
    with _leashed(argv, folder, env, stderr, 2 * timeout) as proc:
        code = _waited(proc, timeout)
        if code is None and folder.read_back_done.exists():
            checking = True
            since = time.time() - folder.read_back_done.stat().st_mtime
            code = _waited(proc, max(timeout - since, 0.0))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # what it left running goes with it
        proc.wait()
    if code is None and checking:
        read, _ = _load(folder.read_back_done)
        return {
            **{k: v for k, v in (read or {}).items() if k in S.READER_TIMINGS},
            S.FIDELITY: S.NOT_CHECKED,
            S.REASON: f"harness failure: checking what was read back took over {timeout:g} s",
            S.HARNESS_FAILURE: S.CHECK_TIMED_OUT,
        }
    if code is None:
        failure = {S.OUTCOME: S.TIMEOUT, S.REASON: f"reading back: killed after {timeout:g} s"}
    else:
        found, problem = _load(folder.read_result)
        if found is not None and found[S.OUTCOME] == S.OK:
            keys = (S.FIDELITY, S.REASON, *S.READER_TIMINGS, *S.SCENARIO_FIELDS,
                    *S.SCENARIO_NUMBERS)  # fmt: skip
            return {k: found.get(k) for k in keys if k in found}
        why = (found or {}).get(S.REASON) or problem or _exit_text(code)
        failure = {S.OUTCOME: S.CRASH, S.REASON: f"reading back: {why}; {_tail(stderr)}"}
    if workload in S.READ_HEADLINED:  # reading is what the cell measures: the cell failed
        return {**failure, S.FIDELITY: S.NOT_CHECKED}
    if failure[S.OUTCOME] == S.TIMEOUT:  # the data cannot be read in time: lost to its user
        return {S.FIDELITY: S.WRONG_DATA, S.REASON: failure[S.REASON]}
    return {S.FIDELITY: S.NOT_CHECKED, S.REASON: failure[S.REASON]}


def _waited(proc: subprocess.Popen[bytes], seconds: float) -> int | None:
    """Its exit code, or None if it still runs after `seconds`."""
    try:
        return proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return None


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
    declared: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Run one cell (server, writer, reader); a dict keyed as in RESULT_KEYS.

    `python` is the interpreter to run the worker with (default: the framework's built
    environment; EnvError if it is not built). Failures of the cell are outcomes, never
    exceptions. `keep` leaves the cell's temporary directory in place for inspection.
    `python_args` go between `python -I` and the writer (a profiler's, `-X importtime`);
    `stderr_copy` receives the writer's whole stderr. `declared` is what the adapter
    declares (as `envs.describe` gives it), looked up when not given. `seed` chooses what a
    workload leaves to chance per cell (where the crash scenario's writer is killed).
    """
    python = Path(python) if python is not None else envs.python_for(framework, with_)
    if declared is None:
        declared = envs.describe((framework,)).get(framework, {})
    folder = _Folder(keep)
    cell: dict[str, Any] = {
        "framework": framework,
        "workload": workload,
        "params": dict(params or {}),
        "workdir": os.fspath(folder.work),
        "result": os.fspath(folder.result),
        "read_result": os.fspath(folder.read_result),
        "read_back_done": os.fspath(folder.read_back_done),
        "progress": os.fspath(folder.progress),
        "seed": seed,
        "cell_json": os.fspath(folder.cell_json),  # for a live reader the writer starts
        "live_read_timeout": min(timeout / 4, 120.0),
        "service_log": os.fspath(folder.root / "service.log"),
        "service_timeout": min(service_timeout, timeout),
    }
    folder.write_cell(cell)
    result: dict[str, Any] = dict.fromkeys(RESULT_KEYS)
    result.update({S.FIDELITY: S.NOT_CHECKED, S.REASON: "", S.FRAMEWORK_VERSION: ""})
    service: _Service | None = None
    worker = [os.fspath(python), "-I"]
    try:
        with closed_port() as proxy_port:
            env = worker_env(python, folder.home, folder.tmp, folder.marker, proxy_port)
            if folder.group is not None:  # each worker joins it before anything else
                env[cellgroup.GROUP_VAR] = os.fspath(folder.group)
            if declared.get("service"):
                service = _Service(python, folder, env)
                message = service.ready(cell["service_timeout"] + 5)
                if message.get(S.OUTCOME):
                    result.update({k: message[k] for k in (S.OUTCOME, S.REASON)})
                    return _finish(result, folder, service, stderr_copy)
                if message.get("port"):
                    result[S.SERVICE_START_NS] = message.get("service_start_ns")
                    env = {**env, SERVICE_PORT_VAR: str(message["port"])}
            cell_arg = os.fspath(folder.cell_json)
            argv = [*worker, *python_args, os.fspath(envs.WORKER), cell_arg]
            result.update(_writer(argv, folder, env, timeout, service, workload))
            notes = result.pop("notes", None)
            result[S.DISK_BYTES] = disk_bytes(folder.work)
            if result[S.OUTCOME] == S.OK:
                if READ_BACK in declared.get("supports", ()):
                    if notes is not None:  # what the writer hands the reader
                        folder.write_cell({**cell, "notes": notes})
                    argv = [*worker, os.fspath(envs.WORKER), "--read", cell_arg]
                    result.update(_reader(argv, folder, env, timeout, workload))
                else:
                    result[S.FIDELITY] = S.UNVERIFIED
                    result[S.REASON] = f"{framework} declares no reader (read_back)"
        return _finish(result, folder, service, stderr_copy)
    except BaseException:  # interrupted: nothing the cell started may outlive it
        with processes.held_signals():  # a second Ctrl-C must not cut the stop short
            _abandon(folder, service, keep)
        raise
    finally:
        cellgroup.remove(folder.marker)
        if not keep:
            shutil.rmtree(folder.root, ignore_errors=True)


def _abandon(folder: _Folder, service: _Service | None, keep: bool) -> None:
    """Stop an interrupted cell: SIGTERM its process groups (the keeper then stops its server
    cleanly), SIGKILL what is left after a grace period, remove its folder."""
    processes.end_cell(folder.marker, INTERRUPT_GRACE_SECONDS, folder.root)
    if service is not None:
        for pipe in (service.proc.stdin, service.proc.stdout):
            with contextlib.suppress(OSError):
                assert pipe is not None
                pipe.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            service.proc.wait(timeout=1)  # reaped: it has stopped, or was killed above
    if not keep:
        shutil.rmtree(folder.root, ignore_errors=True)


def _finish(
    result: dict[str, Any], folder: _Folder, service: _Service | None,
    stderr_copy: str | os.PathLike[str] | None,
) -> dict[str, Any]:  # fmt: skip
    """Stop the server, count and end leftovers, list files written outside: the result.

    Outside files are those in the cell's private HOME and TMPDIR: what a framework leaves in
    a user's home and temporary folder. Nothing shared (the real home, /tmp) is diffed, so
    no other process's files are ever charged to the cell.
    """
    if service is not None:
        service.stop()
    leftovers = processes.marked_processes(folder.marker, folder.root)
    processes.kill_all(leftovers)  # left running by the cell: counted, then ended
    outside = _files_under(folder.home) + _files_under(folder.tmp)
    result[S.LEFTOVER_PROCESSES] = len(leftovers)
    result[S.OUTSIDE_FILES] = len(outside)
    result[S.OUTSIDE_PATHS] = [_display(p, folder.root) for p in outside[:20]]
    if stderr_copy is not None and folder.stderr.exists():
        shutil.copyfile(folder.stderr, stderr_copy)
    return result
