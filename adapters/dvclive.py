"""DVCLive: TSV per metric and params.yaml per run, arrays as NPY artifacts in a DVC repo."""

from __future__ import annotations

import logging
import os
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

# Each run is laid out as DVCLive lays out a project: RUN/dvc.yaml and RUN/dvclive/.
LIVE_DIR = "dvclive"
STORE = "dvclive"  # the runs' folder in the work directory


class DvcliveAdapter(Adapter):
    """DVCLive `Live` per run: `log_metric` for each value, then `next_step()`.

    The work directory is a DVC project made by `dvc init --no-scm` (DVC's Python API, in
    open()), as a user's project would already be: `Live.log_artifact` stores files only
    inside a DVC repository (outside one it skips them with a warning). An array is saved
    as NPY in the run's `dvclive/artifacts/` and logged with `log_artifact(path)`, whose
    default `cache=True` runs `dvc add`: DVC copies the file into its cache
    (`.dvc/cache/files/md5/..`; this ext4 has no reflinks) and writes `NAME.npy.dvc` beside
    it. Each run gets its own `Live(dir=...)` directory, as DVCLive keeps one run per
    directory (a new `Live` on the same directory deletes what an earlier one wrote).
    Metric histories are TSV files written with the csv module, so floats are their
    shortest repr and come back exact; NaN and infinities are logged as "nan"/"inf".
    """

    name = "dvclive"
    # DVCLive appends each value to its TSV file (opened and closed by each log_metric) and
    # rewrites its YAML at each next_step(), never fsynced; DVC copies an artifact into its
    # cache unsynced too (dvc, dvc-data, dvc-objects never fsync). The one fsync is of no
    # data: each next_step() rewrites and fsyncs a signal file for DVC's VS Code extension
    # (.dvc/tmp/exps/run/DVCLIVE_STEP_COMPLETED, dvclive/vscode.py), a cost every step pays.
    durability = PROCESS
    requirements = ("dvclive==3.49.1",)
    env: ClassVar[dict[str, str]] = {
        # DVC's usage analytics (sent by the dvc package, which dvclive imports).
        "DVC_NO_ANALYTICS": "1",
        # iterative-telemetry's own opt-out, which also covers dvclive's dependencies.
        "ITERATIVE_DO_NOT_TRACK": "1",
        "DO_NOT_TRACK": "true",
        # DVCLive posts live updates to DVC Studio when a token is configured; never here.
        "DVC_STUDIO_OFFLINE": "true",
        # DVC keeps each repository's state (file hashes, links) in a site cache, by default
        # /var/tmp/dvc shared by every user of the machine: keep it in the work directory.
        "DVC_SITE_CACHE_DIR": "{workdir}/dvc-site-cache",
        # DVC reads a global (~/.config/dvc) and a system (/etc/xdg/dvc) config on every
        # repository it opens; a machine's cache.dir or cache.type there would move the cache
        # out of the work directory or change how it links files. No config lives here.
        "DVC_GLOBAL_CONFIG_DIR": "{workdir}/dvc-config",
        "DVC_SYSTEM_CONFIG_DIR": "{workdir}/dvc-config",
    }
    # Each run writes its own directory of files: writers never share one, and a `Live`
    # takes no DVC lock. Only `dvc add` (log_array) takes the repository's lock, and gives up
    # after 3 s: of 3 processes adding 300 MB arrays at once, 2 lost theirs (DVCLive only
    # warns; read_back then raises OutputNotFoundError). No concurrent scenario logs arrays.
    # One race remains in DVCLive itself: Live.end() removes that project-wide signal file
    # after checking it exists, so two processes ending at once can have the second's end()
    # raise FileNotFoundError after all its data is written (seen once, in one CI run of the
    # contract's concurrency cell; the same check-then-remove as treeverse/dvclive#624). The
    # cell is then a crash, as it is for a user's script.
    supports = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK})
    lacks: ClassVar[dict[str, str]] = {
        FLUSH: "DVCLive has no flush of its own: log_metric() appends each value to its TSV "
        "file, closing it, and next_step() rewrites the summary files before they return "
        "(Live.sync(), which next_step() calls, only rewrites the summary, dvc.yaml and "
        "report)",
    }
    array_mechanism = (
        "numpy.save into the run's dvclive/artifacts, then Live.log_artifact (dvc add: a copy "
        "in the DVC cache and a .dvc file)"
    )
    leaves_behind = "nothing found outside the work directory; no processes"

    def load(self) -> None:
        """Import dvclive (which imports dvc when a `Live` is made)."""
        import dvclive

        self._dvclive = dvclive

    def open(self, workdir: Path, service: Any = None) -> None:
        """Make the work directory a DVC project (`dvc init --no-scm`) unless it is one;
        runs get directories under WORKDIR/dvclive."""
        self._root = Path(workdir) / STORE
        # DVCLive looks for a DVC repository from the current directory, and inside a Git
        # work tree with none it runs `dvc init` at the Git root: work from the work
        # directory so nothing is created outside it.
        os.chdir(workdir)
        # dvclive routes DVC's INFO messages to stdout ("Initialized DVC repository."); a
        # `Live` quietens them the same way when it is made.
        logging.getLogger("dvc").setLevel(logging.WARNING)
        # The cell's worker opens before its concurrent writers start, so they find it made.
        if not (Path(workdir) / ".dvc").is_dir():
            from dvc.repo import Repo

            Repo.init(os.fspath(workdir), no_scm=True).close()
        self._live: Any = None

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """A `Live` in ROOT/experiment/run_name/dvclive, dvc.yaml beside it; params logged."""
        run_dir = self._root / experiment / run_name
        self._live = self._dvclive.Live(
            dir=str(run_dir / LIVE_DIR),
            save_dvc_exp=False,  # a DVC experiment needs a Git repository; none here
            # The default writes dvc.yaml into the current directory. It goes one level above
            # the Live directory, as in DVCLive's default layout: placed inside it, DVCLive
            # fails to recognise its own entries and appends them again on every step.
            dvcyaml=str(run_dir / "dvc.yaml"),
            monitor_system=False,
        )
        if params:
            self._live.log_params(dict(params))

    def log(self, values: dict[str, float], step: int) -> None:
        """`log_metric` per value, then `next_step()` (which rewrites the summary files)."""
        live = self._live
        if live.step != step:
            live.step = step
        for key, value in values.items():
            live.log_metric(key, value)
        live.next_step()

    def log_array(self, name: str, array: Any) -> None:
        """numpy.save into the Live's artifacts folder, then `log_artifact` (`dvc add`).

        The file is written where `log_artifact(copy=True)` would have copied it, so DVC
        tracks it in place. DVCLive only warns when `dvc add` fails; read_back then finds
        the file untracked and says so.
        """
        path = save_npy(Path(self._live.artifacts_dir), name, array)
        self._live.log_artifact(os.fspath(path))

    def end_run(self) -> None:
        """`Live.end()`: writes the summary, dvc.yaml and marks the run done."""
        self._live.end()
        self._live = None

    def finish(self) -> None:
        """Nothing left: DVCLive and DVC write their files synchronously."""

    def read_back(self, workdir: Path, service: Any) -> list[RunData]:
        """Read each run's TSV histories and params.yaml with DVCLive's own parsers, and each
        artifact from the DVC cache object `dvc.api.get_url` names for it."""
        from dvclive.serialize import load_yaml
        from dvclive.utils import parse_tsv

        runs = []
        root = workdir / STORE
        for experiment_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            for run_dir in sorted(p for p in experiment_dir.iterdir() if p.is_dir()):
                live_dir = run_dir / LIVE_DIR
                params_file = live_dir / "params.yaml"
                params = dict(load_yaml(params_file)) if params_file.exists() else {}
                metrics: dict[str, list[tuple[int, float]]] = {}
                metrics_dir = live_dir / "plots" / "metrics"
                for tsv in sorted(metrics_dir.rglob("*.tsv")) if metrics_dir.exists() else ():
                    name = tsv.relative_to(metrics_dir).with_suffix("").as_posix()
                    column = tsv.stem
                    rows = parse_tsv(tsv)
                    metrics[name] = sorted(
                        ((int(row["step"]), float(row[column])) for row in rows),
                        key=lambda point: point[0],
                    )
                runs.append(
                    RunData(
                        experiment=experiment_dir.name,
                        run_name=run_dir.name,
                        params=params,
                        metrics=metrics,
                        arrays=read_artifacts(workdir, live_dir / "artifacts"),
                    )
                )
        return runs


def read_artifacts(workdir: Path, folder: Path) -> dict[str, Any]:
    """Each NPY file in `folder`, loaded from where DVC keeps it: `dvc.api.get_url` gives
    the cache object of a tracked file and raises OutputNotFoundError for an untracked one."""
    if not folder.is_dir():
        return {}
    import dvc.api
    import numpy as np

    arrays = {}
    for path in sorted(folder.glob("*.npy")):
        url = dvc.api.get_url(path.relative_to(workdir).as_posix(), repo=os.fspath(workdir))
        arrays[path.stem] = np.load(url, allow_pickle=False)
    return arrays
