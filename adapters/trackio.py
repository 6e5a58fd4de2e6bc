"""Trackio: local SQLite per project under TRACKIO_DIR in the work directory, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    FLUSH,
    LARGE_ARRAYS,
    MANY_RUNS,
    PROCESS,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    save_npy,
)


class TrackioAdapter(Adapter):
    """Trackio, local mode: `trackio.init/log/finish`; its background writer batches into SQLite.

    Values are stored as orjson text in a `metrics` column (shortest round-trip repr, so
    float64 comes back exact; NaN and infinities as the strings "NaN"/"Infinity", which its
    reader turns back into floats). Arrays go in as artifacts: a .npy file copied into the
    project's content-addressed blob store and recorded in SQLite.
    """

    name = "trackio"
    # trackio's SQLite pragmas: WAL with synchronous=NORMAL (sqlite_storage.py), strace: the
    # same 12 fdatasync calls for 100 or 1000 values
    durability = PROCESS
    requirements = ("trackio==0.43.0",)
    env: ClassVar[dict[str, str]] = {
        # Trackio reads this at import; the default is under the Hugging Face cache in $HOME.
        "TRACKIO_DIR": "{workdir}/trackio",
        # huggingface_hub (imported by trackio) looks up tokens and caches under HF_HOME;
        # keep even those reads and any write inside the work directory.
        "HF_HOME": "{workdir}/hf",
        # No Hugging Face network calls (trackio asks /whoami for a user name at init).
        "HF_HUB_OFFLINE": "1",
        # huggingface_hub's telemetry off (it also honours DO_NOT_TRACK).
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "true",
        # gradio_client (imported by trackio) sends analytics from its remote Client; unused
        # in local mode, off in case a code path creates one.
        "GRADIO_ANALYTICS_ENABLED": "False",
    }
    # Several processes share one SQLite file per project (WAL), as trackio allows.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "trackio.log only queues the values for the run's background thread, which "
        "writes the queue to SQLite every 0.5 s (BATCH_SEND_INTERVAL); only trackio.finish() "
        "waits for the queue to drain, and its API has no flush (trackio.sync uploads a "
        "project to a Hugging Face Space)",
    }
    array_mechanism = "artifact: numpy.save to a file, log_artifact copies it into its blob store"
    leaves_behind = "nothing found outside the work directory; no processes"

    def load(self) -> None:
        """Import trackio (TRACKIO_DIR must already be in the environment)."""
        import trackio

        self._trackio = trackio

    def open(self, workdir: Path, service: Any = None) -> None:
        """Nothing to start: trackio creates its SQLite file on the first run."""
        self._workdir = Path(workdir)
        self._scratch = self._workdir / "trackio-scratch"
        self._run: Any = None

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """`trackio.init` with the CPU/GPU monitors and the notebook dashboard off."""
        self._run = self._trackio.init(
            project=experiment,
            name=run_name,
            config=dict(params),
            auto_log_cpu=False,
            auto_log_gpu=False,
            embed=False,
        )

    def log(self, values: dict[str, float], step: int) -> None:
        """One `trackio.log` per step with every value of that step."""
        self._trackio.log(values, step=step)

    def log_array(self, name: str, array: Any) -> None:
        """Save the array as .npy and log it as an artifact of the run."""
        path = save_npy(self._scratch, name, array)
        self._run.log_artifact(path, name=name, type="numpy")
        path.unlink()

    def end_run(self) -> None:
        """`trackio.finish`: stops the run's writer thread after it has flushed its queue."""
        run = self._run
        self._trackio.finish()
        # finish() joins the writer with a 30 s timeout and only warns when it is still
        # running; wait for it, the data must be complete when the run ends.
        thread = getattr(run, "_local_sender_thread", None)
        if thread is not None:
            thread.join()
        self._run = None

    def finish(self) -> None:
        """Nothing left: each run's writer has flushed and stopped in `end_run`."""
        if self._scratch.exists():
            self._scratch.rmdir()

    def read_back(self, workdir: Path, service: Any) -> list[RunData]:
        """Read every project in TRACKIO_DIR with trackio's own storage reader."""
        import numpy as np
        from trackio import cas
        from trackio.api import Api
        from trackio.sqlite_storage import SQLiteStorage

        runs = []
        for project in SQLiteStorage.get_projects():
            for run in Api().runs(project):
                config = run.config or {}
                # Trackio adds _Username, _Created, _Group to every config.
                params = {k: v for k, v in config.items() if not k.startswith("_")}
                metrics: dict[str, list[tuple[int, float]]] = {}
                for row in SQLiteStorage.get_logs(project, run.name, run_id=run.id):
                    step = int(row["step"])
                    for key, value in row.items():
                        if key in ("step", "timestamp"):
                            continue
                        metrics.setdefault(key, []).append((step, float(value)))
                for series in metrics.values():
                    series.sort(key=lambda pair: pair[0])
                arrays = {}
                links = SQLiteStorage.get_run_artifacts(project, run.name, run.id)["output"]
                for link in links:
                    # Artifact names are per project; each run's array is one version.
                    found = SQLiteStorage.get_artifact_manifest(
                        project, link["name"], f"v{link['version']}"
                    )
                    for entry in (found or {}).get("manifest", []):
                        if entry["path"].endswith(".npy"):
                            blob = cas.blob_path(project, entry["digest"])
                            arrays[link["name"]] = np.load(blob, allow_pickle=False)
                runs.append(
                    RunData(
                        experiment=project,
                        run_name=run.name,
                        params=params,
                        metrics=metrics,
                        arrays=arrays,
                    )
                )
        return runs
