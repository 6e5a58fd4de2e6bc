"""MLflow: a SQLite backend file in the work directory, directly or behind its own server."""

from __future__ import annotations

import math
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    ARRAYS,
    CONCURRENCY,
    FLUSH,
    LARGE_ARRAYS,
    LOSSY,
    MANY_RUNS,
    POWER,
    READ_BACK,
    STEPS,
    VARIANT,
    Adapter,
    RunData,
    Service,
    save_npy,
)


class MlflowAdapter(Adapter):
    """MLflow's client writing straight into a SQLite file; artifacts in the work directory."""

    name = "mlflow"
    # SQLite's default, synchronous=FULL, one commit per call (strace: 1,496 fdatasync calls
    # for 100 values)
    durability = POWER
    # 3.18.0 is on PyPI, and now its mlflow-skinny too, but not the mlflow-tracing==3.18.0 it
    # also pins (checked 2026-12-03 with `uv pip compile`): 3.17.2 is the newest that installs.
    requirements: ClassVar[tuple[str, ...]] = ("mlflow==3.17.2",)
    env: ClassVar[dict[str, str]] = {
        # Telemetry is on by default: it phones home and writes an installation id under
        # ~/.config/mlflow. DO_NOT_TRACK is honoured too, but only as the value "true".
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        # Already MLflow's default; pinned so that a user's environment cannot turn on a
        # background sampler of CPU/GPU/disk, which is not tracking work.
        "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false",
        # INFO lines on stderr (the migrations of a new store) are console output, not tracking.
        "MLFLOW_LOGGING_LEVEL": "WARNING",
    }
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "MlflowClient.log_batch is synchronous by default (MLFLOW_ENABLE_ASYNC_LOGGING "
        "off) and commits each call to the SQLite store before it returns; MLflow's one flush, "
        "mlflow.flush_async_logging(), drains the queue of asynchronous logging "
        "(synchronous=False), which these calls never enter: there is nothing of its own to "
        "flush",
    }
    fidelity = LOSSY
    fidelity_note = (
        "params are stored as strings (str(value)); metrics: +/-inf is stored as +/-max float64 "
        "(its SQL store cannot hold infinities) and -0.0 reads back as 0.0 (SQLite); other "
        "float64 values, NaN included, and NPY artifacts are exact"
    )
    array_mechanism = (
        "numpy.save to an NPY file, then log_artifact (copied into the artifact store)"
    )
    leaves_behind = "nothing: SQLite file and artifacts in the work directory, no process"

    def expect_scalar(self, value: float) -> Any:
        """+/-inf comes back as +/-max float64 (MLflow's SQL store), -0.0 as 0.0 (SQLite)."""
        if math.isinf(value):
            return math.copysign(sys.float_info.max, value)
        if value == 0.0:
            # SQLite writes a REAL with no fractional part as an integer: the sign of zero
            # does not survive.
            return 0.0
        return value

    def expect_param(self, value: Any) -> Any:
        """MLflow params are strings."""
        return str(value)

    def load(self) -> None:
        """Import MLflow and the entity classes the client's batch call takes."""
        import mlflow
        from mlflow.entities import Metric, Param

        self.lib = mlflow
        self.Metric = Metric
        self.Param = Param

    def tracking_uri(self, workdir: Path, service: Service | None) -> str:
        """Where the client sends its calls: the SQLite file itself."""
        return f"sqlite:///{workdir / 'mlflow.db'}"

    def artifact_location(self, experiment: str) -> str | None:
        """The artifact root of a new experiment (None: the server's default)."""
        from urllib.parse import quote

        # one folder per experiment, whatever characters its name holds
        return (self.workdir / "artifacts" / quote(experiment, safe="")).as_uri()

    def open(self, workdir: Path, service: Service | None) -> None:
        """Create the client; a new SQLite store runs MLflow's migrations here (seconds)."""
        from mlflow.tracking import MlflowClient

        self.workdir = Path(workdir)
        self.scratch = self.workdir / "scratch"
        self.client = MlflowClient(tracking_uri=self.tracking_uri(self.workdir, service))
        # The first call creates (or migrates) the store; done here so that it is timed as
        # `init` rather than as the first run's start.
        self.client.search_experiments(max_results=1)
        self.experiment_ids: dict[str, str] = {}
        self.run_id = ""

    def _experiment_id(self, name: str) -> str:
        """The id of experiment `name`, created on first use."""
        exp_id = self.experiment_ids.get(name)
        if exp_id is None:
            existing = self.client.get_experiment_by_name(name)
            if existing is not None:
                exp_id = existing.experiment_id
            else:
                exp_id = self.client.create_experiment(
                    name, artifact_location=self.artifact_location(name)
                )
            self.experiment_ids[name] = exp_id
        return exp_id

    def prepare_experiment(self, experiment: str) -> None:
        """Create the experiment (MLflow's experiments exist apart from their runs)."""
        self._experiment_id(experiment)

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Create the run (no source/git tags: the client adds none) and log its params."""
        run = self.client.create_run(self._experiment_id(experiment), run_name=run_name)
        self.run_id = run.info.run_id
        if params:
            self.client.log_batch(
                self.run_id, params=[self.Param(k, str(v)) for k, v in params.items()]
            )

    def log(self, values: dict[str, float], step: int) -> None:
        """One log_batch per step: MLflow's call for several metrics at once (one transaction)."""
        ts = int(time.time() * 1000)
        metric = self.Metric
        self.client.log_batch(
            self.run_id, metrics=[metric(k, v, ts, step) for k, v in values.items()]
        )

    def log_array(self, name: str, array: Any) -> None:
        """Save as NPY and log it as an artifact: MLflow has no array type of its own."""
        path = save_npy(self.scratch, name, array)
        try:
            self.client.log_artifact(self.run_id, os.fspath(path))
        finally:
            path.unlink()

    def end_run(self) -> None:
        """Mark the run finished."""
        self.client.set_terminated(self.run_id)

    def finish(self) -> None:
        """Nothing is buffered: every call above committed before it returned."""
        if self.scratch.exists():
            self.scratch.rmdir()

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Runs, metric histories and NPY artifacts through a new MlflowClient."""
        import numpy as np
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=self.tracking_uri(workdir, service))
        out = []
        for exp in client.search_experiments():
            runs: list[Any] = []
            token = None
            while True:
                page = client.search_runs(
                    [exp.experiment_id], max_results=1000, page_token=token, order_by=[]
                )
                runs.extend(page)
                token = page.token
                if not token:
                    break
            for run in reversed(runs):  # search_runs returns the newest first
                run_id = run.info.run_id
                metrics = {}
                for key in run.data.metrics:
                    history = client.get_metric_history(run_id, key)
                    history.sort(key=lambda m: (m.step, m.timestamp))
                    metrics[key] = [(int(m.step), float(m.value)) for m in history]
                arrays = {}
                with tempfile.TemporaryDirectory(dir=workdir) as dst:
                    for info in client.list_artifacts(run_id):
                        if info.path.endswith(".npy"):
                            local = client.download_artifacts(run_id, info.path, dst)
                            arrays[info.path[: -len(".npy")]] = np.load(local, allow_pickle=False)
                out.append(
                    RunData(exp.name, run.info.run_name, dict(run.data.params), metrics, arrays)
                )
        return out


class MlflowAsyncAdapter(MlflowAdapter):
    """MLflow's asynchronous logging, as it recommends for training loops: the same client and
    store, log_batch queued for its logging threads."""

    name = "mlflow-async"
    role = VARIANT
    env: ClassVar[dict[str, str]] = {
        **MlflowAdapter.env,
        # log_batch queues each call and returns (synchronous=False is the default then);
        # MLflow's own threads commit the queue to the store in batches.
        "MLFLOW_ENABLE_ASYNC_LOGGING": "true",
    }
    # The same store as `mlflow`: each batch its threads write is committed with SQLite's
    # synchronous=FULL, so once flush() (or a run's end) returns, it survives a power cut;
    # what is still queued is in memory only.
    durability = POWER
    supports = MlflowAdapter.supports | {FLUSH}
    lacks: ClassVar[dict[str, str]] = {}

    def open(self, workdir: Path, service: Service | None) -> None:
        """The client, and MLflow's module-level functions pointed at the same store."""
        super().open(workdir, service)
        # flush_async_logging() drains the queue of the store of the global tracking URI:
        # stores are cached per URI, so it is the very store this client queues into.
        self.lib.set_tracking_uri(self.tracking_uri(self.workdir, service))

    def flush(self) -> None:
        """mlflow.flush_async_logging(): waits until everything queued is committed."""
        self.lib.flush_async_logging()

    def finish(self) -> None:
        """Drain the queue (set_terminated has drained it at each run's end already)."""
        self.lib.flush_async_logging()
        super().finish()


class OverHttp(MlflowAdapter):
    """The MLflow client talking to a tracking server the worker started on the loopback."""

    def service_ready(self, service: Service) -> bool:
        """Whether GET /health answers 200."""
        import urllib.request  # ~30 ms: only the cells with a server pay it

        # An opener without proxies: the worker's proxy variables point at a closed port.
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://127.0.0.1:{service.port}/health", timeout=1) as resp:
                return bool(resp.status == 200)
        except OSError:
            return False

    def tracking_uri(self, workdir: Path, service: Service | None) -> str:
        """The server on the loopback."""
        if service is None:
            raise ValueError(f"{self.name} needs the server the worker starts")
        return f"http://127.0.0.1:{service.port}"

    def artifact_location(self, experiment: str) -> str | None:
        """None: the server's default artifact root (set inside the work directory)."""
        return None


class MlflowServerAdapter(OverHttp):
    """MLflow's own tracking server on 127.0.0.1 (SQLite backend), the client over HTTP."""

    name = "mlflow-server"
    role = VARIANT
    env: ClassVar[dict[str, str]] = {
        **MlflowAdapter.env,
        # The server starts a huey job runner (GenAI jobs: scorers, trace rollups) with its
        # queue in a temporary directory under /dev/shm: a second process and files outside
        # the work directory, none of it tracking work.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        # The worker points HTTP(S) proxies at a closed port so that stray calls fail fast;
        # the client's calls to its own server on the loopback must not go through them.
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        # The client prints a link to the run in the server's UI at every run's end.
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    }
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "MlflowClient.log_batch is synchronous by default (MLFLOW_ENABLE_ASYNC_LOGGING "
        "off): one REST call, answered once the server has committed it to its SQLite store; "
        "MLflow's one flush, mlflow.flush_async_logging(), drains the client's queue of "
        "asynchronous logging (synchronous=False), which these calls never enter: there is "
        "nothing of its own to flush",
    }
    array_mechanism = (
        "numpy.save to an NPY file, then log_artifact (uploaded to the server's artifact proxy)"
    )
    leaves_behind = "nothing once the worker stops the server (files all in the work directory)"

    def service_argv(self, workdir: Path, port: int) -> list[str] | None:
        """`mlflow server` on 127.0.0.1:port, its store and artifacts in the work directory."""
        return [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{workdir / 'mlflow.db'}",
            # Artifacts go through the server (its default, as teams deploy it) into the
            # work directory instead of ./mlartifacts.
            "--serve-artifacts",
            "--artifacts-destination",
            (workdir / "mlartifacts").as_uri(),
            # One uvicorn worker (the default is 4): the cells drive it from one client
            # process, and writes to one SQLite file are serialized anyway.
            "--workers",
            "1",
            # A line on stderr per request is console output, not tracking work.
            "--uvicorn-opts",
            "--no-access-log",
        ]
