"""Neptune 1.x client in offline mode: operations queued as JSON lines under the work directory."""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    DROPPED,
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
    save_npy,
)

# Where each kind of value goes inside a run, so names of different kinds never collide.
_METRICS = "metrics"
_PARAMS = "parameters"
_ARRAYS = "arrays"
_EXPERIMENT = "experiment"
FILES = "neptune-files"  # the NPY files log_array saves and uploads, in the work directory
# Why both Neptune clients stay in the matrix, for the report beside their rows.
SERVICE_CLOSED = (
    "Neptune's hosted service closed in March 2026; its offline clients stay as historical "
    "baselines (comparisons people still cite, MLtraq's among them, have Neptune)"
)


class NeptuneAdapter(Adapter):
    """Neptune 1.x, offline mode, data directory in the work directory; capture of all kinds off."""

    name = "neptune"
    # Offline, each operation is appended to the operation log in the caller's thread, into
    # a buffered file: it reaches the OS when the buffer fills, at run.wait() or at stop();
    # never fsynced (strace; no fsync anywhere in the client)
    durability = PROCESS
    # 1.x is the last `neptune` client with an offline mode that writes a local store; 2.x
    # only talks to the hosted service (neptune-scale, the newer client, has its own adapter).
    requirements = ("neptune==1.14.0.post2",)
    historical = SERVICE_CLOSED
    env: ClassVar[dict[str, str]] = {
        # No server here: offline mode queues every operation on local disk (synced later by
        # `neptune sync`, never here).
        "NEPTUNE_MODE": "offline",
        # Read at import; the default is ./.neptune in the current directory.
        "NEPTUNE_DATA_DIRECTORY": "{workdir}/.neptune",
        # Some libraries only honour this value to switch off usage statistics.
        "DO_NOT_TRACK": "true",
    }
    # Each offline run has its own operation log under .neptune/offline. A file uploaded from
    # a path is not copied offline (its path is queued), so a 1 GB array costs one NPY file.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK, FLUSH})
    fidelity = LOSSY
    fidelity_note = (
        "NaN and +-inf are not stored (the client skips them with a NeptuneUnsupportedValue "
        "warning); every other float64 is exact (JSON numbers in the offline operation log), "
        "as are params and NPY arrays"
    )
    array_mechanism = (
        "numpy.save to an NPY file in the work directory, then run[...].upload(path): the "
        "offline log records the file's path, `neptune sync` would read it from there"
    )
    leaves_behind = "nothing found outside the work directory; no processes"

    def expect_scalar(self, value: float) -> Any:
        """A non-finite value is not stored at all; every other value exactly."""
        return value if math.isfinite(value) else DROPPED

    def load(self) -> None:
        """Import the neptune client."""
        import logging

        import neptune

        # Its info lines ("Neptune initialized", "Shutting down background jobs") go to stdout
        # through its own non-propagating logger; warnings and errors still show.
        logging.getLogger("neptune").setLevel(logging.WARNING)

        self._neptune = neptune
        self._run: Any = None

    def open(self, workdir: Path, service: Service | None) -> None:
        """Nothing to start: the offline store is created by the first run."""
        self._files = Path(workdir) / FILES

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """One offline run, with every capture (stdout, stderr, hardware, git, sources) off."""
        self._run = self._neptune.init_run(
            mode="offline",
            project="trackbench/offline",  # offline mode needs a name; it is never contacted
            name=run_name,
            capture_stdout=False,
            capture_stderr=False,
            capture_hardware_metrics=False,
            capture_traceback=False,
            git_ref=False,
            source_files=[],
        )
        self._run_files: Path | None = None  # this run's folder of NPY files, made on first use
        self._run[_EXPERIMENT] = experiment
        if params:
            self._run[_PARAMS] = params

    def log(self, values: dict[str, float], step: int) -> None:
        """Append one value per series at `step` (neptune's per-step API)."""
        run = self._run
        for key, value in values.items():
            run[f"{_METRICS}/{key}"].append(value, step=step)

    def log_array(self, name: str, array: Any) -> None:
        """numpy.save, then upload from the path: neptune's documented way for NumPy arrays."""
        # Offline, the upload queues the file's absolute path and copies nothing: the file
        # must stay where it is, so it goes into the work directory, in a folder of this
        # run's own (runs in several processes log arrays of one name).
        if self._run_files is None:
            self._files.mkdir(exist_ok=True)
            self._run_files = Path(tempfile.mkdtemp(dir=self._files))
        path = save_npy(self._run_files, name, array)
        self._run[f"{_ARRAYS}/{name}"].upload(os.fspath(path))

    def flush(self) -> None:
        """run.wait(disk_only=True): the operation log flushed from memory to local disk."""
        # Documented as waiting only "for data to be saved locally from memory"; offline,
        # the plain wait() does the same (OfflineOperationProcessor.wait is its flush).
        self._run.wait(disk_only=True)

    def end_run(self) -> None:
        """Stop the run: flushes its operation queue to disk and closes it."""
        self._run.stop()
        self._run = None

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Replay each run's offline operation log with the client's own queue reader."""
        import threading

        import numpy as np
        from neptune.core.components.operation_storage import OperationStorage
        from neptune.core.components.queue.disk_queue import DiskQueue
        from neptune.internal.operation import (
            AssignBool,
            AssignFloat,
            AssignInt,
            AssignString,
            LogFloats,
            Operation,
            UploadFile,
        )

        offline = workdir / ".neptune" / "offline"
        runs = []
        for container in sorted(offline.iterdir()):
            # What `neptune sync` reads; a run directory may hold one or more execution dirs.
            data_dirs = sorted(p.parent for p in container.rglob("last_put_version"))
            for data_path in data_dirs:
                fields: dict[str, Any] = {}
                series: dict[str, list[tuple[int, float]]] = {}
                arrays: dict[str, Any] = {}
                storage = OperationStorage(data_path)
                queue = DiskQueue(
                    data_path=data_path,
                    to_dict=lambda op: op.to_dict(),
                    from_dict=Operation.from_dict,
                    lock=threading.RLock(),
                )
                try:
                    while (element := queue.get()) is not None:
                        op = element.obj
                        path = "/".join(op.path)
                        if isinstance(op, LogFloats):
                            points = series.setdefault(path, [])
                            points.extend((int(v.step), v.value) for v in op.values)
                        elif isinstance(op, AssignFloat | AssignInt | AssignBool | AssignString):
                            fields[path] = op.value
                        elif isinstance(op, UploadFile):
                            # where `neptune sync` reads it: the uploaded file's own path
                            file = op.get_absolute_path(storage)
                            arrays[path] = np.load(file, allow_pickle=False)
                finally:
                    queue.close()  # read only: nothing acknowledged, no log file removed
                runs.append(_run_data(fields, series, arrays))
        return runs


def _by_step(point: tuple[int, float]) -> int:
    """Sort key: the step alone, so equal steps keep the order they were logged in."""
    return point[0]


def _strip(prefix: str, mapping: dict[str, Any]) -> dict[str, Any]:
    """The entries under `prefix/`, with the prefix removed."""
    cut = len(prefix) + 1
    return {key[cut:]: value for key, value in mapping.items() if key.startswith(prefix + "/")}


def _run_data(fields: dict[str, Any], series: dict[str, Any], arrays: dict[str, Any]) -> RunData:
    """One RunData from a replayed operation log."""
    metrics = {
        name: sorted(((step, float(value)) for step, value in points), key=_by_step)
        for name, points in _strip(_METRICS, series).items()
    }
    return RunData(
        experiment=fields.get(_EXPERIMENT, ""),
        run_name=fields.get("sys/name", ""),
        params=_strip(_PARAMS, fields),
        metrics=metrics,
        arrays=_strip(_ARRAYS, arrays),
    )
