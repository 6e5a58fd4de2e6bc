"""Sacred: a FileStorageObserver in the work directory; source, stdout and host capture off."""

from __future__ import annotations

import json
import logging
import os
import threading
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
    Unsupported,
    save_npy,
)

# Sacred adds a `seed` entry to every run's config by itself; it is not one of our params
# unless the caller passed one (run.json's meta.config_updates says what was passed).
_SACRED_SEED = "seed"


STORE = "sacred"  # the observer's folder in the work directory


class SacredAdapter(Adapter):
    """Sacred 0.8, FileStorageObserver; each run is one `ex.run()` whose `_run` takes the logs.

    Sacred's shape is a main function executed by `ex.run()`, which emits the started event
    before calling it and flushes metrics and emits the completed event after it returns.
    `start_run` starts `ex.run()` in a thread and waits until the main function is running
    and has handed over its `_run`; `log` calls `_run.log_scalar` directly (Sacred's metrics
    logger is a thread-safe queue, so no call crosses threads); `end_run` lets the main
    function return and joins the thread, which covers Sacred's own completion work.
    """

    name = "sacred"
    reader = (
        "trackbench's reader of the FileStorageObserver's JSON files: Sacred has no "
        "reader of its own"
    )
    # FileStorageObserver rewrites its JSON files on heartbeats and at the end, never fsynced
    durability = PROCESS
    # sacred 0.8.7 imports pkg_resources, which setuptools dropped in 81.
    requirements = ("sacred==0.8.7", "setuptools==80.10.2")
    # No variables: Sacred has no telemetry and no network code on the file observer path,
    # and GitPython is only imported when git capture is on (it is off below).
    env: ClassVar[dict[str, str]] = {}
    # Several processes share one observer directory: FileStorageObserver._make_run_dir
    # retries when another process took the next run id.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "_run.log_scalar only queues a measurement, which Sacred hands to its observers "
        "'during a heartbeat event' (its docstring): in the run's heartbeat thread, every "
        "beat_interval (SETTINGS.DEFAULT_BEAT_INTERVAL, 10 s), and when the run ends. Sacred "
        "has no public call to emit them sooner",
    }
    array_mechanism = "artifact: numpy.save to a file, then _run.add_artifact copies it in"
    leaves_behind = "nothing found outside the work directory; no processes"

    def load(self) -> None:
        """Import Sacred and switch off capture it does by default."""
        import warnings

        with warnings.catch_warnings():
            # sacred 0.8.7 imports pkg_resources, whose import warns that it is deprecated;
            # that is the framework's own business, not a fault of this run.
            warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
            import sacred
            from sacred import SETTINGS
            from sacred.observers import FileStorageObserver

        # Settings are read when an Experiment is made and when a run starts, so set them
        # before either. Stdout capture (fd tee) and source/dependency discovery are not
        # tracking work; the GPU probe spawns nvidia-smi and the CPU probe reads /proc.
        SETTINGS.CAPTURE_MODE = "no"
        SETTINGS.DISCOVER_SOURCES = "none"
        SETTINGS.DISCOVER_DEPENDENCIES = "none"
        SETTINGS.HOST_INFO.INCLUDE_GPU_INFO = False
        SETTINGS.HOST_INFO.INCLUDE_CPU_INFO = False
        self._sacred = sacred
        self._observer_cls = FileStorageObserver

    def open(self, workdir: Path, service: Any = None) -> None:
        """Create the observer's directory inside the work directory."""
        self._workdir = Path(workdir)
        self._store = self._workdir / STORE
        # numpy.save writes here first; Sacred's artifacts are copies of existing files.
        self._scratch = self._workdir / "sacred-scratch"
        # copy_sources=False: Sacred always records the main file (here this module) and by
        # default copies it into the store on every run.
        self._observer = self._observer_cls(self._store, copy_sources=False)
        # Sacred logs "Running command" / "Completed" at INFO to a stream handler of its own
        # unless given a logger; ours only lets warnings through.
        self._logger = logging.getLogger("trackbench.sacred")
        self._logger.setLevel(logging.WARNING)
        self._experiments: dict[str, Any] = {}
        self._declared: dict[str, set[str]] = {}
        self._run: Any = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    def _experiment(self, name: str) -> Any:
        ex = self._experiments.get(name)
        if ex is None:
            # interactive=True: the experiment is defined from a library, not a script's
            # `__main__`; save_git_info=False: no git capture.
            ex = self._sacred.Experiment(
                name, interactive=True, save_git_info=False, base_dir=os.fspath(self._workdir)
            )
            ex.logger = self._logger
            ex.observers.append(self._observer)

            # Sacred sets attributes on its main function, so it must be a plain function.
            def main(_run: Any) -> None:
                self._main(_run)

            ex.main(main)
            self._experiments[name] = ex
        return ex

    def _main(self, _run: Any) -> None:
        """Sacred's main function: hand `_run` to the adapter, return when the run ends."""
        self._run = _run
        self._started.set()
        self._ended.wait()

    def _execute(self, ex: Any, run_name: str, params: dict[str, Any]) -> None:
        try:
            ex.run(config_updates=dict(params), meta_info={"run_name": run_name})
        except BaseException as exc:  # reported by start_run or end_run in the caller
            self._error = exc
        finally:
            self._started.set()

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Start `ex.run()` and wait until its main function holds the run."""
        ex = self._experiment(experiment)
        # Sacred refuses config updates for keys the experiment's config does not declare
        # (ConfigAddedError), so declare each new key once, as Sacred users write a config
        # of defaults; every run then passes its params as config updates.
        declared = self._declared.setdefault(experiment, set())
        new = {key: value for key, value in params.items() if key not in declared}
        if new:
            ex.add_config(new)
            declared.update(new)
        self._started = threading.Event()
        self._ended = threading.Event()
        self._error = None
        self._run = None
        self._thread = threading.Thread(
            target=self._execute, args=(ex, run_name, params), name="sacred-run"
        )
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error

    def log(self, values: dict[str, float], step: int) -> None:
        """One `_run.log_scalar` per value."""
        log_scalar = self._run.log_scalar
        for key, value in values.items():
            log_scalar(key, value, step)

    def log_array(self, name: str, array: Any) -> None:
        """Save the array as a .npy file and add it as an artifact (Sacred copies the file)."""
        if "/" in name or name.startswith("."):
            raise Unsupported(f"sacred artifact names are file names; got {name!r}")
        path = save_npy(self._scratch, name, array)
        self._run.add_artifact(os.fspath(path), name=f"{name}.npy")
        path.unlink()

    def end_run(self) -> None:
        """Let the main function return; Sacred flushes metrics and completes the run."""
        run = self._run
        self._ended.set()
        assert self._thread is not None
        self._thread.join()
        # Sacred joins its heartbeat thread (which writes metrics.json) with a 2 s timeout;
        # a large final flush could still be running, so wait for it too.
        heartbeat = getattr(run, "_heartbeat", None)
        if heartbeat is not None:
            heartbeat.join()
        self._thread = None
        self._run = None
        if self._error is not None:
            raise self._error

    def finish(self) -> None:
        """Nothing left to do: each run's files are complete once `end_run` returns."""
        if self._scratch.exists():
            self._scratch.rmdir()

    def read_back(self, workdir: Path, service: Any) -> list[RunData]:
        """Read every run directory the observer wrote (run.json, config.json, metrics.json)."""
        import numpy as np

        store = workdir / STORE
        runs = []
        run_dirs = [p for p in store.iterdir() if p.is_dir() and p.name.isdigit()]
        for run_dir in sorted(run_dirs, key=lambda p: int(p.name)):
            entry = json.loads((run_dir / "run.json").read_text())
            config = json.loads((run_dir / "config.json").read_text())
            passed = entry["meta"].get("config_updates", {})
            params = {k: v for k, v in config.items() if k != _SACRED_SEED or k in passed}
            metrics: dict[str, list[tuple[int, float]]] = {}
            metrics_file = run_dir / "metrics.json"
            if metrics_file.exists():
                for key, series in json.loads(metrics_file.read_text()).items():
                    pairs = zip(series["steps"], series["values"], strict=True)
                    metrics[key] = sorted(
                        ((int(s), float(v)) for s, v in pairs), key=lambda p: p[0]
                    )
            arrays = {}
            for artifact in entry.get("artifacts", []):
                if artifact.endswith(".npy"):
                    arrays[artifact[: -len(".npy")]] = np.load(run_dir / artifact)
            runs.append(
                RunData(
                    experiment=entry["experiment"]["name"],
                    run_name=entry["meta"].get("run_name", run_dir.name),
                    params=params,
                    metrics=metrics,
                    arrays=arrays,
                )
            )
        return runs
