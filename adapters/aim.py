"""Aim: a local repository (RocksDB) in the work directory, reindexed by finish() for readers."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
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

STORE = "aim"  # the repository in the work directory


class AimAdapter(Adapter):
    """Aim's Run API on a local repository; system metrics, parameters and terminal capture off."""

    name = "aim"
    # RocksDB's write-ahead log without sync: the same ~25 fsync and ~140 fdatasync calls for
    # 100 or 1000 values (strace), at compactions, close and the reindex
    durability = PROCESS
    requirements = ("aim==3.29.1",)
    env: ClassVar[dict[str, str]] = {
        # Aim itself needs nothing here: the repository path is passed explicitly (the default
        # is ./.aim) and 3.29 has no telemetry setting (its UI reports telemetry off). Set for
        # any dependency that honours it, and only as the value "true".
        "DO_NOT_TRACK": "true",
    }
    # Several processes write into one repository: Aim locks each run, not the repository.
    # Artifacts are files copied as they are (shutil.copy, no size limit in Aim's file:// store).
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "Aim's Run has no flush or sync: track() writes each value into the run's "
        "RocksDB store (its write-ahead log, through the OS) before it returns; close() "
        "finalizes the run",
    }
    fidelity = EXACT
    fidelity_note = "metrics are float64 in Aim's RocksDB store; arrays are NPY artifact files"
    array_mechanism = "numpy.save to an NPY file, then run.log_artifact (copied to a file:// URI)"
    leaves_behind = "nothing found outside the work directory; no processes after close()"

    def load(self) -> None:
        """Import aim."""
        import aim

        self._aim = aim
        self._run: Any = None

    def open(self, workdir: Path, service: Service | None) -> None:
        """Create the repository (`aim init` does the same) in the work directory."""
        from aim.sdk.repo import Repo

        self._workdir = Path(workdir)
        self._repo_dir = self._workdir / STORE
        self._repo_dir.mkdir(exist_ok=True)
        self._artifacts = (self._workdir / "aim-artifacts").as_uri()
        self._scratch = self._workdir / "scratch"
        # Created here so that its cost is `init`, not the first run's start; opening the
        # repository opens its index for writing, so it takes its turn with other writers.
        with self._index_lock():
            Repo.from_path(str(self._repo_dir), init=True)

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """A run with system tracking, system params and terminal log capture off."""
        with self._index_lock():
            self._run = run = self._aim.Run(
                repo=str(self._repo_dir),
                experiment=experiment,
                system_tracking_interval=None,
                log_system_params=False,
                capture_terminal_logs=False,
            )
        run.name = run_name
        if hasattr(run, "set_artifacts_uri"):  # Aim 3.18.1 (MLtraq's version) has no artifacts
            run.set_artifacts_uri(self._artifacts)
        if params:
            run["hparams"] = params

    def log(self, values: dict[str, float], step: int) -> None:
        """All of one step's values in one track() call."""
        self._run.track(values, step=step)

    def log_array(self, name: str, array: Any) -> None:
        """Save as NPY and log it as an artifact: Aim has no array type (Distribution bins it)."""
        if not hasattr(self._run, "log_artifact"):
            raise RuntimeError(
                "this Aim has no artifact API (Run.log_artifact), which the adapter stores "
                "arrays with, as NPY files: its only array-like type, Distribution, bins them"
            )
        path = save_npy(self._scratch, name, array)
        try:
            self._run.log_artifact(os.fspath(path), name=f"{name}.npy", block=True)
        finally:
            path.unlink()

    def end_run(self) -> None:
        """Close the run: finalizes it and releases its RocksDB handles."""
        with self._index_lock():
            self._run.close()
        self._run = None

    @contextlib.contextmanager
    def _index_lock(self) -> Iterator[None]:
        """Hold the repository's index alone: a run opening or closing it while another
        writer's `aim storage reindex` holds it fails on RocksDB's LOCK (seen at load 2)."""
        import fcntl

        with open(self._repo_dir / ".reindex.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def finish(self) -> None:
        """Reindex the repository with Aim's CLI, so a new process lists the closed runs."""
        import subprocess

        from aim.sdk.repo import Repo

        # Closed runs are not listed until the index is rebuilt (Aim's documented fix:
        # `aim storage reindex`, run as a user would): without it a new process reads
        # nothing, so it is part of making the data readable, i.e. of tracking. Two reindexes
        # of one repository at once fail on RocksDB's lock, so writers take turns.
        aim_cli = Path(sys.executable).parent / "aim"
        # Aim 3.18.1 (MLtraq's version) has no index to rebuild: its `storage reindex` is a
        # deprecated no-op (without -y), and a run is listed once it closes
        if hasattr(Repo, "_recreate_index"):
            with self._index_lock():
                subprocess.run(
                    [os.fspath(aim_cli), "storage", "--repo", os.fspath(self._repo_dir),
                     "reindex", "-y"],
                    check=True,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )  # fmt: skip
        if self._scratch.exists():
            self._scratch.rmdir()

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Runs, metrics and artifacts of the repository, through Aim's SDK; a run that was
        never closed (its writer killed) indexed first, as Aim's own index manager does."""
        import tempfile

        import numpy as np
        from aim.sdk.index_manager import RepoIndexManager
        from aim.sdk.repo import Repo

        repo = Repo.from_path(str(workdir / STORE))
        out = []
        try:
            # The SDK lists only indexed runs, and a run is indexed when it closes (or by a
            # reindex, as finish() runs). For a run whose writer died, Aim's UI server
            # (`aim up`) runs RepoIndexManager, which indexes each run chunk it finds out of
            # date; the same call here, for the runs the index does not list. After a
            # finished writer there are none.
            repo.meta_tree.preload()
            listed = set(repo.meta_tree.subtree("chunks").keys())
            unlisted = sorted(set(repo.list_all_runs()) - listed)
            if unlisted:
                indexer = RepoIndexManager.get_index_manager(repo)
                for run_hash in unlisted:
                    indexer.index(run_hash)
                repo.container_pool.clear()  # reopen the index with the new runs
            runs = sorted(repo.iter_runs(), key=lambda run: run.created_at)
            for run in runs:
                metrics = {}
                for metric in run.metrics():
                    # sorted by step; the values as Aim stored them (Python floats)
                    steps, (values,) = metric.data.view("val").items_list()
                    metrics[metric.name] = [
                        (int(s), float(v)) for s, v in zip(steps, values, strict=True)
                    ]
                arrays = {}
                with tempfile.TemporaryDirectory(dir=workdir) as dst:
                    for artifact_name, artifact in getattr(run, "artifacts", {}).items():
                        if artifact_name.endswith(".npy"):
                            local = artifact.download(dst)
                            arrays[artifact_name[: -len(".npy")]] = np.load(
                                local, allow_pickle=False
                            )
                params = run.get("hparams", {}) or {}
                out.append(
                    RunData(run.experiment or "", run.name or "", dict(params), metrics, arrays)
                )
        finally:
            repo.close()
        return out
