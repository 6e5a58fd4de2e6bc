"""Where a suite runs: machine, OS, CPU, memory, the cells' file system, Python, and the
project's commit with a dirty flag."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from results import schema as S

ROOT = Path(__file__).resolve().parent.parent
# Suite params recorded since issue 18 (older suites lack them: reports say "not recorded").
MEMORY = "memory_bytes"  # the machine's physical memory
FILESYSTEM = "filesystem"  # the type of the file system holding the cells' work directories
# Beside each framework's declarations: its environment's size on disk, as its build recorded,
# and whether its requirements were installed from the lock (`locked`) or why not.
ENV_SIZE_BYTES = "env_size_bytes"
ENV_LOCK = "env_lock"


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


def memory_bytes() -> int | None:
    """The machine's physical memory in bytes, or None when it cannot be read."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024  # the kernel writes kB, meaning KiB
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def filesystem_type(path: str) -> str:
    """The type of the file system `path` is on (ext4, tmpfs, ...), from /proc/mounts: the
    mount with the longest mount point above it; `unknown` where there is no /proc."""
    real = os.path.realpath(path)
    best, kind = "", "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            fields = line.split()
            if len(fields) < 3:
                continue
            # /proc/mounts escapes spaces and the like in octal (\040)
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m[1], 8)), fields[1])
            inside = real == point or real.startswith(point.rstrip("/") + "/")
            if inside and len(point) >= len(best):
                best, kind = point, fields[2]
    return kind


def machine_info() -> dict[str, Any]:
    """Machine, OS, CPU, memory, the cells' file system, Python, commit and dirty flag, as
    suite params."""
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
    memory = memory_bytes()
    return {
        S.MACHINE: platform.node() or "unknown",
        S.OS: system,
        S.CPU: f"{cpu} x{os.cpu_count()}",
        **({MEMORY: memory} if memory else {}),  # never a made-up number
        # cells work in folders under the temporary directory (scenarios/cell.py)
        FILESYSTEM: filesystem_type(tempfile.gettempdir()),
        S.PYTHON: f"{platform.python_implementation()} {platform.python_version()}",
        **commit_info(),
    }
