"""Write golden.db (results schema 1) and golden2.db (schema 2) beside this file: small,
synthetic results databases for the report tests.

    python tests/reports/data/make_golden.py

Written with the real reference tracker in the results schema (results/schema.py). The
numbers are made up so that medians and ratios are easy to compute by hand (the tests do):

- three suites: `alpha-1` and then `alpha-2` on machine `alpha`, `beta-1` on machine `beta`;
- three frameworks: tracker, mltraq, mlflow;
- scenarios: `startup` (no parameters, 3 repetitions) everywhere, and `high_frequency`
  (scaling parameter `n_values` = 100, 1000, 10000; 6 repetitions) in `alpha-2` only;
- in `alpha-2`: one mlflow startup cell crashed, mltraq is unsupported at n_values=10000,
  and mlflow's high-frequency data came back lossy;
- in `alpha-2`, mlflow's first startup cell left a process running and two files outside
  its work directory;
- `beta-1` has tracker and mltraq within the noise of each other.

In golden.db each time is a cell's wall_ns; in golden2.db the same numbers are tracking_ns
(its phases adding up to it exactly), each framework's role and durability are recorded,
every ok mlflow cell has a local server that took 2.5 s to start (service_start_ns),
`alpha-2` also has `readback` (n_runs=10) whose read_ns are READ_MS, and in its startup a
floor (sqlite, FLOOR_MS) and a tracker whose data came back wrong (wandb, WRONG_MS), both
faster than every ranked tracker.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the project root, when run as a script

import tracker  # noqa: E402
from results import schema as S  # noqa: E402

MS = 1_000_000  # nanoseconds
MB = 1_000_000
VERSIONS = {"tracker": "0.1.0", "mltraq": "0.1.165", "mlflow": "3.17.2", "sqlite": "3.40.1",
            "wandb": "0.31.0"}  # fmt: skip
RSS = {"tracker": 30 * MB, "mltraq": 150 * MB, "mlflow": 250 * MB, "sqlite": 20 * MB,
       "wandb": 300 * MB}  # fmt: skip
DISK = {"tracker": 40_000, "mltraq": 120_000, "mlflow": 900_000, "sqlite": 30_000,
        "wandb": 500_000}  # fmt: skip
# golden2.db: what each framework declares
ROLES = {"tracker": S.REFERENCE, "sqlite": S.FLOOR}  # the others are trackers
DURABILITY = {"tracker": S.PROCESS, "mltraq": S.NONE, "mlflow": S.POWER, "sqlite": S.PROCESS,
              "wandb": S.PROCESS}  # fmt: skip
# golden2.db only, in alpha-2's startup: a floor faster than every tracker, and a tracker
# faster still whose data came back wrong; neither may be called the fastest
FLOOR_MS = [30, 31, 32]
WRONG_MS = [20, 21, 22]
WRONG_REASON = "metric 'value' at step 0: logged 0.5, read back 0.0 (synthetic)"
CRASH_REASON = "exit code 1: sqlite3.OperationalError: database is locked"
UNSUPPORTED_REASON = (
    "mltraq keeps every value in memory until persist(); 10^4 values exceed the cap"
)

LEFT_BEHIND = ("alpha-2", "mlflow", "startup", 0)
OUTSIDE = ["~/.config/mlflow/telemetry.json", "~/.cache/mlflow/x.lock"]

SUITES: list[dict[str, Any]] = [
    {
        "suite_id": "alpha-1",
        "machine": "alpha",
        "commit": "1111111",
        "dirty": False,
        "seed": 7,
        "command": "trackbench run --grid quick --scenarios startup --repeat 3",
    },
    {
        "suite_id": "alpha-2",
        "machine": "alpha",
        "commit": "abc1234",
        "dirty": True,
        "seed": 8,
        "command": "trackbench run --grid quick --scenarios startup high_frequency",
    },
    {
        "suite_id": "beta-1",
        "machine": "beta",
        "commit": "abc1234",
        "dirty": False,
        "seed": 9,
        "command": "trackbench run --grid quick --scenarios startup --repeat 3",
    },
]

# suite -> scenario -> framework -> config params -> wall times in ms per repetition;
# a string instead of a number is an outcome other than ok.
WALL_MS: dict[str, dict[str, dict[str, list[tuple[dict[str, Any], list[Any]]]]]] = {
    "alpha-1": {
        "startup": {
            "tracker": [({}, [40, 41, 42])],
            "mltraq": [({}, [1120, 1140, 1160])],
            "mlflow": [({}, [6000, 6100, 6200])],
        }
    },
    "alpha-2": {
        "startup": {
            "tracker": [({}, [50, 48, 53])],
            "mltraq": [({}, [1100, 1150, 1130])],
            "mlflow": [({}, [4800, S.CRASH, 4900])],
        },
        "high_frequency": {
            "tracker": [
                ({"n_values": 100}, [40, 42, 41, 43, 44, 45]),
                ({"n_values": 1000}, [45, 46, 47, 48, 49, 50]),
                ({"n_values": 10000}, [60, 61, 62, 63, 64, 65]),
            ],
            "mltraq": [
                ({"n_values": 100}, [1000, 1010, 1020, 1030, 1040, 1050]),
                ({"n_values": 1000}, [1100, 1110, 1120, 1130, 1140, 1150]),
                ({"n_values": 10000}, [S.UNSUPPORTED] * 6),
            ],
            "mlflow": [
                ({"n_values": 100}, [5000, 5100, 5200, 5300, 5400, 5500]),
                ({"n_values": 1000}, [9500, 9600, 9700, 9800, 9900, 10000]),
                ({"n_values": 10000}, [64000, 64500, 65000, 65500, 66000, 66500]),
            ],
        },
    },
    "beta-1": {
        "startup": {
            "tracker": [({}, [60, 61, 75])],
            "mltraq": [({}, [72, 80, 90])],
            "mlflow": [({}, [5000, 5100, 5200])],
        }
    },
}

# golden2.db only: readback in alpha-2, in ms of read_ns per repetition (the writer's
# tracking_ns are those of high_frequency at n_values=100).
READ_MS = {"tracker": [20, 22, 21], "mltraq": [800, 820, 810], "mlflow": [3000, 3100, 3050]}
SERVICE_START_MS = 2500  # golden2.db: mlflow's local server

# Shares of a cell's time per phase. Schema 1: the remaining 10% of wall_ns is the process's
# own start; schema 2: the phases are tracking_ns, exactly (exit_ns takes the rounding).
PHASE_SHARES = {
    1: {
        S.IMPORT_NS: 0.30,
        S.SERVICE_START_NS: 0.0,
        S.INIT_NS: 0.10,
        S.START_RUN_NS: 0.05,
        S.LOG_NS: 0.30,
        S.END_RUN_NS: 0.05,
        S.FINISH_NS: 0.10,
    },
    2: {
        S.IMPORT_NS: 0.30,
        S.INIT_NS: 0.10,
        S.START_RUN_NS: 0.05,
        S.LOG_NS: 0.35,
        S.END_RUN_NS: 0.05,
        S.FINISH_NS: 0.10,
    },
}


def cell_fields(
    framework: str, scenario: str, ms: Any, version: int, read_ms: Any = None
) -> dict[str, Any]:
    """The fields of one cell: measurements for ok, an outcome and reason otherwise."""
    headline = S.WALL_NS if version == 1 else S.TRACKING_NS
    if isinstance(ms, str):
        reason = CRASH_REASON if ms == S.CRASH else UNSUPPORTED_REASON
        fields: dict[str, Any] = {S.OUTCOME: ms, S.FIDELITY: S.NOT_CHECKED, S.REASON: reason}
        if ms == S.CRASH:  # a crash still has a time; reports must not use it
            fields[headline] = 999_999 * MS
        return fields
    lossy = framework == "mlflow" and scenario == "high_frequency"
    fields = {
        S.OUTCOME: S.OK,
        S.FIDELITY: S.LOSSY if lossy else S.EXACT,
        S.REASON: "metric steps stored as float32 (synthetic)" if lossy else "",
        headline: ms * MS,
        S.CPU_NS: int(ms * MS * 0.9),
        S.PEAK_RSS_BYTES: RSS[framework],
        S.DISK_BYTES: DISK[framework],
        S.LEFTOVER_PROCESSES: 0,
        S.OUTSIDE_FILES: 0,
    }
    for phase, share in PHASE_SHARES[version].items():
        fields[phase] = int(ms * MS * share)
    if version == 2:
        fields[S.EXIT_NS] = ms * MS - sum(fields[p] for p in PHASE_SHARES[2])
        fields[S.HARNESS_NS] = 20 * MS
        fields[S.PREPARE_NS] = 1 * MS
        fields[S.PROCESS_NS] = ms * MS + 25 * MS
        if framework == "mlflow":
            fields[S.SERVICE_START_NS] = SERVICE_START_MS * MS
        if read_ms is not None:
            fields[S.READ_IMPORT_NS] = fields[S.IMPORT_NS]
            fields[S.READ_NS] = read_ms * MS
        fields[S.DURABILITY] = DURABILITY[framework]
        if framework == "wandb":
            fields.update({S.FIDELITY: S.WRONG_DATA, S.REASON: WRONG_REASON})
    return fields


def _scenarios(sid: str, version: int) -> dict[str, dict[str, list[tuple[dict[str, Any], Any]]]]:
    """scenario -> framework -> [(config, [(ms, read_ms) per repetition])] of one suite."""
    out = {
        scenario: {
            framework: [(config, [(ms, None) for ms in times]) for config, times in configs]
            for framework, configs in frameworks.items()
        }
        for scenario, frameworks in WALL_MS[sid].items()
    }
    if version == 2 and sid == "alpha-2":
        out["startup"]["sqlite"] = [({}, [(ms, None) for ms in FLOOR_MS])]
        out["startup"]["wandb"] = [({}, [(ms, None) for ms in WRONG_MS])]
        writes = {fw: configs[0][1] for fw, configs in WALL_MS[sid]["high_frequency"].items()}
        out["readback"] = {
            fw: [({"n_runs": 10}, list(zip(writes[fw], reads, strict=False)))]
            for fw, reads in READ_MS.items()
        }
    return out


def main(path: Path = HERE / "golden.db", version: int = 1) -> None:
    """Write a golden database (replacing it) in results schema `version` (1 or 2)."""
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    db = tracker.connect(f"sqlite:///{path}")
    suites = db.experiment(S.SUITES_EXPERIMENT)
    for suite in SUITES:
        sid = suite["suite_id"]
        params = {
            S.SCHEMA_VERSION_PARAM: version,
            S.SUITE_ID: sid,
            S.MACHINE: suite["machine"],
            S.OS: "Linux-6.1.0-x86_64-with-glibc2.36",
            S.CPU: f"2 x Synthetic CPU @ 2.0GHz ({suite['machine']})",
            S.PYTHON: "3.11.7",
            S.COMMIT: suite["commit"],
            S.DIRTY: suite["dirty"],
            S.COMMAND: suite["command"],
            S.SEED: suite["seed"],
            S.GRID: "quick",
        }
        with suites.run(name=sid, params=params):
            pass
        for scenario, frameworks in _scenarios(sid, version).items():
            experiment = db.experiment(scenario)
            for framework, configs in frameworks.items():
                for config, times in configs:
                    for repetition, (ms, read_ms) in enumerate(times):
                        cell_params = {
                            S.SCHEMA_VERSION_PARAM: version,
                            S.SUITE_ID: sid,
                            S.FRAMEWORK: framework,
                            S.FRAMEWORK_VERSION: VERSIONS[framework],
                            **({S.ROLE: ROLES.get(framework, S.TRACKER)} if version == 2 else {}),
                            **config,
                            S.REPETITION: repetition,
                        }
                        label = "-".join(f"{k}{v}" for k, v in config.items())
                        name = f"{sid}/{framework}/{scenario}{label and '/' + label}/{repetition}"
                        with experiment.run(name=name, params=cell_params) as run:
                            fields = cell_fields(framework, scenario, ms, version, read_ms)
                            for key, value in fields.items():
                                run[key] = value
                            if (sid, framework, scenario, repetition) == LEFT_BEHIND:
                                run[S.LEFTOVER_PROCESSES] = 1
                                run[S.OUTSIDE_FILES] = 2
                                run[S.OUTSIDE_PATHS] = json.dumps(OUTSIDE)
    db.close()
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
    main(HERE / "golden2.db", version=2)
