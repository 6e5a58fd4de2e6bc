"""SwanLab in offline mode: a `.swanlab` record log per run, read back with SwanLab's own reader."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    EXACT,
    FLUSH,
    LARGE_ARRAYS,
    MANY_RUNS,
    PROCESS,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Service,
    save_npy,
)

# Where runs go inside the work directory (SwanLab's default is ./swanlog).
LOG_DIR = "swanlog"
# The arrays' NPY files: run.save() symlinks them into the run folder, so they stay here.
ARRAYS_DIR = "swanlab-arrays"


class SwanlabAdapter(Adapter):
    """SwanLab offline; hardware, runtime, git and package probes, the system monitor and
    terminal capture off."""

    name = "swanlab"
    reader = (
        "SwanLab's own DataStoreReader and Record protobufs (what `swanlab sync` reads) and "
        "the run's config.yaml: the SDK reads offline runs back only by syncing them to its "
        "cloud"
    )
    # The record log is written through a Python file buffer, handed to the OS as the
    # buffer fills and flushed at run.finish(); its writer has the flush and fsync after
    # each record commented out ("store/__init__.py": high-frequency metrics would cost disk
    # I/O), so nothing is fsynced and a killed process loses the buffer's tail.
    durability = PROCESS
    requirements: ClassVar[tuple[str, ...]] = ("swanlab==0.10.3",)
    env: ClassVar[dict[str, str]] = {
        # Offline: the run is written to local files only (the default is the cloud).
        "SWANLAB_MODE": "offline",
        # SwanLab reads its user settings and credentials from ~/.swanlab and global
        # settings from /etc/swanlab: neither the machine's nor a user's file may change a
        # benchmark, so both point into the work directory (which holds neither).
        "SWANLAB_ROOT": "{workdir}/swanlab-root",
        "SWANLAB_CONFIG_DIR": "{workdir}/swanlab-etc",
    }
    # Concurrent writers each get their own run folder and record log under one log dir.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "SwanLab's Run has no flush or sync call (swanlab.sync uploads a finished run "
        "to the cloud): run.log() hands each row to its in-process core, whose record log "
        "is flushed only when run.finish() closes it",
    }
    fidelity = EXACT
    fidelity_note = (
        "scalars are protobuf doubles in the run's record log (NaN, infinities, -0.0 kept); "
        "params are YAML in config.yaml; arrays are NPY files the run links to"
    )
    array_mechanism = "NPY file saved with run.save() (symlinked into the run's files folder)"
    leaves_behind = "nothing outside the work directory; no processes (its core runs in-process)"

    def load(self) -> None:
        """Import swanlab."""
        import swanlab

        self.lib = swanlab

    def open(self, workdir: Path, service: Service | None) -> None:
        """Nothing to start: each run creates its own folder under the log dir."""
        self.workdir = Path(workdir)
        self.run: Any = None

    def _settings(self) -> Any:
        """Offline, and tracking work only: no probes of the machine, no console capture."""
        settings = self.lib.Settings
        return settings(
            mode="offline",
            interactive=False,  # never a prompt (a login, say): a batch job has no one to ask
            log_dir=self.workdir / LOG_DIR,
            probe=settings.Probe(
                hardware=False,  # CPU, GPU and memory snapshot at start
                runtime=False,  # OS, Python, command line
                requirements=False,  # `pip freeze` (through uv where it finds one)
                conda=False,
                git=False,
                swanlab=False,  # its own version and settings
                monitor=False,  # the periodic system monitor thread
            ),
            terminal=settings.Terminal(proxy_type="none"),  # no capture of stdout/stderr
        )

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """swanlab.init: one offline run per call, params as its config."""
        self.run = self.lib.init(
            project=experiment,
            experiment_name=run_name,
            config=dict(params),
            settings=self._settings(),
        )

    def log(self, values: dict[str, float], step: int) -> None:
        """run.log with an explicit step."""
        self.run.log(values, step=step)

    def log_array(self, name: str, array: Any) -> None:
        """An NPY file saved with run.save: SwanLab's mechanism for arbitrary files."""
        folder = self.workdir / ARRAYS_DIR / self.run.id
        folder.mkdir(parents=True, exist_ok=True)
        path = save_npy(folder, name, array)
        self.run.save(os.fspath(path), base_path=os.fspath(folder), policy="now")

    def end_run(self) -> None:
        """run.finish: the core writes the finish record and closes the record log."""
        self.run.finish()
        self.run = None

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Each run's record log (start, scalar and save records) and its config.yaml."""
        import numpy as np
        import yaml
        from swanlab.proto.swanlab.record.v1.record_pb2 import Record
        from swanlab.proto.swanlab.save.v1.save_pb2 import SAVE_TYPE_CONFIG, SAVE_TYPE_CUSTOM
        from swanlab.sdk.internal.core_python.store import DataStoreReader

        out = []
        for path in sorted(workdir.glob(f"{LOG_DIR}/run-*/run-*.swanlab")):
            files = path.parent / "files"
            experiment = run_name = ""
            params: dict[str, Any] = {}
            series: dict[str, dict[int, float]] = {}
            arrays: dict[str, Any] = {}
            reader = DataStoreReader()
            reader.open(path)
            try:
                for data in reader:
                    record = Record()
                    record.ParseFromString(data)
                    kind = record.WhichOneof("record_type")
                    if kind == "start":
                        experiment, run_name = record.start.project, record.start.name
                    elif kind == "scalar":
                        scalar = record.scalar
                        series.setdefault(scalar.key, {})[scalar.step] = scalar.value.number
                    elif kind == "save" and record.save.type == SAVE_TYPE_CUSTOM:
                        name = record.save.name
                        arrays[name[: -len(".npy")]] = np.load(files / name, allow_pickle=False)
                    elif kind == "save" and record.save.type == SAVE_TYPE_CONFIG:
                        config = yaml.safe_load((files / "config.yaml").read_text("utf-8"))
                        params = {key: item["value"] for key, item in (config or {}).items()}
            finally:
                reader.close()
            metrics = {k: sorted(d.items()) for k, d in series.items()}
            out.append(RunData(experiment, run_name, params, metrics, arrays))
        return out
