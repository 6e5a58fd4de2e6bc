"""Comet's OfflineExperiment: one `<key>.zip` archive per run, read back from its contents."""

from __future__ import annotations

import json
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
    NONE,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Service,
    save_npy,
)

STORE = "comet"  # the archives' folder in the work directory (COMET_OFFLINE_DIRECTORY)
SCRATCH = "comet-scratch"  # where log_array saves the NPY file it hands to log_asset


class CometAdapter(Adapter):
    """comet-ml OfflineExperiment in the work directory; auto-logging and env capture off."""

    name = "comet"
    reader = (
        "trackbench's parser of the offline archive (experiment.json, messages.json, "
        "assets): Comet reads archives only by uploading them"
    )
    # the offline archive that Comet (and the reader) use is written by end(): a run killed
    # before that leaves nothing readable, flushed or not (flush() writes no archive)
    durability = NONE
    requirements = ("comet-ml==3.58.8",)
    env: ClassVar[dict[str, str]] = {
        # Where OfflineExperiment writes its archives; the default is ./.cometml-runs.
        "COMET_OFFLINE_DIRECTORY": "{workdir}/comet",
        # Each experiment stages its messages and assets in tempfile.mkdtemp() until end()
        # zips them: keep that inside the work directory too (created by load()).
        "TMPDIR": "{workdir}/comet-staging",
        # Sentry error reporting is on by default and would try to reach sentry.io.
        "COMET_ERROR_TRACKING_ENABLE": "false",
        # Usage reporting to the backend (off by default for non-comet.com hosts; pinned off).
        "COMET_INTERNAL_REPORTING": "false",
        # Framework auto-logging (monkey patches of keras, torch, ...) is not tracking work.
        "COMET_DISABLE_AUTO_LOGGING": "1",
        # A summary table printed at the end of each run is console output.
        "COMET_DISPLAY_SUMMARY_LEVEL": "0",
        # INFO lines on stderr at every run's end ("Still saving offline stats...").
        "COMET_LOGGING_CONSOLE": "WARNING",
        # Some libraries only honour this value to switch off usage statistics.
        "DO_NOT_TRACK": "true",
    }
    # Each run writes its own offline archive: writers never share a file. Large arrays: an
    # OfflineExperiment never asks a server for its upload limits, so the SDK's own default
    # applies, 100 GiB per asset (DEFAULT_ASSET_UPLOAD_SIZE_LIMIT, comet_ml/config/
    # config_constants.py; Comet's "Rate limits and performance" page lists no size limit for
    # offline experiments), and the archive is written with ZIP64 allowed and no compression.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK, FLUSH})
    flush_note = (
        "offline, Experiment.flush() writes nothing (OfflineStreamer.flush returns at once): "
        "the archive is written only by end()"
    )
    fidelity = EXACT
    fidelity_note = (
        "metrics are JSON lines in the archive's messages.json (float64 as repr text, NaN and "
        "Infinity as JSON extensions); arrays are NPY asset files in the archive"
    )
    array_mechanism = (
        "numpy.save to an NPY file, then log_asset(path) (Comet copies it into its staging "
        "directory; end() stores it uncompressed in the archive)"
    )
    leaves_behind = "nothing outside the work directory; no processes after end()"

    def load(self) -> None:
        """Import comet_ml."""
        # tempfile ignores a TMPDIR that does not exist (and caches its choice on first use)
        staging = os.environ.get("TMPDIR")
        if staging:
            os.makedirs(staging, exist_ok=True)
        import comet_ml

        self._comet = comet_ml
        self._experiment: Any = None

    def open(self, workdir: Path, service: Service | None) -> None:
        """The offline directory; nothing to start: each run writes its own archive."""
        self._workdir = Path(workdir)
        self._dir = self._workdir / STORE
        self._scratch = self._workdir / SCRATCH
        # OfflineExperiment creates the directory if os.path.exists() says it is missing, and
        # fails on EEXIST when another writer made it in between (InvalidOfflineDirectory):
        # several writers sharing one offline directory need it to exist first.
        self._dir.mkdir(mode=0o700, exist_ok=True)

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """An OfflineExperiment with code, git, environment and output capture all off."""
        self._experiment = exp = self._comet.OfflineExperiment(
            project_name=experiment,
            offline_directory=str(self._dir),
            log_code=False,
            log_graph=False,
            auto_param_logging=False,
            auto_metric_logging=False,
            parse_args=False,
            auto_output_logging=False,
            log_env_details=False,
            log_git_metadata=False,
            log_git_patch=False,
            log_env_gpu=False,
            log_env_host=False,
            log_env_cpu=False,
            log_env_network=False,
            log_env_disk=False,
            display_summary_level=0,
        )
        exp.set_name(run_name)
        if params:
            exp.log_parameters(params)

    def log(self, values: dict[str, float], step: int) -> None:
        """All of one step's values in one call."""
        self._experiment.log_metrics(values, step=step)

    def log_array(self, name: str, array: Any) -> None:
        """Save as NPY and log the file as an asset: Comet has no array type of its own."""
        path = save_npy(self._scratch, name, array)
        try:
            # log_asset copies the file into the experiment's staging directory before it
            # returns (copy_to_tmp, whose opt-out is deprecated), so the file can go at once.
            self._experiment.log_asset(os.fspath(path))
        finally:
            path.unlink()

    def flush(self) -> None:
        """Experiment.flush(): Comet's "flush all pending data", without ending the run."""
        # Offline it waits for the initial data logger only: OfflineStreamer.flush() returns
        # True at once, and nothing is archived before end(). Called all the same, as a user
        # calls it; the crash scenario shows what it keeps.
        self._experiment.flush()

    def end_run(self) -> None:
        """End the experiment: waits for its message writer and writes `<key>.zip`."""
        self._experiment.end()
        self._experiment = None

    def finish(self) -> None:
        """Remove the emptied scratch folder: the archives hold everything."""
        if self._scratch.exists():
            self._scratch.rmdir()

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Parse each archive: experiment.json, messages.json and the uploaded asset files."""
        return [read_archive(path) for path in sorted((workdir / STORE).glob("*.zip"))]


def read_archive(path: Path) -> RunData:
    """One run from an offline archive, as documented by `comet offline` (its own reader)."""
    import zipfile  # read back only: kept off the worker's start-up

    import numpy as np

    with zipfile.ZipFile(path) as archive:
        meta = json.loads(archive.read("experiment.json"))
        params: dict[str, Any] = {}
        metrics: dict[str, list[tuple[int, float]]] = {}
        arrays: dict[str, Any] = {}
        run_name = ""
        with archive.open("messages.json") as lines:
            for line in lines:
                message = json.loads(line)
                kind, payload = message["type"], message["payload"]
                if kind == "metric_msg":
                    metric = payload["metric"]
                    if metric["step"] is None:  # Comet's own, e.g. "process duration"
                        continue
                    points = metrics.setdefault(metric["metricName"], [])
                    # NaN and +-Infinity are written as the strings "NaN", "Infinity"
                    points.append((int(metric["step"]), float(metric["metricValue"])))
                elif kind == "parameter_msg":
                    param = payload["param"]
                    params[param["paramName"]] = param["paramValue"]
                elif kind == "log_other" and payload["key"] == "Name":
                    run_name = payload["value"]  # what set_name() records
                elif kind == "file_upload":
                    name = payload["additional_params"].get("fileName") or ""
                    if name.endswith(".npy"):
                        # streamed from the (stored, uncompressed) member: one copy in memory
                        with archive.open(payload["file_path"]) as asset:
                            arrays[name[: -len(".npy")]] = np.load(asset, allow_pickle=False)
    for points in metrics.values():
        points.sort(key=lambda point: point[0])  # stable: equal steps keep their order
    return RunData(meta.get("project_name") or "", run_name, params, metrics, arrays)
