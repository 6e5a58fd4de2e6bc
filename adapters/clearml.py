"""ClearML in offline mode: one session folder (and its zip) per Task, in the work directory."""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO, Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    FLUSH,
    LARGE_ARRAYS,
    LOSSY,
    MANY_RUNS,
    PROCESS,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Service,
)

# CLEARML_CACHE_DIR: ClearML's cache, whose `offline/` folder holds one session folder per
# offline Task (`offline-<hex>/`: task.json, metrics.jsonl, log.jsonl, data/) and the
# `offline-<hex>.zip` that Task.close() makes of it.
CACHE = "clearml-cache"
CONFIG = "clearml.conf"  # CLEARML_CONFIG_FILE, written by load()
SESSIONS = "clearml-session"  # SessionCache's folder (hard-coded "~/.clearml" otherwise)
STAGING = "clearml-tmp"  # TMPDIR: where upload_artifact writes the .npz before "uploading"

# The settings ClearML has no environment variable for (sdk.conf keys, HOCON). Each is
# capture that is not tracking work:
CONFIG_TEXT = """\
# no `git diff` of the repository the script lives in (sdk.conf default: true)
sdk.development.store_uncommitted_code_diff: false
# No analysis of the script's imports into a requirements list: ClearML reads the
# requirements from this file instead (development.detect_with_pip_freeze may name a file),
# and a file that does not exist gives none.
sdk.development.detect_with_pip_freeze: "{workdir}/clearml-no-requirements.txt"
"""


def _write_config(path: Path, text: str) -> None:
    """Write ClearML's configuration file whole: several writer processes (concurrency) and
    the reader load the adapter, and none may read a half-written file."""
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return
    staged = path.with_name(f"{path.name}.{os.getpid()}")
    staged.write_text(text, encoding="utf-8")
    os.replace(staged, path)


def session_folders(workdir: Path) -> list[Path]:
    """Every offline session in the work directory: its zip, or the folder a killed writer
    left without one (Task.import_offline_session takes either)."""
    offline = workdir / CACHE / "offline"
    zips = {path.stem: path for path in offline.glob("offline-*.zip")}
    folders = {path.name: path for path in offline.glob("offline-*") if path.is_dir()}
    return [zips.get(key) or folders[key] for key in sorted(zips.keys() | folders.keys())]


def _open_bytes(path: Path) -> IO[bytes]:
    return path.open("rb")


@contextlib.contextmanager
def _opened(session: Path) -> Iterator[dict[str, Callable[[], IO[bytes]]]]:
    """Each file of a session zip or folder by its relative path: a function opening it."""
    if session.is_dir():
        files = (p for p in session.rglob("*") if p.is_file())
        yield {p.relative_to(session).as_posix(): partial(_open_bytes, p) for p in files}
        return
    import zipfile  # read back only

    with zipfile.ZipFile(session) as archive:
        yield {name: partial(archive.open, name) for name in archive.namelist()}


def read_session(session: Path) -> RunData:
    """One Task from its offline session, as Task.import_offline_session reads it: task.json
    (json.load), metrics.jsonl (json.loads of each line: a list of event dicts), the
    artifacts' files under data/, and hyper-parameters cast back with ClearML's own
    cast_basic_type (what Task.get_parameters(cast=True) uses)."""
    import numpy as np
    from clearml.utilities.proxy_object import cast_basic_type

    with _opened(session) as members:
        return _read_members(members, np, cast_basic_type)


def _read_members(members: dict[str, Callable[[], IO[bytes]]], np: Any, cast: Any) -> RunData:
    """read_session's work on the opened session."""
    with members["task.json"]() as f:
        task = json.load(f)
    params: dict[str, Any] = {}
    for section in (task.get("hyperparams") or {}).values():
        for name, item in section.items():
            params[name] = cast(item.get("value"), item.get("type"))
    series: dict[str, dict[int, float]] = {}
    if "metrics.jsonl" in members:
        with members["metrics.jsonl"]() as f:
            for line in f:
                try:
                    events = json.loads(line)
                except ValueError:  # a torn line: the importer, too, warns and goes on
                    continue
                for event in events:
                    if event.get("type") == "training_stats_scalar":
                        series.setdefault(event["metric"], {})[int(event["iter"])] = float(
                            event["value"]
                        )
    arrays: dict[str, Any] = {}
    prefix = (task.get("offline_folder") or "").rstrip("/") + "/"
    for artifact in (task.get("execution") or {}).get("artifacts") or []:
        if artifact.get("type") != "numpy":
            continue
        # the uri is the file's absolute path in the session folder at write time
        relative = str(artifact["uri"]).replace(prefix, "", 1)
        opener = members.get(relative)
        if opener is None:  # not "uploaded" (copied into the session) before the end
            continue
        with opener() as f, np.load(f, allow_pickle=False) as npz:
            arrays[artifact["key"]] = npz[artifact["key"]]
    metrics = {name: sorted(points.items()) for name, points in series.items()}
    return RunData(task.get("project_name") or "", task.get("name") or "", params, metrics, arrays)


class ClearmlAdapter(Adapter):
    """ClearML offline (`CLEARML_OFFLINE_MODE=1`): each run one Task, its session folder in the
    work directory; framework binding, console capture, resource monitoring, the code diff,
    the requirements scan and the update check off."""

    name = "clearml"
    requirements = ("clearml==2.1.12",)
    reader = (
        "trackbench's parser of the offline session (task.json, metrics.jsonl JSON lines, "
        "artifact files; params cast by ClearML's cast_basic_type): ClearML reads an offline "
        "session only by importing it into a server (Task.import_offline_session)"
    )
    # Each report is appended to metrics.jsonl by the reporting subprocess with open("at"),
    # write, close: no fsync anywhere on that path (backend_interface/metrics/interface.py
    # _do_write_events; fsync appears only in utilities/lowlevel and locks), so a completed
    # flush is in the OS's page cache: it survives the process, not a power cut.
    durability = PROCESS
    env: ClassVar[dict[str, str]] = {
        # Offline mode: no server is ever contacted; tasks get "offline-<hex>" ids. Read at
        # import (InterfaceBase._offline_mode, Session._offline_mode), so the SDK starts
        # offline; Task.set_offline(True) is the same switch, made after the import.
        "CLEARML_OFFLINE_MODE": "1",
        # The cache's offline/ folder is where sessions go; the default is
        # $TMPDIR/clearml_cache (config/defs.py DEFAULT_CACHE_DIR).
        "CLEARML_CACHE_DIR": "{workdir}/" + CACHE,
        # The only configuration file read (no ~/clearml.conf): written by load().
        "CLEARML_CONFIG_FILE": "{workdir}/" + CONFIG,
        # upload_artifact serialises the array into tempfile.mkstemp() before copying it
        # into the session folder; keep even that inside the work directory.
        "TMPDIR": "{workdir}/" + STAGING,
        # "ClearML new package available" messages (the check itself is stopped in load()).
        "CLEARML_SUPPRESS_UPDATE_MESSAGE": "1",
        # ClearML's own logging at WARNING: no INFO line on stderr such as "NaN value
        # encountered. Reporting it as '0.0'" (the task id and the session zip's path are
        # print()s to stdout, and stay).
        "CLEARML_LOG_LEVEL": "WARNING",
    }
    # Left at ClearML's Linux default (development.report_use_subprocess: true): reports go
    # through a pipe to a forked reporting subprocess that writes metrics.jsonl; it is the
    # tracking work itself. The subprocess writes on a fixed 5 s period (Reporter's
    # _flush_frequency = 5.0), and a flush does not wake it: the flush event is a
    # threading.Event of the writer's process (set_subprocess_mode shares the queue and the
    # "empty" and stop events, not _flush_event). So flush(wait_for_uploads=True) waits ~5 s
    # and close() ~10 s (flush, then the subprocess's last period), against ~0.01 s each with
    # the thread reporter (report_use_subprocess: false), measured with one value.
    # MANY_RUNS: Task.close() ends the main Task so that "we can close a main task and start
    # a new one" (task.py __shutdown); each Task.init then makes a new session. CONCURRENCY:
    # every writer's Task has its own session folder under the one cache directory. Large
    # arrays: an .npz (zip64) in the session folder, itself in the ZIP64 session zip.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK, FLUSH})
    fidelity = LOSSY
    fidelity_note = (
        "NaN, +inf and -inf are reported as 0.0 (ClearML's default_nan_value and "
        "default_inf_value, ScalarEvent: 'Use clearml.Logger.set_reporting_nan_value to "
        "assign another value'); every other float64 is kept exactly (JSON repr text in "
        "metrics.jsonl), -0.0 included; int, float, str and bool params come back exact "
        "through ClearML's cast_basic_type; "
        "arrays are .npz files (numpy.savez_compressed), dtype and shape kept"
    )
    array_mechanism = (
        "Task.upload_artifact(name, ndarray): numpy.savez_compressed to an .npz, copied into "
        "the session folder by its background uploader; close() zips it again (deflate)"
    )
    leaves_behind = (
        "nothing outside the work directory; the reporting subprocess ends with Task.close()"
    )

    def load(self) -> None:
        """Write the configuration file, import clearml, stop its update check."""
        workdir = Path(os.environ["CLEARML_CONFIG_FILE"]).parent
        # tempfile ignores a TMPDIR that does not exist (and caches its choice on first use)
        Path(os.environ["TMPDIR"]).mkdir(parents=True, exist_ok=True)
        _write_config(workdir / CONFIG, CONFIG_TEXT.format(workdir=workdir))
        from clearml import Task
        from clearml.config.cache import SessionCache
        from clearml.utilities.check_updates import CheckPackageUpdates

        # Task.init keeps the last task id per project and name for reuse_last_task_id in
        # "~/.clearml/.session.json", a folder no setting moves: move the class's own.
        SessionCache.SESSION_CACHE_FOLDER = os.fspath(workdir / SESSIONS)
        # Even offline, Task.init's repository thread GETs https://updates.clear.ml/updates
        # once per process (CheckPackageUpdates, no setting turns it off): mark it done.
        CheckPackageUpdates._package_version_checked = True
        # No repository detection: without this, Task.init's repository thread runs `git
        # status` and `hg status` in the script's folder (and git diff and more in a
        # repository); ClearML's documented switch stores the main script's text instead.
        Task.force_store_standalone_script(True)
        self._task_cls = Task
        self._task: Any = None

    def open(self, workdir: Path, service: Service | None) -> None:
        """Nothing to start: each Task.init makes its own session folder."""
        self._workdir = Path(workdir)

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Task.init, a new Task each time, with everything that is not tracking work off."""
        self._task = task = self._task_cls.init(
            project_name=experiment,
            task_name=run_name,
            reuse_last_task_id=False,  # a new Task (session) per run, never an old one reused
            auto_connect_arg_parser=False,  # the worker's argv is not the run's params
            auto_connect_frameworks=False,  # no patching of torch, matplotlib, joblib, ...
            auto_resource_monitoring=False,  # no CPU/GPU/memory sampling thread
            auto_connect_streams=False,  # no capture of stdout/stderr into log.jsonl
        )
        if params:
            task.connect(dict(params))  # the "General" hyper-parameter section
        self._logger = task.get_logger()

    def log(self, values: dict[str, float], step: int) -> None:
        """report_scalar per value: the metric name as both title and series."""
        report = self._logger.report_scalar
        for name, value in values.items():
            report(name, name, value, iteration=step)

    def log_array(self, name: str, array: Any) -> None:
        """upload_artifact: ClearML's mechanism for a numpy array (an .npz artifact)."""
        self._task.upload_artifact(name, artifact_object=array)

    def flush(self) -> None:
        """task.flush(wait_for_uploads=True): hands the queued reports to the reporting
        subprocess and waits until it has written them to metrics.jsonl."""
        self._task.flush(wait_for_uploads=True)

    def end_run(self) -> None:
        """task.close(): waits for the reporter and uploads, writes task.json, zips the session."""
        self._task.close()
        self._task = None

    def finish(self) -> None:
        """Nothing left: every Task closed in end_run; remove the emptied staging folder."""
        staging = Path(os.environ.get("TMPDIR", ""))
        if staging.name == STAGING and staging.is_dir() and not any(staging.iterdir()):
            staging.rmdir()

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Parse each offline session: its zip, or the folder a killed writer left."""
        return [read_session(path) for path in session_folders(workdir)]

    def expect_scalar(self, value: float) -> Any:
        """NaN and infinities come back as 0.0; everything else bit for bit."""
        return 0.0 if math.isnan(value) or math.isinf(value) else value
