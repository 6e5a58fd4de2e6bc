"""Throwaway PostgreSQL clusters on 127.0.0.1, for tests, the sqltrack adapter and results.

The server refuses to run as root, so when we are root it runs as the `postgres` system
user, with its data directory inside a folder that user may write. Standard library only.

    python -m scenarios.postgres DIR PORT     # initdb DIR if empty, then serve in the foreground
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

USER = "postgres"


def bin_dir() -> Path:
    """The folder of the newest installed PostgreSQL server binaries."""
    for pattern in ("/usr/lib/postgresql/*/bin/initdb", "/usr/local/pgsql/bin/initdb"):
        found = sorted(
            glob.glob(pattern),
            key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0,
        )
        if found:
            return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL server binaries not found; install them: apt-get install postgresql"
    )


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    # setpriv execs the server in place, so a signal to it reaches PostgreSQL at once
    # (runuser stays as a parent and delays a stop by about 2 s).
    setpriv = shutil.which("setpriv", path="/usr/bin:/bin:/usr/sbin:/sbin") or "setpriv"
    return [setpriv, f"--reuid={USER}", f"--regid={USER}", "--init-groups", "--", *argv]


def _hand_to_server_user(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, USER, USER)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def init(data_dir: Path) -> None:
    """Create a cluster in an empty `data_dir` (trust authentication, loopback only)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    _hand_to_server_user(data_dir)
    subprocess.run(
        _as_server_user(
            [
                str(bin_dir() / "initdb"),
                "-D",
                str(data_dir),
                "-U",
                USER,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def server_argv(data_dir: Path, port: int) -> list[str]:
    """The command that serves `data_dir` on 127.0.0.1:port in the foreground."""
    return _as_server_user(
        [
            str(bin_dir() / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data_dir}",
            # durability stays PostgreSQL's default (fsync, full page writes): what is
            # measured on it is what a team's server would do
            # shared memory as files inside the data directory: nothing outlives the cluster
            "-c",
            "dynamic_shared_memory_type=mmap",
        ]
    )


def ready(port: int) -> bool:
    """Whether a server accepts TCP connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def url(port: int, dbname: str = "postgres") -> str:
    """A SQLAlchemy URL for the cluster."""
    return f"postgresql://{USER}@127.0.0.1:{port}/{dbname}"


@contextlib.contextmanager
def cluster(parent: Path, timeout: float = 60.0) -> Iterator[str]:
    """A running throwaway cluster under `parent`; yields its URL, removes it afterwards."""
    parent.mkdir(parents=True, exist_ok=True)
    parent.chmod(0o755)
    data_dir = parent / "pgdata"
    init(data_dir)
    port = free_port()
    server = subprocess.Popen(
        server_argv(data_dir, port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + timeout
        # A socket that accepts is not yet a server that answers queries: wait for the pid file
        # line that says so ("ready" as the 8th line, PostgreSQL 10+).
        while not (ready(port) and _accepting(data_dir)):
            if server.poll() is not None:
                err = server.stderr.read().decode(errors="replace") if server.stderr else ""
                raise RuntimeError(f"PostgreSQL exited with {server.returncode}: {err[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start within {timeout:.0f} s")
            time.sleep(0.05)
        yield url(port)
    finally:
        os.killpg(server.pid, 2)  # SIGINT: fast shutdown, clients are disconnected
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait()
        if server.stderr:
            server.stderr.close()
        shutil.rmtree(data_dir, ignore_errors=True)


def _accepting(data_dir: Path) -> bool:
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[7].strip() == "ready"


def main(argv: list[str]) -> int:
    """Serve a cluster in DIR on PORT in the foreground, creating it first if DIR is empty."""
    if len(argv) != 2:
        print("usage: python -m scenarios.postgres DIR PORT", file=sys.stderr)
        return 2
    data_dir, port = Path(argv[0]).resolve(), int(argv[1])
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    data_dir.parent.chmod(0o755)
    if not (data_dir / "PG_VERSION").exists():
        init(data_dir)
    os.execvp(server_argv(data_dir, port)[0], server_argv(data_dir, port))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
