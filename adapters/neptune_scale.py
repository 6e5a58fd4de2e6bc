"""neptune-scale (Neptune's newer client) in offline mode: one SQLite operation log per run.

Neptune's hosted service closed in March 2026; neptune-scale stays here as a historical
baseline, since people still compare trackers against Neptune. Offline, `Run(mode="offline")`
writes every call's protobuf operations into `run_operations.sqlite3` (its
OperationsRepository) in a directory of its own under the log directory, and starts no sync
process; `neptune sync` would later send that file to the service, which is never done here.
neptune-scale has no reader of its own for offline runs (its data was read back from the
service), so read_back opens each run's file with neptune-scale's own OperationsRepository
and decodes the operations with the protobuf classes of neptune_api, in a new process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    EXACT,
    FLUSH,
    LARGE_ARRAYS,
    MANY_RUNS,
    POWER,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Service,
    save_npy,
)

# the Neptune 1.x adapter's namespaces inside a run, so names of different kinds never collide
from adapters.neptune import _ARRAYS, _METRICS, _PARAMS, SERVICE_CLOSED

PROJECT = "trackbench/offline"  # offline mode needs a "workspace/project"; never contacted
LOG_DIRECTORY = ".neptune"  # in the work directory: one folder per run, its SQLite file inside
DB_NAME = "run_operations.sqlite3"
FILES = "neptune-scale-files"  # the NPY files log_array saves and assigns, in the work directory
# neptune-scale's limit on one stored operation; get_operations reads at least this much
_PAGE_BYTES = 2 * 1024 * 1024


class NeptuneScaleAdapter(Adapter):
    """neptune-scale 0.30, offline mode, log directory in the work directory; console
    capture and source (git) tracking off."""

    name = "neptune-scale"
    # Each log_metrics/log_configs/assign_files call is one SQLite transaction, committed in
    # the caller's thread before it returns, with `PRAGMA journal_mode = WAL` and
    # `PRAGMA synchronous = FULL` (OperationsRepository._get_connection): the WAL is synced
    # at every commit. strace: 111 fdatasync calls for 100 values, 1020 for 1000.
    durability = POWER
    requirements = ("neptune-scale==0.30.0",)
    historical = SERVICE_CLOSED
    env: ClassVar[dict[str, str]] = {
        # No service here: offline stores the operations locally and starts no sync process.
        # The adapter passes mode="offline" itself; this also keeps any Run made without a
        # mode from defaulting to "async", which starts the sync process that sends to the
        # (closed) service.
        "NEPTUNE_MODE": "offline",
        # Where a Run made without log_directory puts its folder (default: ./.neptune in the
        # current directory); the adapter passes the same path itself.
        "NEPTUNE_LOG_DIRECTORY": "{workdir}/" + LOG_DIRECTORY,
        # Its logger prints info lines on stderr by default; warnings (a value dropped, the
        # offline folder kept at close "for neptune sync") still show.
        "NEPTUNE_LOGGER_LEVEL": "warning",
    }
    # Each Run, in any process, writes a SQLite file of its own: several runs in one process,
    # several processes at once. A file assigned from a path is not copied: the operation log
    # keeps the path (as `neptune sync` would read it), so a 1 GB array costs one NPY file.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "offline, neptune-scale has nothing to flush: every log_metrics/log_configs "
        "call is committed to the run's SQLite file (WAL, synchronous=FULL) before it "
        "returns; its waits, wait_for_submission() and wait_for_processing(), wait for the "
        "sync process to send the operations to the Neptune service, and return at once "
        "offline, where that process never runs",
    }
    fidelity = EXACT
    fidelity_note = (
        "metrics are protobuf doubles in the run's SQLite operation log (float64 bit for bit, "
        "NaN, infinities and -0.0 included); params keep their type (int64, bool, str, "
        "float64); arrays are NPY files the log refers to by path"
    )
    reader = (
        "trackbench's reader of each run's run_operations.sqlite3 through neptune-scale's own "
        "OperationsRepository and neptune_api's protobuf operations: neptune-scale read "
        "offline runs back only after syncing them to the (closed) hosted service"
    )
    array_mechanism = (
        "numpy.save to an NPY file in the work directory, then run.assign_files({name: path}): "
        "offline, the run's SQLite file records the path and a file reference, no copy"
    )
    leaves_behind = "nothing found outside the work directory; no processes (no sync process)"

    def load(self) -> None:
        """Import neptune-scale (its logger level is read from the environment here)."""
        from neptune_scale import Run

        self._Run = Run
        self._run: Any = None

    def open(self, workdir: Path, service: Service | None) -> None:
        """Nothing to start: each Run creates its own folder and SQLite file."""
        self._workdir = Path(workdir)
        self._log_directory = self._workdir / LOG_DIRECTORY
        self._files = self._workdir / FILES

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """One offline Run: the run name as its run_id, the experiment as experiment_name."""
        # Run ids must be unique in a project: every workload names its runs uniquely within
        # a cell, so the name is the id (run_id may not contain "/"; no workload's does).
        self._run = self._Run(
            project=PROJECT,
            run_id=run_name,
            experiment_name=experiment,
            mode="offline",
            log_directory=self._log_directory,
            enable_console_log_capture=False,  # stdout/stderr are not tracking work
            source_tracking_config=None,  # no git state, run command or diffs
        )
        self._run_files: Path | None = None  # this run's folder of NPY files, made on first use
        if params:
            self._run.log_configs({f"{_PARAMS}/{key}": value for key, value in params.items()})

    def log(self, values: dict[str, float], step: int) -> None:
        """log_metrics: one operation (one committed transaction) per step."""
        self._run.log_metrics(
            data={f"{_METRICS}/{key}": value for key, value in values.items()}, step=step
        )

    def log_array(self, name: str, array: Any) -> None:
        """numpy.save, then assign_files from the path: neptune-scale's way to store a file."""
        # Offline, a path is recorded as it is (a FileUploadRequest), nothing copied: the file
        # stays in the work directory, in a folder of this run's own (runs in several
        # processes log arrays of one name).
        if self._run_files is None:
            self._files.mkdir(exist_ok=True)
            self._run_files = Path(tempfile.mkdtemp(dir=self._files))
        path = save_npy(self._run_files, name, array)
        self._run.assign_files({f"{_ARRAYS}/{name}": os.fspath(path)})

    def end_run(self) -> None:
        """run.close(): closes the SQLite file (kept, as it holds operations not synced)."""
        self._run.close()
        self._run = None

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Every run's SQLite file, through neptune-scale's OperationsRepository."""
        return [read_run(path) for path in sorted((workdir / LOG_DIRECTORY).glob(f"*/{DB_NAME}"))]


def read_run(db_path: Path) -> RunData:
    """One run from its run_operations.sqlite3: the operations in the order they were stored."""
    import numpy as np
    from neptune_scale.sync.operations_repository import OperationsRepository, OperationType

    repo = OperationsRepository(db_path=db_path.absolute())
    try:
        metadata = repo.get_metadata()
        experiment = ""
        run_name = metadata.run_id if metadata is not None else ""
        params: dict[str, Any] = {}
        series: dict[str, list[tuple[int, float]]] = {}
        files: dict[str, str] = {}  # attribute -> the file's destination (its reference)
        last = None
        while operations := repo.get_operations(up_to_bytes=_PAGE_BYTES, from_exclusive=last):
            for op in operations:
                last = op.sequence_id
                if op.operation_type == OperationType.CREATE_RUN:
                    experiment, run_name = op.operation.experiment_id, op.operation.family
                    continue
                update = op.operation
                step = _step(update.step) if update.HasField("step") else 0
                for key, value in update.assign.items():
                    kind = value.WhichOneof("value")
                    if kind == "file_ref":
                        files[key] = value.file_ref.path
                    else:
                        params[key] = getattr(value, kind)
                for key, value in update.append.items():
                    if value.WhichOneof("value") == "float64":
                        series.setdefault(key, []).append((step, value.float64))
        # where the file referenced by each attribute is: the path assign_files recorded
        sources = {r.destination: r.source_path for r in _file_requests(repo)}
    finally:
        repo.close(cleanup_files=False)  # read only: nothing removed
    arrays = {
        key: np.load(sources[destination], allow_pickle=False)
        for key, destination in _strip(_ARRAYS, files).items()
    }
    metrics = {
        key: sorted(points, key=_by_step) for key, points in _strip(_METRICS, series).items()
    }
    return RunData(experiment, run_name, _strip(_PARAMS, params), metrics, arrays)


def _file_requests(repo: Any) -> list[Any]:
    """Every file upload request a run recorded (offline, none is ever sent and removed)."""
    count = repo.get_file_upload_requests_count()
    return list(repo.get_file_upload_requests(count)) if count else []


def _step(step: Any) -> Any:
    """A protobuf Step (whole and millionths) as the number it was logged as."""
    return int(step.whole) if not step.micro else step.whole + step.micro / 1_000_000


def _by_step(point: tuple[int, float]) -> int:
    """Sort key: the step alone, so equal steps keep the order they were logged in."""
    return point[0]


def _strip(prefix: str, mapping: dict[str, Any]) -> dict[str, Any]:
    """The entries under `prefix/`, with the prefix removed."""
    cut = len(prefix) + 1
    return {key[cut:]: value for key, value in mapping.items() if key.startswith(prefix + "/")}
