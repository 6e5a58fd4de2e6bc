"""The results schema (DESIGN.md): the names the runner writes and the reports read.

Results are runs of the reference tracker: one experiment per scenario, one run per cell,
and one run of the experiment `suites` per suite run. Change a name here only together with
a new SCHEMA_VERSION and code that still reads the old one (`check_version` below). Standard
library only: the worker imports this module in every framework's environment.
"""

from __future__ import annotations

from typing import Any

from results.errors import UsageError

SCHEMA_VERSION = 2

# The experiment holding one run per suite run; every other experiment is a scenario.
SUITES_EXPERIMENT = "suites"

# The framework every ratio is also taken against.
REFERENCE_FRAMEWORK = "tracker"

# --- params of a cell (a run of a scenario experiment) --------------------------------------
SCHEMA_VERSION_PARAM = "schema_version"
SUITE_ID = "suite_id"
FRAMEWORK = "framework"
FRAMEWORK_VERSION = "framework_version"
# What the framework is in the comparison (schema 2; in schema 1 the reference tracker is
# known by its name, every other framework was a tracker).
ROLE = "role"
REFERENCE = "reference"  # the reference tracker: every ratio is also taken against it
FLOOR = "floor"  # raw sqlite3, numpy.save: drawn as the limit, never ranked
TRACKER = "tracker"
VARIANT = "variant"  # another setting of a framework in the matrix
ROLES = (REFERENCE, FLOOR, TRACKER, VARIANT)
REPETITION = "repetition"
# Optional: the machine a cell ran on, for suites split across machines (`--shard`); without
# it a cell's machine is the one its suite recorded.
MACHINE_PARAM = "machine"
# Optional: the requirement (`--with mlflow==2.11.0`, or a wheel's path) the framework's
# environment was built with instead of its adapter's pin. Such a cell's framework is a
# label of its own, `mlflow@2.11.0`, so that no statistic pools it with the pinned `mlflow`.
REQUIREMENT = "requirement"
# The params every cell has; the scenario's own parameters (e.g. `n_values`) come between
# ROLE and REPETITION.
CELL_PARAMS = (SCHEMA_VERSION_PARAM, SUITE_ID, FRAMEWORK, FRAMEWORK_VERSION, ROLE, REPETITION)
# Params that are not the scenario's own (everything else is, and names the configuration).
NON_SCENARIO_PARAMS = frozenset((*CELL_PARAMS, MACHINE_PARAM, REQUIREMENT))
# Scenario parameters added after cells were stored without them, at the value those cells
# had (one metric a step; loss and lr): a cell without one had that value, and a
# configuration's label leaves it out at that value, so old and new cells at the same values
# are one configuration. (tests/scenarios/test_userspec.py checks these are the defaults.)
IMPLIED_PARAMS: dict[str, dict[str, Any]] = {
    "high_frequency": {"n_metrics": 1},
    "many_runs": {"n_metrics": 1},
    "training_loop": {"n_metrics": 2},
}

# --- fields of a cell -----------------------------------------------------------------------
OUTCOME = "outcome"
FIDELITY = "fidelity"
REASON = "reason"
# What each completed flush or commit during a run survives, as the adapter declares it.
DURABILITY = "durability"
POWER = "power"  # fsync reached the disk
PROCESS = "process"  # the OS has it: a killed process loses nothing, a power cut may
NONE = "none"  # memory only until finish()
DURABILITIES = (POWER, PROCESS, NONE)

# Outcomes, in the order reports list them.
OK = "ok"
TIMEOUT = "timeout"
CRASH = "crash"
BAD_OUTPUT = "bad_output"
UNSUPPORTED = "unsupported"
SKIPPED = "skipped"
OUTCOMES = (OK, TIMEOUT, CRASH, BAD_OUTPUT, UNSUPPORTED, SKIPPED)

# Fidelity of what was read back.
EXACT = "exact"
LOSSY = "lossy"
WRONG_DATA = "wrong_data"
UNVERIFIED = "unverified"
NOT_CHECKED = "not_checked"
FIDELITIES = (EXACT, LOSSY, WRONG_DATA, UNVERIFIED, NOT_CHECKED)

# The writer's phases, in nanoseconds (one clock: perf_counter_ns), in the order they happen;
# `exit_ns` runs from the end of finish() to the writer process's exit (atexit handlers,
# thread joins: paid by a framework's users).
IMPORT_NS = "import_ns"
INIT_NS = "init_ns"
START_RUN_NS = "start_run_ns"  # summed over runs
LOG_NS = "log_ns"  # the workload less start_run and end_run
END_RUN_NS = "end_run_ns"  # summed over runs
FINISH_NS = "finish_ns"
EXIT_NS = "exit_ns"
TRACKED_PHASES = (IMPORT_NS, INIT_NS, START_RUN_NS, LOG_NS, END_RUN_NS, FINISH_NS, EXIT_NS)
# The headline: what a user's program pays to track, the sum of TRACKED_PHASES.
TRACKING_NS = "tracking_ns"
# Apart, never in the headline: interpreter start and the worker's own imports; input
# generation; a local server a user would already have running; the whole writer process.
HARNESS_NS = "harness_ns"
PREPARE_NS = "prepare_ns"
SERVICE_START_NS = "service_start_ns"
PROCESS_NS = "process_ns"
# A new process reading back: its import, then opening the store and loading everything
# into one table (`read_ns`, the headline of the scenarios in READ_HEADLINED).
READ_IMPORT_NS = "read_import_ns"
READ_NS = "read_ns"
READ_HEADLINED = frozenset({"readback"})
# What the worker measures inside the writer process, and inside the reader.
WRITER_TIMINGS = (IMPORT_NS, INIT_NS, START_RUN_NS, LOG_NS, END_RUN_NS, FINISH_NS, PREPARE_NS)
READER_TIMINGS = (READ_IMPORT_NS, READ_NS)

# Resources of the writer process tree (and of the local server it used) over its whole life.
CPU_NS = "cpu_ns"
PEAK_RSS_BYTES = "peak_rss_bytes"
DISK_BYTES = "disk_bytes"  # what the work directory holds when the writer has exited
LEFTOVER_PROCESSES = "leftover_processes"
OUTSIDE_FILES = "outside_files"  # left in the cell's private HOME and TMPDIR
# How busy the machine was with other work while the writer ran: CPU time of every process
# outside the cell (and the harness's own threads), and the 1-minute load average at its end.
OTHER_CPU_NS = "other_cpu_ns"
LOAD_AVERAGE = "load_average"

# Fields of one scenario's cells only. The fidelity scenario: value kind -> `kept` (bit for
# bit), `changed to X`, `dropped` or `refused: E`; and whether 4 processes may create one
# experiment at once (`safe`, or what went wrong).
FIDELITY_MATRIX = "fidelity_matrix"
CONCURRENT_START = "concurrent_start"
# long_run: the writer's processes' summed resident memory over the run, [[step, bytes], ...]
# (at most RSS_POINTS pairs, the first and last kept), sampled every RSS_EVERY_SECONDS.
RSS_SERIES = "rss_series"
RSS_POINTS = 400
RSS_EVERY_SECONDS = 0.1
# crash: whether a new process could open the store of the killed writer at all (a bool)
STORE_OPENS = "store_opens"
# readback: what a second process reading while the writer is still logging got: "ok", or
# "unsupported: " and why the framework's reader cannot read a store in use
LIVE_READ = "live_read"
SCENARIO_FIELDS = (FIDELITY_MATRIX, CONCURRENT_START, RSS_SERIES, STORE_OPENS, LIVE_READ)
# Numbers of one scenario's cells only, measured by the writer. loop_overhead: every log()
# call's duration (percentiles and the largest), the loop's slowdown against the same loop
# untracked in the same process (blocks interleaved: the whole, the least and the most of
# any pair of blocks), and the CPU time the writer's other threads and processes took
# beyond the untracked blocks' (a framework's background work).
LOG_P50_NS = "log_p50_ns"
LOG_P99_NS = "log_p99_ns"
LOG_MAX_NS = "log_max_ns"
OVERHEAD_PCT = "overhead_pct"
OVERHEAD_MIN_PCT = "overhead_min_pct"
OVERHEAD_MAX_PCT = "overhead_max_pct"
STOLEN_CPU_NS = "stolen_cpu_ns"
# long_run: the writer's processes' memory just before the first step and after the last.
RSS_START_BYTES = "rss_start_bytes"
RSS_END_BYTES = "rss_end_bytes"
# crash: the values logged before the writer was killed, those logged before its last
# completed flush(), and those a new process read back as they were logged.
LOGGED_VALUES = "logged_values"
FLUSHED_VALUES = "flushed_values"
SURVIVED_VALUES = "survived_values"
# readback: the values logged when the writer paused half way for a live reader, and how
# many of them that reader did not see (0: it saw every one)
LIVE_LOGGED_VALUES = "live_logged_values"
LIVE_LAG_VALUES = "live_lag_values"
SCENARIO_NUMBERS = (LOG_P50_NS, LOG_P99_NS, LOG_MAX_NS, OVERHEAD_PCT, OVERHEAD_MIN_PCT,
                    OVERHEAD_MAX_PCT, STOLEN_CPU_NS, RSS_START_BYTES, RSS_END_BYTES,
                    LOGGED_VALUES, FLUSHED_VALUES, SURVIVED_VALUES, LIVE_LOGGED_VALUES,
                    LIVE_LAG_VALUES)  # fmt: skip
# The scenario fields the writer's workload measures and returns (crash's counts come
# beside a killed writer, the others from the reader).
WRITER_MEASURED = (LOG_P50_NS, LOG_P99_NS, LOG_MAX_NS, OVERHEAD_PCT, OVERHEAD_MIN_PCT,
                   OVERHEAD_MAX_PCT, STOLEN_CPU_NS, RSS_START_BYTES, RSS_END_BYTES,
                   RSS_SERIES, LIVE_READ, LIVE_LOGGED_VALUES, LIVE_LAG_VALUES)  # fmt: skip
# Scenarios whose cells are not timed comparisons: shown in their own sections, never ranked
# by tracking_ns (loop_overhead's workload holds untracked work by design).
NOT_TIMED = frozenset({"fidelity", "loop_overhead", "long_run", "crash"})
# Scenarios run once per configuration: a finding, not a sample.
RUN_ONCE = frozenset({"fidelity", "long_run", "crash"})
# Scenarios whose writer kills itself with SIGKILL at a planned point: the manager takes
# that kill, with the counts the writer left beside it, for the cell's outcome `ok`.
KILLED_BY_PLAN = frozenset({"crash"})

# Schema 1 only: the worker process from its start to the end of finish() (input generation,
# version lookup and a local server's start included). Read, never written.
WALL_NS = "wall_ns"

# Optional, not a schema field: JSON list of the first files a cell left outside its work
# directory, for a reader chasing `outside_files`.
OUTSIDE_PATHS = "outside_paths"
# Optional, not a schema field: set on a cell the harness failed, naming what failed: a
# `skipped` cell it could not run (its environment did not build, or the manager stopped
# before the cell's outcome was stored), or a cell whose framework read back in time but
# whose check of it did not finish (`fidelity` is then `not_checked`). The failure is the
# harness's, never the framework's: `--resume` runs such a cell again.
HARNESS_FAILURE = "harness_failure"
ENVIRONMENT_FAILED = "environment"
NO_OUTCOME = "no_outcome"
CHECK_TIMED_OUT = "check_timed_out"

# Every field of a cell, in the order of DESIGN.md.
CELL_FIELDS = (
    OUTCOME,
    FIDELITY,
    REASON,
    DURABILITY,
    *TRACKED_PHASES,
    TRACKING_NS,
    HARNESS_NS,
    PREPARE_NS,
    SERVICE_START_NS,
    PROCESS_NS,
    READ_IMPORT_NS,
    READ_NS,
    CPU_NS,
    PEAK_RSS_BYTES,
    DISK_BYTES,
    LEFTOVER_PROCESSES,
    OUTSIDE_FILES,
    OTHER_CPU_NS,
    LOAD_AVERAGE,
)
# The fields of an older schema that readers still read.
OLD_FIELDS = (WALL_NS,)


def headline(scenario: str, version: Any) -> str:
    """The field a scenario's figures are: read_ns for reading scenarios, else tracking_ns
    (wall_ns in schema 1)."""
    if version is not None and int(version) < 2:
        return WALL_NS
    return READ_NS if scenario in READ_HEADLINED else TRACKING_NS


# --- params of a suite run (a run of SUITES_EXPERIMENT) ---------------------------------------
# SUITE_ID and SCHEMA_VERSION_PARAM too; `machine` names the machine: results with different
# values are never pooled or compared without being told to.
MACHINE = "machine"
OS = "os"
CPU = "cpu"
PYTHON = "python"
COMMIT = "commit"
DIRTY = "dirty"  # whether the work tree had uncommitted changes; None when git could not say
# Optional: why the commit or the dirty flag is unknown (git missing, not a repository, ...).
GIT_ERROR = "git_error"
COMMAND = "command"  # the exact command line that produced the suite
SEED = "seed"  # the seed of the shuffled cell order
GRID = "grid"
SPEC_GRID = "spec"  # the grid label of a suite run from a user's spec file
# How many runs of its workload a spec says its team makes a day (optional; a suite field).
RUNS_PER_DAY = "runs_per_day"
SUITE_PARAMS = (
    SCHEMA_VERSION_PARAM,
    SUITE_ID,
    MACHINE,
    OS,
    CPU,
    PYTHON,
    COMMIT,
    DIRTY,
    COMMAND,
    SEED,
    GRID,
)
# --- fields of a suite run ------------------------------------------------------------------
# JSON: framework -> what its adapter declares (requirements, capabilities, fidelity and its
# note, array mechanism, what it leaves behind, why it is broken), as the suite ran it.
DECLARATIONS = "declarations"

# Experiment and param names reports and the runner read through runs_df().
PARAM_PREFIX = "params."
FIELD_PREFIX = "fields."


def check_version(version: Any, where: str) -> None:
    """Refuse, in one line, results written with a newer schema than this code reads.

    Version 1 reads with today's names, its headline being wall_ns (see `headline`).
    """
    if version is not None and int(version) > SCHEMA_VERSION:
        raise UsageError(
            f"results in {where} use schema version {version}; this trackbench reads up to "
            f"{SCHEMA_VERSION}: upgrade trackbench"
        )
