"""Does a cell's tracking_ns agree with the same work timed by a plain script?

    python benchmarks/headline_check.py [--frameworks A B ...] [--repeat 5]

For each framework and configuration (startup; high_frequency at 1000 values), interleaved
`--repeat` times so that both see the same machine: one benchmark cell (the harness: server
keeper, writer, reader, measurement) and one plain script, run with the framework
environment's Python in a fresh folder of its own. The script builds the inputs and starts
a local server if the framework needs one (untimed, as in a cell), then times itself from
the framework's import: to the end of its last atexit handler (registered before the
framework's, so it runs after them and after the thread joins), and, with the clock reading
it prints before the import, to its process's exit as the parent sees it (the interpreter's
own teardown included, as in a cell's exit_ns). It uses the adapter's calls, so what
differs is the harness alone.

Prints each framework's medians (the cell's tracking_ns; the script's to its exit and to its
last atexit handler), the ratio of the first two, and whether they agree within 20% or
50 ms. Exit status 1 when one does not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.fspath(ROOT))

from scenarios import cell, envs, grids  # noqa: E402

CONFIGS = (("startup", {}), ("high_frequency", {"n_values": 1000}))
AGREE_RATIO, AGREE_NS = 0.20, 50_000_000

# Runs in the framework's environment: argv = framework, scenario, params JSON, workdir.
PLAIN = """
import time
start = None
def _done():
    print("atexit", time.perf_counter_ns() - start, flush=True)
import atexit
atexit.register(_done)  # first registered, so it runs last
import json, os, sys
from pathlib import Path
sys.path.append(os.environ["TRACKBENCH_ROOT"])
from adapters.base import Adapter, Service, expand_env
from adapters.registry import resolve
from scenarios import workloads
name, scenario, params = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
workdir = Path(sys.argv[4])
cls = resolve(name)
os.environ.update(expand_env(cls.env, workdir))
workload = workloads.get(scenario)
inputs = workload.prepare(workload.params(params))
adapter = cls()
service = server = None
if cls.service_argv is not Adapter.service_argv:
    import socket, subprocess
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(adapter.service_argv(workdir, port), cwd=workdir,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              process_group=0)
    service = Service(port, workdir)
    deadline = time.monotonic() + 60
    while True:
        try:
            if adapter.service_ready(service):
                break
        except OSError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            sys.exit("the local server did not start")
        time.sleep(0.005)
    import signal
    atexit.register(lambda: (os.killpg(server.pid, signal.SIGTERM), server.wait()))
os.chdir(workdir)
start = time.perf_counter_ns()
print("start", start, flush=True)
adapter.load()
adapter.open(workdir, service)
workload.run(adapter, inputs)
adapter.finish()
"""


def plain(name: str, scenario: str, params: dict[str, object], python: Path) -> tuple[int, int]:
    """One plain run's nanoseconds from the framework's import to its process's exit, and to
    its last atexit handler."""
    with tempfile.TemporaryDirectory(prefix="trackbench-plain-") as folder:
        base = Path(folder)
        base.chmod(0o711)  # a server run as another user (PostgreSQL's) must reach it
        work, home, tmp = base / "work", base / "home", base / "tmp"
        for path in (work, home, tmp):
            path.mkdir()
        env = {"PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
               "HOME": os.fspath(home), "TMPDIR": os.fspath(tmp), "LANG": "C.UTF-8",
               "TRACKBENCH_ROOT": os.fspath(ROOT), "DO_NOT_TRACK": "true"}  # fmt: skip
        done = subprocess.run(
            [os.fspath(python), "-I", "-c", PLAIN, name, scenario, json.dumps(params),
             os.fspath(work)],
            env=env, cwd=work, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        exited = time.perf_counter_ns()
        said = dict(line.split() for line in done.stdout.splitlines() if line.count(" ") == 1)
        if done.returncode != 0 or not {"start", "atexit"} <= set(said):
            raise RuntimeError(f"{name} {scenario}: plain run failed: {done.stderr[-800:]}")
        return exited - int(said["start"]), int(said["atexit"])


def main(argv: list[str] | None = None) -> int:
    """Measure, print the comparison; 1 when a framework's medians disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", nargs="+", help="default: the quick grid's")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    described = envs.describe()
    names = args.frameworks or [n for n, d in described.items() if grids.QUICK.includes(n, d)]
    failed = 0
    print(f"{'framework':<14} {'scenario':<15} {'cell s':>9} {'plain s':>9} {'ratio':>7} "
          f"{'to atexit s':>12}")  # fmt: skip
    for name in names:
        python = envs.ensure(name).python
        for scenario, params in CONFIGS:
            cells, plains, atexits = [], [], []
            for _ in range(args.repeat):
                result = cell.run_cell(name, scenario, params, 600, python=python,
                                       declared=described[name])  # fmt: skip
                if result["outcome"] == "unsupported":
                    break
                if result["outcome"] != "ok":
                    raise RuntimeError(f"{name} {scenario}: {result['reason']}")
                cells.append(result["tracking_ns"])
                whole, to_atexit = plain(name, scenario, params, python)
                plains.append(whole)
                atexits.append(to_atexit)
            if not cells:
                continue
            a, b = statistics.median(cells), statistics.median(plains)
            agree = abs(a - b) <= max(AGREE_RATIO * b, AGREE_NS)
            failed += not agree
            print(f"{name:<14} {scenario:<15} {a / 1e9:9.3f} {b / 1e9:9.3f} {a / b:6.2f}x "
                  f"{statistics.median(atexits) / 1e9:12.3f}{'' if agree else '  DISAGREE'}",
                  flush=True)  # fmt: skip
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
