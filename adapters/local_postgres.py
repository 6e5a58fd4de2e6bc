"""The local PostgreSQL server of a cell, for the adapters of SQL trackers on PostgreSQL.

One server per cell, started the same way for each of them (so that the trackers on it are
compared on one server): a throwaway cluster in the work directory, initialised on first
start, served on 127.0.0.1 at PostgreSQL's defaults (every commit fsynced).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from adapters.base import Service

# The project's own server launcher (stdlib only), run as a script by the venv's Python.
_POSTGRES = Path(__file__).resolve().parent.parent / "scenarios" / "postgres.py"

LEAVES_BEHIND = (
    "no process, and cluster, socket and files all in the work directory; but a server "
    "stopped with SIGKILL cannot free its shared memory: one 56-byte System V segment and "
    "~1-3 MB of /dev/shm/PostgreSQL.* files per cell (none with a SIGINT/SIGTERM stop)"
)


class LocalPostgres:
    """Mixin of an adapter: the cell's PostgreSQL server as its `service`."""

    def service_argv(self, workdir: Path, port: int) -> list[str] | None:
        """A throwaway cluster in the work directory, served as `postgres` on 127.0.0.1:port."""
        # The server runs as the unprivileged `postgres` user, which must be able to reach its
        # data directory inside the work directory (temporary directories are 0700).
        workdir = Path(workdir).resolve()
        if os.geteuid() == 0:
            workdir.chmod(0o711)  # traverse only: the server's own folder is handed over below
            for folder in workdir.parents:
                if not folder.stat().st_mode & 0o001:
                    raise RuntimeError(
                        f"the postgres user cannot reach the work directory: {folder} is not "
                        "traversable by others (create cell directories with mode 0711)"
                    )
        self._pgdata = workdir / "pg" / "data"
        # initdb on first start, then exec the server in the foreground, at PostgreSQL's
        # default durability (every commit fsynced), as a team's server runs.
        return [sys.executable, "-I", os.fspath(_POSTGRES), os.fspath(self._pgdata), str(port)]

    def service_ready(self, service: Service) -> bool:
        """Whether the server says it accepts connections (postmaster.pid's status line)."""
        try:
            lines = (self._pgdata / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[7].strip() == "ready"

    def server_url(self, service: Service | None) -> str:
        """The cell's server as a database URL (its superuser, its default database)."""
        if service is None:
            raise ValueError(f"{type(self).__name__} needs the cell's PostgreSQL server")
        return f"postgresql://postgres@127.0.0.1:{service.port}/postgres"
