"""Where a suite runs: machine, OS, CPU, Python, and the project's commit with a dirty flag."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from results import schema as S

ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read only: never touch the index
    try:
        proc = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""


def machine_info() -> dict[str, Any]:
    """Machine, OS, CPU, Python, commit and dirty flag, as suite params."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    system = f"{platform.system()} {platform.release()}"
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system += f" ({line.split('=', 1)[1].strip(chr(34))})"
    commit = _git("rev-parse", "HEAD") or "unknown"
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        S.MACHINE: platform.node() or "unknown",
        S.OS: system,
        S.CPU: f"{cpu} x{os.cpu_count()}",
        S.PYTHON: f"{platform.python_implementation()} {platform.python_version()}",
        S.COMMIT: commit,
        S.DIRTY: dirty,
    }
