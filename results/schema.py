"""The results schema (DESIGN.md): the names the runner writes and the reports read.

Results are runs of the reference tracker: one experiment per scenario, one run per cell,
and one run of the experiment `suites` per suite run. Change a name here only together with
a new SCHEMA_VERSION and code that still reads the old one (`check_version` below). Standard
library only: the worker imports this module in every framework's environment.
"""

from __future__ import annotations

from typing import Any

from results.errors import UsageError

SCHEMA_VERSION = 1

# The experiment holding one run per suite run; every other experiment is a scenario.
SUITES_EXPERIMENT = "suites"

# The framework every ratio is also taken against.
REFERENCE_FRAMEWORK = "tracker"

# --- params of a cell (a run of a scenario experiment) --------------------------------------
SCHEMA_VERSION_PARAM = "schema_version"
SUITE_ID = "suite_id"
FRAMEWORK = "framework"
FRAMEWORK_VERSION = "framework_version"
REPETITION = "repetition"
# Optional: the machine a cell ran on, for suites split across machines (`--shard`); without
# it a cell's machine is the one its suite recorded.
MACHINE_PARAM = "machine"
# The params every cell has; the scenario's own parameters (e.g. `n_values`) come between
# FRAMEWORK_VERSION and REPETITION.
CELL_PARAMS = (SCHEMA_VERSION_PARAM, SUITE_ID, FRAMEWORK, FRAMEWORK_VERSION, REPETITION)
# Params that are not the scenario's own (everything else is, and names the configuration).
NON_SCENARIO_PARAMS = frozenset((*CELL_PARAMS, MACHINE_PARAM))

# --- fields of a cell -----------------------------------------------------------------------
OUTCOME = "outcome"
FIDELITY = "fidelity"
REASON = "reason"

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

# Phases of the adapter lifecycle, in nanoseconds, in the order they happen.
IMPORT_NS = "import_ns"
SERVICE_START_NS = "service_start_ns"
INIT_NS = "init_ns"
START_RUN_NS = "start_run_ns"
LOG_NS = "log_ns"
END_RUN_NS = "end_run_ns"
FINISH_NS = "finish_ns"
PHASE_FIELDS = (IMPORT_NS, SERVICE_START_NS, INIT_NS, START_RUN_NS, LOG_NS, END_RUN_NS, FINISH_NS)

# Whole-process measurements, from the worker process's start to the end of finish() (the
# read-back and fidelity check after it are verification, not counted); a cell that ended
# before finish() is measured to the end of its process.
WALL_NS = "wall_ns"
CPU_NS = "cpu_ns"  # the worker, its reaped children, and its live helpers (servers)
PEAK_RSS_BYTES = "peak_rss_bytes"  # the worker plus its children
DISK_BYTES = "disk_bytes"
LEFTOVER_PROCESSES = "leftover_processes"
OUTSIDE_FILES = "outside_files"

# Optional, not a schema field: JSON list of the first files a cell left outside its work
# directory, for a reader chasing `outside_files`.
OUTSIDE_PATHS = "outside_paths"

# Every field of a cell, in the order of DESIGN.md.
CELL_FIELDS = (
    OUTCOME,
    FIDELITY,
    REASON,
    IMPORT_NS,
    INIT_NS,
    START_RUN_NS,
    LOG_NS,
    END_RUN_NS,
    FINISH_NS,
    SERVICE_START_NS,
    WALL_NS,
    CPU_NS,
    PEAK_RSS_BYTES,
    DISK_BYTES,
    LEFTOVER_PROCESSES,
    OUTSIDE_FILES,
)

# --- params of a suite run (a run of SUITES_EXPERIMENT) ---------------------------------------
# SUITE_ID and SCHEMA_VERSION_PARAM too; `machine` names the machine: results with different
# values are never pooled or compared without being told to.
MACHINE = "machine"
OS = "os"
CPU = "cpu"
PYTHON = "python"
COMMIT = "commit"
DIRTY = "dirty"  # whether the work tree had uncommitted changes
COMMAND = "command"  # the exact command line that produced the suite
SEED = "seed"  # the seed of the shuffled cell order
GRID = "grid"
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

    Every version up to SCHEMA_VERSION reads with today's names (version 1 is the only one).
    """
    if version is not None and int(version) > SCHEMA_VERSION:
        raise UsageError(
            f"results in {where} use schema version {version}; this trackbench reads up to "
            f"{SCHEMA_VERSION}: upgrade trackbench"
        )
