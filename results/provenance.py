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


def _git(*args: str) -> tuple[str | None, str]:
    """(git's output, "") or (None, why git could not answer)."""
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read only: never touch the index
    try:
        proc = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=20
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"git {args[0]}: {exc}"
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"]
        return None, f"git {args[0]}: {lines[0]}"
    return proc.stdout.strip(), ""


def commit_info() -> dict[str, Any]:
    """The commit and dirty flag; each unknown (None) with `git_error` when git fails, since
    a commit whose state could not be read must never be recorded as clean."""
    commit, commit_error = _git("rev-parse", "HEAD")
    status, status_error = _git("status", "--porcelain", "--untracked-files=no")
    info: dict[str, Any] = {
        S.COMMIT: commit or "unknown",
        S.DIRTY: None if status is None else bool(status),
    }
    errors = [e for e in (commit_error, status_error) if e]
    if errors:
        info[S.GIT_ERROR] = "; ".join(dict.fromkeys(errors))
    return info


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
    return {
        S.MACHINE: platform.node() or "unknown",
        S.OS: system,
        S.CPU: f"{cpu} x{os.cpu_count()}",
        S.PYTHON: f"{platform.python_implementation()} {platform.python_version()}",
        **commit_info(),
    }
