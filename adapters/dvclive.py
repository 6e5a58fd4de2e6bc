"""DVCLive: plain files (TSV per metric, params.yaml) in the work directory; no DVC repo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

from adapters.base import (
    CONCURRENCY,
    MANY_RUNS,
    PROCESS,
    READ_BACK,
    STEPS,
    Adapter,
    RunData,
    Unsupported,
)

# Each run is laid out as DVCLive lays out a project: RUN/dvc.yaml and RUN/dvclive/.
LIVE_DIR = "dvclive"
ARRAYS_UNSUPPORTED = (
    "DVCLive stores files only through DVC (log_artifact runs `dvc add`); outside a DVC "
    "repository, as here, log_artifact skips the file with a warning, and its other "
    "loggers (plots, images) are not arrays"
)


STORE = "dvclive"  # the runs' folder in the work directory


class DvcliveAdapter(Adapter):
    """DVCLive `Live` per run: `log_metric` for each value, then `next_step()`.

    Each run gets its own `Live(dir=...)` directory, as DVCLive keeps one run per directory
    (a new `Live` on the same directory deletes what an earlier one wrote). Metric
    histories are TSV files written with the csv module, so floats are their shortest
    repr and come back exact; NaN and infinities are logged as the strings "nan"/"inf".
    """

    name = "dvclive"
    # DVCLive appends each step to its TSV files and rewrites its YAML, never fsynced
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
    }
    # Each run writes its own directory of files: writers never share one.
    supports = frozenset({STEPS, MANY_RUNS, CONCURRENCY, READ_BACK})
    array_mechanism = "none here: " + ARRAYS_UNSUPPORTED
    leaves_behind = "nothing found outside the work directory; no processes"

    def load(self) -> None:
        """Import dvclive (which imports dvc when a `Live` is made)."""
        import dvclive

        self._dvclive = dvclive

    def open(self, workdir: Path, service: Any = None) -> None:
        """Work from the work directory; runs get directories under WORKDIR/dvclive."""
        self._root = Path(workdir) / STORE
        # DVCLive looks for a DVC repository from the current directory, and inside a Git
        # work tree with none it runs `dvc init` at the Git root: work from the work
        # directory so nothing is created outside it.
        os.chdir(workdir)
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
        """Not possible here: see ARRAYS_UNSUPPORTED."""
        raise Unsupported(ARRAYS_UNSUPPORTED)

    def end_run(self) -> None:
        """`Live.end()`: writes the summary, dvc.yaml and marks the run done."""
        self._live.end()
        self._live = None

    def finish(self) -> None:
        """Nothing left: DVCLive writes its files synchronously."""

    def read_back(self, workdir: Path, service: Any) -> list[RunData]:
        """Read each run's TSV histories and params.yaml with DVCLive's own parsers."""
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
                        arrays={},
                    )
                )
        return runs
