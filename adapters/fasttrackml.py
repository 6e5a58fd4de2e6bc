"""FastTrackML: its `fml` server (Go, from the wheel) on 127.0.0.1, the MLflow 2.x client."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import ClassVar

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
)
from adapters.mlflow import OverHttp


class FasttrackmlAdapter(OverHttp):
    """The `fml` tracking server with a SQLite database in the work directory; MLflow's client."""

    name = "fasttrackml"
    # the server's SQLite store fsyncs at checkpoints, not per commit (strace of the server:
    # 9 fsync calls for 100 values, 30 for 1000)
    durability = PROCESS
    requirements = (
        "fasttrackml==0.6.0",
        # What fasttrackml 0.6.0 resolves to (it pins mlflow<3). Its own Python client fails to
        # import against it (`_MLflowObject`); the plain MLflow client is what talks to `fml`.
        "mlflow==2.22.5",
    )
    env: ClassVar[dict[str, str]] = {
        # The worker points HTTP(S) proxies at a closed port so that stray calls fail fast;
        # the client's calls to the server on the loopback must not go through them.
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        # MLflow client telemetry (a no-op in 2.22, honoured by later clients); DO_NOT_TRACK
        # only as the value "true".
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "true",
        # Already the default; pinned so that a user's environment cannot start a background
        # sampler of CPU/GPU/disk, which is not tracking work.
        "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false",
        # INFO lines on stderr are console output, not tracking work.
        "MLFLOW_LOGGING_LEVEL": "WARNING",
    }
    # Declared here rather than inherited: what `fml` does is measured for `fml` itself.
    # Several clients of one server is the deployment it is built for. Large arrays: `fml`
    # only records each run's artifact URI under the file:// root; the MLflow client copies
    # the file there itself (LocalArtifactRepository) and reads it from there, so no request
    # to the server carries the bytes and no server limit applies.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "the MLflow client's log_batch is synchronous by default: one REST call, "
        "answered once fml has written the metrics to its database (its LogBatch handler "
        "inserts them before it replies); neither fml nor the client has a flush for it (the "
        "client's mlflow.flush_async_logging() drains only asynchronous logging, "
        "synchronous=False, which these calls never enter)",
    }
    fidelity = LOSSY
    fidelity_note = (
        "params are strings (MLflow's API); metrics: +/-inf is stored as +/-max float64 and "
        "-0.0 as 0.0; other float64 values, NaN included (an is_nan column), and NPY artifacts "
        "are exact"
    )
    array_mechanism = (
        "numpy.save to an NPY file, then log_artifact (the client copies it to the file:// root)"
    )
    leaves_behind = "nothing once the worker stops the server (files all in the work directory)"

    def version(self) -> str:
        """The fasttrackml wheel's version (the server binary it ships)."""
        from importlib.metadata import version

        return version("fasttrackml")

    def service_argv(self, workdir: Path, port: int) -> list[str] | None:
        """`fml server` on 127.0.0.1:port, database and artifact root in the work directory."""
        fml = Path(sys.executable).parent / "fml"
        return [
            os.fspath(fml),
            "server",
            # One line per request at the default level "info" is console output.
            "--log-level",
            "error",
            # The default is localhost:5000, which may be taken and may resolve to ::1.
            "--listen-address",
            f"127.0.0.1:{port}",
            # The defaults are ./fasttrackml.db and ./artifacts in the current directory.
            "--database-uri",
            f"sqlite://{workdir / 'fml.db'}",
            "--default-artifact-root",
            (workdir / "artifacts").as_uri(),
        ]
