"""TensorBoard: tensorboardX event files in the work directory, read with TensorBoard's reader."""

from __future__ import annotations

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
    Adapter,
    RunData,
)

# The sub-directory add_hparams writes into (its `name`), with an event file of its own.
HPARAMS_DIR = "hparams"
# What read_back returns for an array: the histogram proto's fields, flattened (see below).
HISTOGRAM_STATS = ("min", "max", "num", "sum", "sum_squares")


def histogram_fields(histogram: Any) -> Any:
    """A histogram proto (or TensorBoard's HistogramValue) as one float64 array.

    Layout: min, max, num, sum, sum_squares, then the k bucket limits, then the k counts.
    """
    import numpy as np

    stats = [float(getattr(histogram, name)) for name in HISTOGRAM_STATS]
    limits = [float(x) for x in histogram.bucket_limit]
    counts = [float(x) for x in histogram.bucket]
    return np.array(stats + limits + counts, dtype=np.float64)


STORE = "tensorboard"  # the runs' log directories, in the work directory


class TensorboardAdapter(Adapter):
    """tensorboardX `SummaryWriter`, one log directory per run; no torch or TensorFlow.

    Scalars are `add_scalar` events, which keep a float32 `simple_value`. Params go through
    `add_hparams` (the HParams plugin), which keeps numbers as float64. TensorBoard has no
    way to store an array as it is: `add_histogram` is its mechanism for tensors and keeps
    only a histogram (min, max, count, sum, sum of squares, bucket limits and counts).
    """

    name = "tensorboard"
    # tensorboardX fsyncs on every flush (RecordWriter.flush, record_writer.py): the writer
    # thread's own flushes (the first event, then every flush_secs), SummaryWriter.flush()
    # and close() at end_run
    durability = POWER
    # tensorboardX writes; the `tensorboard` package provides the reader (EventAccumulator).
    requirements = ("tensorboardX==2.6.5", "tensorboard==2.21.0")
    # No variables needed: tensorboardX has no telemetry or network code; its Comet
    # integration is off unless a comet_config enables it (the default disables it).
    env: ClassVar[dict[str, str]] = {}
    # Each run has its own log directory and event file: writers never share a file.
    supports = frozenset({STEPS, ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK, FLUSH})
    flush_note = (
        "SummaryWriter.flush() fsyncs the event file but does not wait for the events still "
        "in the writer thread's queue (max_queue=10): only close() drains it"
    )
    lacks: ClassVar[dict[str, str]] = {
        LARGE_ARRAYS: "an array is kept only as a histogram, and add_histogram converts the "
        "values to float64 before binning them (8 GB for 10^9 int8 elements); TensorBoard "
        "has no artifact or file store",
    }
    fidelity = LOSSY
    fidelity_note = (
        "scalars are stored as float32 (simple_value); int params come back as float64 "
        "(HParams number_value); arrays are kept only as a histogram: min, max, num, sum, "
        "sum_squares, bucket limits and counts"
    )
    array_mechanism = "add_histogram: a HistogramProto (lossy: statistics and bucket counts)"
    leaves_behind = "nothing found outside the work directory; no processes"

    def load(self) -> None:
        """Import tensorboardX."""
        import logging

        import tensorboardX

        # tensorboardX logs a warning for every NaN or infinite scalar it is given; console
        # output is not tracking work, and NaN/inf are values a run may log on purpose.
        logging.getLogger("tensorboardX.x2num").setLevel(logging.ERROR)
        self._tbx = tensorboardX

    def open(self, workdir: Path, service: Any = None) -> None:
        """Nothing to start: each run gets its own log directory under the work directory."""
        self._root = Path(workdir) / STORE
        self._writer: Any = None

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """A SummaryWriter in ROOT/experiment/run_name; params via `add_hparams`."""
        self._writer = self._tbx.SummaryWriter(logdir=str(self._root / experiment / run_name))
        if params:
            # add_hparams writes the HParams plugin's protos into a sub-directory of its own
            # (named here so read_back can find it) with a second event file.
            self._writer.add_hparams(dict(params), {}, name=HPARAMS_DIR)

    def log(self, values: dict[str, float], step: int) -> None:
        """One `add_scalar` per value."""
        add_scalar = self._writer.add_scalar
        for key, value in values.items():
            add_scalar(key, value, step)

    def log_array(self, name: str, array: Any) -> None:
        """`add_histogram` with tensorboardX's default (TensorFlow-style) buckets."""
        self._writer.add_histogram(name, array)

    def flush(self) -> None:
        """SummaryWriter.flush(): flushes and fsyncs each of the run's event files."""
        # It flushes what the writer thread has taken from its queue (max_queue=10 events):
        # events still queued are not waited for (EventFileWriter.flush, 2.6.5), as a user
        # calling it gets; close() at end_run drains the queue.
        self._writer.flush()

    def end_run(self) -> None:
        """Close the writer: flushes the event file and stops its writer thread."""
        self._writer.close()
        self._writer = None

    def finish(self) -> None:
        """Nothing left: every writer was closed (and its file flushed) at `end_run`."""

    def read_back(self, workdir: Path, service: Any) -> list[RunData]:
        """Read each run's event files with TensorBoard's EventAccumulator, keeping every event."""
        from tensorboard.backend.event_processing import event_accumulator as ea
        from tensorboard.plugins.hparams import metadata as hparams_metadata

        # size_guidance 0 = keep everything; the defaults sample down to 10,000 scalars and
        # 500 histograms per tag.
        guidance = {ea.SCALARS: 0, ea.HISTOGRAMS: 0, ea.TENSORS: 0}
        runs = []
        for experiment_dir in sorted(p for p in (workdir / STORE).iterdir() if p.is_dir()):
            for run_dir in sorted(p for p in experiment_dir.iterdir() if p.is_dir()):
                acc = ea.EventAccumulator(str(run_dir), size_guidance=guidance)
                acc.Reload()
                tags = acc.Tags()
                metrics = {
                    tag: sorted(((e.step, float(e.value)) for e in acc.Scalars(tag)), key=_step)
                    for tag in tags[ea.SCALARS]
                }
                arrays = {}
                for tag in tags[ea.HISTOGRAMS]:
                    events = acc.Histograms(tag)
                    arrays[tag] = histogram_fields(events[-1].histogram_value)
                params: dict[str, Any] = {}
                if (run_dir / HPARAMS_DIR).is_dir():
                    hp = ea.EventAccumulator(str(run_dir / HPARAMS_DIR), size_guidance=guidance)
                    hp.Reload()
                    content = hp.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
                    for tag, raw in content.items():
                        if tag != hparams_metadata.SESSION_START_INFO_TAG:
                            continue
                        info = hparams_metadata.parse_session_start_info_plugin_data(raw)
                        for key, value in info.hparams.items():
                            params[key] = getattr(value, value.WhichOneof("kind"))
                runs.append(
                    RunData(
                        experiment=experiment_dir.name,
                        run_name=run_dir.name,
                        params=params,
                        metrics=metrics,
                        arrays=arrays,
                    )
                )
        return runs

    def expect_scalar(self, value: float) -> Any:
        """The float32 rounding of `value`, as a Python float (overflow becomes inf)."""
        import numpy as np

        with np.errstate(over="ignore"):  # 1.8e308 -> inf is the documented loss itself
            return float(np.float32(value))

    def expect_param(self, value: Any) -> Any:
        """HParams keep numbers as float64: an int param comes back as a float."""
        if isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

    def expect_array(self, array: Any) -> Any:
        """The histogram tensorboardX computes for `array`, flattened as read_back returns it."""
        import numpy as np
        from tensorboardX.summary import make_histogram

        values = np.asarray(array).astype(float)
        return histogram_fields(make_histogram(values, _default_bins()))


def _step(point: tuple[int, float]) -> int:
    return point[0]


def _default_bins() -> list[float]:
    """tensorboardX's default histogram buckets, as SummaryWriter builds them."""
    # The same construction as SummaryWriter.__init__ (tensorboardX 2.6.5), which keeps the
    # list on an instance only; a writer is not made here so nothing is written.
    v = 1e-12
    buckets = []
    neg_buckets = []
    while v < 1e20:
        buckets.append(v)
        neg_buckets.append(-v)
        v *= 1.1
    return [*neg_buckets[::-1], 0, *buckets]
