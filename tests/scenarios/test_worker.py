"""The worker and run_cell plumbing, with fake adapters run by this interpreter."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from adapters.base import RunData
from results import schema as S
from scenarios import workloads
from scenarios.cell import RESULT_KEYS, run_cell, worker_env
from scenarios.fidelity import diff_runs, same_value
from scenarios.processes import marked_processes

FAKE = "tests.scenarios.fake_adapters"


def cell(name: str, workload: str = "contract", timeout: float = 60, **kw: Any) -> dict:
    """Run a fake adapter's cell with this interpreter (it has numpy, like every env)."""
    result = run_cell(f"{FAKE}:{name}", workload, timeout=timeout, python=sys.executable, **kw)
    assert set(result) == set(RESULT_KEYS)
    return result


def test_ok_cell_has_every_phase_timed() -> None:
    result = cell("Memory")
    assert result["outcome"] == "ok", result["reason"]
    assert result["fidelity"] == "exact"
    phases = [result[key] for key in S.TRACKED_PHASES]
    for key in (*S.TRACKED_PHASES, S.HARNESS_NS, S.PREPARE_NS):
        assert isinstance(result[key], int) and result[key] >= 0, key
    assert result[S.TRACKING_NS] == sum(phases)
    assert result[S.HARNESS_NS] > 1_000_000  # an interpreter's start: milliseconds at least
    assert result[S.PROCESS_NS] > result[S.TRACKING_NS] + result[S.HARNESS_NS]
    assert result[S.READ_NS] is None  # timed only where reading is the headline
    assert result["service_start_ns"] is None
    assert result["cpu_ns"] > 0
    assert result["peak_rss_bytes"] > 10_000_000  # a Python process with numpy loaded
    assert result["framework_version"] == "1.0"
    assert result["disk_bytes"] > 0  # the pickle, in the work directory
    assert result["leftover_processes"] == 0


def test_input_generation_is_apart_from_the_headline() -> None:
    result = cell("Memory", workload=f"{FAKE}:SLOW_PREPARE")
    assert result["outcome"] == "ok", result["reason"]
    assert result[S.PREPARE_NS] >= 0.5e9
    assert result[S.TRACKING_NS] < 0.4e9 and result[S.PROCESS_NS] > 0.5e9


def test_work_at_exit_is_in_the_headline() -> None:
    result = cell("SlowExit", workload="startup")
    assert result["outcome"] == "ok", result["reason"]
    assert result[S.EXIT_NS] >= 0.5e9
    assert result[S.TRACKING_NS] >= result[S.EXIT_NS] + result[S.FINISH_NS]


def test_readback_reads_in_a_new_process() -> None:
    result = cell("Memory", workload="readback", params={"n_runs": 3, "n_values": 5})
    assert (result["outcome"], result["fidelity"]) == ("ok", "exact"), result["reason"]
    assert result[S.READ_NS] > 0 and result[S.READ_IMPORT_NS] is not None
    # what only the writer's memory held is lost to every other process
    lost = cell("WriterOnly", workload="readback", params={"n_runs": 3, "n_values": 5})
    assert lost["fidelity"] == "wrong_data" and "3 run(s) missing" in lost["reason"]


def test_memory_of_the_whole_process_tree_is_summed() -> None:
    result = cell("ChildHog", workload="startup")
    assert result["outcome"] == "ok", result["reason"]
    # 200 MB in the writer and 200 MB in its child at once: more than either alone
    assert result[S.PEAK_RSS_BYTES] > 380_000_000


def test_the_machine_s_other_work_is_recorded_and_other_files_are_not_charged() -> None:
    scratch = Path(tempfile.gettempdir()) / f"trackbench-test-{os.getpid()}.bin"
    busy = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time() + 3\n"
                             "while time.time() < t: pass"])  # fmt: skip
    try:
        scratch.write_bytes(b"another process's file, written while the cell runs")
        result = cell("SlowExit", workload="startup")
    finally:
        busy.kill()
        busy.wait()
        scratch.unlink(missing_ok=True)
    assert result["outcome"] == "ok", result["reason"]
    # the busy process burned a core while the writer ran for at least 0.5 s
    assert result[S.OTHER_CPU_NS] > 0.3e9 and result[S.LOAD_AVERAGE] >= 0
    assert result[S.OUTSIDE_FILES] == 0


def test_timeout_kills_the_whole_group() -> None:
    started = time.monotonic()
    result = cell("Sleeper", timeout=2)
    assert time.monotonic() - started < 10
    assert result["outcome"] == "timeout"
    assert "killed after 2 s" in result["reason"]
    assert result["fidelity"] == "not_checked"
    assert 2e9 <= result[S.PROCESS_NS] < 5e9 and result[S.TRACKING_NS] is None


def test_hard_crash_reports_exit_code_and_stderr_tail() -> None:
    result = cell("Exiter")
    assert result["outcome"] == "crash"
    assert "exit code 3" in result["reason"]
    assert "boom: the framework fell over" in result["reason"]
    assert result["import_ns"] is None  # the worker never wrote a result


def test_exception_in_a_phase_is_a_crash_naming_the_phase() -> None:
    result = cell("Raiser")
    assert result["outcome"] == "crash"
    assert result["reason"].startswith("workload: RuntimeError: cannot log step 5")
    assert "exit code 1" in result["reason"]
    assert result["init_ns"] is not None and result["log_ns"] is None


def test_exit_without_result_is_bad_output() -> None:
    result = cell("Silent")
    assert result["outcome"] == "bad_output"
    assert "no result" in result["reason"]


def test_malformed_result_is_bad_output() -> None:
    result = cell("Garbage")
    assert result["outcome"] == "bad_output"
    assert "not JSON" in result["reason"]


def test_unsupported_during_the_workload() -> None:
    result = cell("NoArrays")
    assert result["outcome"] == "unsupported"
    assert "no arrays here" in result["reason"]
    assert result["fidelity"] == "not_checked"


def test_unsupported_by_declaration_runs_nothing() -> None:
    result = cell("NoStepsStrict", workload=f"{FAKE}:SERIES")
    assert result["outcome"] == "unsupported"
    assert "no-steps-strict has no steps: it keeps one value per name" in result["reason"]
    assert result["import_ns"] is None


def test_contract_without_steps_logs_values_as_names() -> None:
    result = cell("NoSteps")
    assert (result["outcome"], result["fidelity"]) == ("ok", "exact")


def test_documented_drops_are_checked_exactly() -> None:
    result = cell("Dropping")
    assert (result["outcome"], result["fidelity"]) == ("ok", "lossy"), result["reason"]


def test_server_that_never_answers_times_out_and_is_killed() -> None:
    result = cell("NeverReady", service_timeout=1)
    assert result["outcome"] == "timeout"
    assert "did not answer within 1" in result["reason"]
    assert result["leftover_processes"] == 0  # the worker killed the server's group


def test_server_that_dies_is_a_crash() -> None:
    result = cell("DyingService")
    assert result["outcome"] == "crash"
    assert "exited with 4" in result["reason"]


def test_local_server_is_timed_used_and_stopped() -> None:
    result = cell("HttpService")
    assert result["outcome"] == "ok", result["reason"]
    assert result["service_start_ns"] > 0
    assert result["leftover_processes"] == 0


def test_leftovers_are_counted_and_ended() -> None:
    result = cell("Litterer")
    assert result["outcome"] == "ok", result["reason"]
    assert result["leftover_processes"] == 1
    assert result["outside_files"] >= 2
    assert "~/.cache/litter/state.json" in result["outside_paths"]
    assert "$TMPDIR/scratch.bin" in result["outside_paths"]
    time.sleep(0.2)
    assert not _sleepers(), "the detached process was not ended"


def test_a_helper_escaping_with_an_empty_environment_is_found_counted_and_ended() -> None:
    result = cell("Escaper")
    assert result["outcome"] == "ok", result["reason"]
    assert result["leftover_processes"] == 1
    time.sleep(0.2)
    assert not _sleepers(b"time.sleep(3601)"), "the escaped helper was not ended"


def _sleepers(call: bytes = b"time.sleep(3600)") -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    cmd = fh.read()
            except OSError:
                continue
            if call in cmd and b"-c" in cmd:
                found.append(int(entry))
    return found


def test_worker_that_cannot_exit_is_a_timeout_keeping_its_timings() -> None:
    result = cell("LingeringThread", timeout=3)
    assert result["outcome"] == "timeout"
    assert "after writing its result" in result["reason"]
    assert result["finish_ns"] is not None


def test_fidelity_outcomes() -> None:
    lossy = cell("Float32")
    assert (lossy["outcome"], lossy["fidelity"]) == ("ok", "lossy")
    assert lossy["reason"] == "float32 values"
    undeclared = cell("Float32Undeclared")
    assert undeclared["fidelity"] == "wrong_data"
    assert "metric 'loss' at step 0" in undeclared["reason"]
    corrupt = cell("Corrupting")
    assert corrupt["fidelity"] == "wrong_data"
    assert "beyond the documented loss" in corrupt["reason"]
    assert "100 values logged, 99 read" in corrupt["reason"]


def test_a_slow_check_after_a_prompt_read_back_is_the_harness_s_failure() -> None:
    started = time.perf_counter()
    result = cell("SlowCheck", timeout=3)
    whole = time.perf_counter() - started
    assert (result["outcome"], result["fidelity"]) == ("ok", "not_checked")
    assert result[S.HARNESS_FAILURE] == S.CHECK_TIMED_OUT
    assert result["reason"] == "harness failure: checking what was read back took over 3 s"
    assert result[S.READ_IMPORT_NS] is not None
    assert whole < 3 * 3  # the check got the cell's timeout again, no more
    hung = cell("HangingReader", timeout=3)  # the framework's own reader: its failure
    assert (hung["outcome"], hung["fidelity"]) == ("ok", "wrong_data")
    assert hung["reason"] == "reading back: killed after 3 s"
    assert hung[S.HARNESS_FAILURE] is None


def test_worker_environment_is_clean_and_offline() -> None:
    os.environ["TRACKBENCH_TEST_SECRET"] = "leak"
    try:
        result = cell("EnvProbe")
    finally:
        del os.environ["TRACKBENCH_TEST_SECRET"]
    assert result["fidelity"] == "unverified"
    probe = json.loads(result["reason"])
    env = probe["env"]
    assert "TRACKBENCH_TEST_SECRET" not in env and "PYTHONPATH" not in env
    assert env["HOME"] != os.environ.get("HOME") and env["HOME"].endswith("/home")
    assert env["TMPDIR"].endswith("/tmp")
    assert probe["cwd"] == env["PROBE_SETTING"].removesuffix("/store")  # {workdir} expanded
    assert probe["proxy"] == "refused"
    for key in ("HTTP_PROXY", "https_proxy", "ALL_PROXY"):
        assert env[key].startswith("http://127.0.0.1:")
    assert env["NO_PROXY"] == "127.0.0.1,localhost"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = probe["path"]
    site = [i for i, entry in enumerate(path) if entry.endswith("site-packages")]
    assert site and path.index(root) > max(site)  # the project root comes after site-packages
    assert "" not in probe["path"] and os.path.join(root, "scenarios") not in probe["path"]


def test_worker_env_keeps_only_the_allowlist(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    env = worker_env(tmp_path / "bin" / "python", tmp_path / "h", tmp_path / "t", "m", 9)
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert env["LC_ALL"] == "C.UTF-8"
    assert env["PATH"].startswith(str(tmp_path / "bin") + os.pathsep)
    assert env["TRACKBENCH_CELL"] == "m"
    assert env["DO_NOT_TRACK"] == "true"


def test_marked_processes_ignore_others() -> None:
    assert marked_processes("no-such-marker") == []


# --- fidelity comparison, in this process -----------------------------------------------


def test_same_value_is_bit_exact() -> None:
    assert same_value(math.nan, float("nan"))
    assert not same_value(-0.0, 0.0)
    assert same_value(0.1, np.float64(0.1))
    assert not same_value(0.1, float(np.float32(0.1)))
    assert not same_value(0.1, "0.1")
    assert not same_value(1.0, True)
    assert same_value(32, np.int64(32)) and not same_value(32, 32.0)
    assert same_value(None, None) and not same_value(None, math.nan)
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    assert same_value(a, a.copy(order="F"))
    assert not same_value(a, a.astype(np.float32))
    assert not same_value(a, a.reshape(3, 2))
    assert not same_value(a, a.tolist())


def test_diff_runs_pairs_by_name_and_counts_runs() -> None:
    def run(name: str, value: float) -> RunData:
        return RunData("e", name, {}, {"v": [(0, value)]}, {})

    logged = [run("a", 1.0), run("b", 2.0)]
    assert diff_runs(logged, [run("b", 2.0), run("a", 1.0)]) is None
    assert diff_runs(logged, [run("a", 1.0)]) == "1 run(s) missing, e.g. 'b'"
    assert "3 runs read back" in str(diff_runs(logged, [*logged, run("c", 0.0)]))
    # a single run is paired even when the framework renamed it
    assert diff_runs([run("a", 1.0)], [run("renamed", 1.0)]) is None
    assert "read_back returned dict" in str(diff_runs(logged, {}))


def test_contract_workload_is_deterministic_and_special() -> None:
    contract = workloads.get("contract")
    first = contract.prepare(contract.params())
    second = contract.prepare(contract.params())
    assert first.values[:3] == second.values[:3] and len(first.values) == 100
    assert math.isnan(first.values[3]) and math.copysign(1, first.values[5]) == -1
    assert first.array.dtype == np.float64 and first.array.shape == (1000,)
    assert not first.array.flags.writeable
    with pytest.raises(KeyError, match="no parameter 'nope'"):
        contract.params({"nope": 1})
    with pytest.raises(KeyError, match="unknown workload"):
        workloads.get("nope")


def test_reading_back_is_apart_from_the_writer() -> None:
    started = time.perf_counter()
    result = cell("SlowReader")
    whole = time.perf_counter() - started
    assert result["outcome"] == "ok" and result["fidelity"] == "exact"
    # the reader's second of reading back came after the writer's process, outside it
    assert whole - result[S.PROCESS_NS] / 1e9 >= 1.0
    assert result[S.TRACKING_NS] < result[S.PROCESS_NS]
    assert 0 < result["cpu_ns"] < 0.9e9 and result["peak_rss_bytes"] > 0
