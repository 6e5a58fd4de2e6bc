"""The adapter interface every framework implements; the worker drives it in a fixed order.

Lifecycle (DESIGN.md), called by the worker in this order, each phase timed apart:

    service_argv(workdir, port) a local server, started before the writer  -> service_start_ns
    load()                      import the framework                      -> import_ns
    open(workdir, service)      create or connect to the store            -> init_ns
    start_run(exp, name, params)  once per run                            -> start_run_ns (summed)
    log(values, step)           many times                                -> log_ns
    log_array(name, array)      the framework's best mechanism for arrays -> log_ns
    flush()                     the framework's own flush or sync, mid-run (crash scenario)
    end_run()                   once per run                              -> end_run_ns (summed)
    finish()                    everything a new process needs to read it -> finish_ns
    (the writer process exits)                                            -> exit_ns
    read_back(workdir, service) in a new process, after load() only: what the framework's
                                own reader returns                        -> read_ns (readback)

This module imports only the standard library: the worker imports it inside every
framework environment, and the manager process never imports a framework.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

# What an adapter may declare in `supports`.
STEPS = "steps"  # metric series with explicit steps
ARRAYS = "arrays"  # log_array
LARGE_ARRAYS = "large_arrays"  # int8 arrays of 10^8..10^9 elements
MANY_RUNS = "many_runs"  # many start_run/end_run in one process
CONCURRENCY = "concurrency"  # several processes writing into one store at once
READ_BACK = "read_back"  # read_back() returns what was stored
FLUSH = "flush"  # flush(): the framework's own flush or sync, which a careful user calls
CAPABILITIES = frozenset({STEPS, ARRAYS, LARGE_ARRAYS, MANY_RUNS, CONCURRENCY, READ_BACK, FLUSH})

# Expected fidelity, as in the results schema.
EXACT = "exact"  # every value, bit for bit
LOSSY = "lossy"  # a documented loss (fidelity_note says which), checked exactly
UNVERIFIED = "unverified"  # the framework offers no way to read the data back here


# Durability, as in the results schema: what each completed flush or commit during a run
# survives (a framework that writes nothing before finish() keeps its data in memory).
POWER = "power"  # fsync reached the disk
PROCESS = "process"  # the OS has it: a killed process loses nothing, a power cut may
NONE = "none"  # memory only until finish()
DURABILITIES = (POWER, PROCESS, NONE)

# Roles, as in the results schema: the reference tracker, the raw floors every figure is shown
# against (never ranked), the trackers, and variants of one of them (another setting).
REFERENCE = "reference"
FLOOR = "floor"
TRACKER = "tracker"
VARIANT = "variant"
ROLES = (REFERENCE, FLOOR, TRACKER, VARIANT)


class _Dropped:
    """The type of DROPPED."""

    def __repr__(self) -> str:
        return "DROPPED"


# What an expect_* hook returns for a value the framework documents it does not keep at
# all (e.g. NaN and infinities skipped): the fidelity check then expects no such point.
DROPPED: Any = _Dropped()


class Unsupported(Exception):
    """Raised by an adapter for work its framework cannot do; the cell is `unsupported`."""


class Service(NamedTuple):
    """A local server the worker started for the adapter (on 127.0.0.1)."""

    port: int
    workdir: Path


# Where a cell's processes (the writer, the reader, a scenario's own writer processes) learn
# the port of the local server the harness keeps for the cell, as a user's program would
# learn its tracking server from its environment.
SERVICE_PORT_VAR = "TRACKBENCH_SERVICE_PORT"


def service_from_env(workdir: Path) -> Service | None:
    """The cell's local server, from the environment; None when there is none."""
    port = os.environ.get(SERVICE_PORT_VAR)
    return Service(int(port), workdir) if port else None


class RunData(NamedTuple):
    """One run as the framework's own reader returns it."""

    experiment: str
    run_name: str
    params: dict[str, Any]
    metrics: dict[str, list[tuple[int, float]]]  # name -> [(step, value), ...] in step order
    arrays: dict[str, Any]  # name -> numpy array


class Adapter:
    """Base class: one subclass per framework; class attributes declare what it is."""

    name: ClassVar[str]
    # Pinned requirements of the framework's environment (the worker adds numpy itself).
    requirements: ClassVar[tuple[str, ...]] = ()
    # Environment variables that keep the framework local, offline and quiet; a comment on
    # each in the subclass says why. "{workdir}" is replaced by the cell's work directory.
    env: ClassVar[dict[str, str]] = {}
    supports: ClassVar[frozenset[str]] = CAPABILITIES
    # Each capability of CAPABILITIES not in `supports`: why the framework has no mechanism
    # for it, as its documentation says (the report shows it beside the unsupported cells).
    lacks: ClassVar[dict[str, str]] = {}
    fidelity: ClassVar[str] = EXACT
    fidelity_note: ClassVar[str] = ""
    # One of DURABILITIES, with a comment in the subclass saying how it is known.
    durability: ClassVar[str] = ""
    # Where the framework's own flush() does not keep everything logged before it (as its
    # source shows), what it misses: the crash scenario then shows flushed values lost
    # (`wrong_data`), and the contract expects that loss.
    flush_note: ClassVar[str] = ""
    role: ClassVar[str] = TRACKER
    # What read_back uses when it is not the framework's own reader (this project's parser of
    # its files, plain SQL on its tables), for the report to say; "" for the framework's own.
    reader: ClassVar[str] = ""
    # How log_array stores an array, in a few words ("NPY blob in SQLite", "JSON list", ...).
    array_mechanism: ClassVar[str] = ""
    # Known leftovers (processes, files outside the work directory), for the report.
    leaves_behind: ClassVar[str] = ""
    # Why a framework stays in the matrix as a historical baseline (its service has closed,
    # say), or "" for a current one: the report marks its rows and says why.
    historical: ClassVar[str] = ""
    # Why this framework cannot run here, or "" when it can: its contract test is then an
    # expected failure with this reason, and reports list it with the reason shown.
    broken: ClassVar[str] = ""
    # Top-level packages of this project copied into the framework's environment (the
    # reference tracker); the environment is keyed by a hash of their sources.
    project_packages: ClassVar[tuple[str, ...]] = ()

    def load(self) -> None:
        """Import the framework (timed as `import`)."""

    def version(self) -> str:
        """The framework's version as installed in this environment."""
        dist = self.requirements[0].split("==")[0].split("[")[0] if self.requirements else ""
        if not dist:
            return ""
        from importlib.metadata import version  # ~20 ms: only when there is a distribution

        return version(dist)

    def service_argv(self, workdir: Path, port: int) -> list[str] | None:
        """The command line of a local server for the worker to start, or None for none."""
        return None

    def service_ready(self, service: Service) -> bool:
        """Whether the started server answers yet (polled by the worker)."""
        return True

    def open(self, workdir: Path, service: Service | None) -> None:
        """Create or connect to the store inside `workdir` (timed as `init`)."""

    def prepare_experiment(self, experiment: str) -> None:
        """Create `experiment` where the framework keeps experiments apart from runs, as a
        launcher does once before its workers start (untimed). Default: nothing to do."""

    def start_run(self, experiment: str, run_name: str, params: dict[str, Any]) -> None:
        """Start one run."""
        raise NotImplementedError

    def log(self, values: dict[str, float], step: int) -> None:
        """Log one value per name at `step` in the current run."""
        raise NotImplementedError

    def log_array(self, name: str, array: Any) -> None:
        """Store one array in the current run, by the framework's best mechanism."""
        raise Unsupported(f"{self.name} has no way to store arrays")

    def flush(self) -> None:
        """The framework's own flush or sync, called mid-run as a careful user calls it:
        once it returns, what was logged survives the process being killed (for durability
        POWER or PROCESS). An adapter whose framework has none leaves FLUSH out of
        `supports`, with the reason in `lacks`."""
        raise Unsupported(f"{self.name} has no flush")

    def end_run(self) -> None:
        """End the current run."""
        raise NotImplementedError

    def finish(self) -> None:
        """Make everything readable by a new process: flush, close, wait for writers."""

    def read_back(self, workdir: Path, service: Service | None) -> list[RunData]:
        """Everything a finished writer stored in `workdir` (or on `service`), as the
        framework's own reader (or file format) returns it, in a process that did not write
        it: only load() was called on this adapter."""
        raise Unsupported(f"{self.name} offers no reader here")

    # Documented losses. The worker first compares read_back() with what was logged bit for
    # bit; when that fails and `fidelity` is LOSSY, it compares again through these hooks,
    # so a declared loss is checked exactly and anything beyond it is `wrong_data`.

    def expect_scalar(self, value: float) -> Any:
        """What read_back returns for a logged float (float32-rounded, None, or DROPPED)."""
        return value

    def expect_array(self, array: Any) -> Any:
        """What read_back returns for a logged array (e.g. cast to float32, or a list)."""
        return array

    def expect_param(self, value: Any) -> Any:
        """What read_back returns for a run parameter (e.g. `str(value)`)."""
        return value


def expand_env(env: dict[str, str], workdir: Path) -> dict[str, str]:
    """The adapter's environment variables with `{workdir}` filled in."""
    return {key: value.replace("{workdir}", os.fspath(workdir)) for key, value in env.items()}


def save_npy(folder: Path, name: str, array: Any) -> Path:
    """Write `array` as `folder/name.npy` (no pickles), for frameworks that store files."""
    import numpy as np  # only array cells pay for it

    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.npy"
    np.save(path, array, allow_pickle=False)
    return path
