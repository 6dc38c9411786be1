"""A throwaway PostgreSQL 15 server for the warehouse tests.

It gets a private data directory, port and socket directory, listens on 127.0.0.1 only,
trusts local connections, and is stopped and removed at the end. PostgreSQL refuses to
run as root, so as root the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import typing as t
from pathlib import Path

if t.TYPE_CHECKING:
    from collections.abc import Iterator

BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"),)
SERVICE_USER = "postgres"


class PostgresUnavailableError(RuntimeError):
    """PostgreSQL 15 server binaries are not installed."""


def find_bin_dir() -> Path:
    """Where initdb and pg_ctl live.

    Returns:
        The PostgreSQL bin directory.

    Raises:
        PostgresUnavailableError: If no PostgreSQL 15 server is installed.
    """
    override = os.environ.get("PG_BIN_DIR")
    for candidate in ((Path(override),) if override else ()) + BIN_DIRS:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    msg = (
        "PostgreSQL 15 server binaries not found in /usr/lib/postgresql/15/bin "
        "(install Debian's postgresql-15, or set PG_BIN_DIR)"
    )
    raise PostgresUnavailableError(msg)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_postgres() -> Iterator[dict[str, t.Any]]:
    """Start a private PostgreSQL server; stop and delete it afterwards.

    Yields:
        Connection settings: host, port, user, password, database.
    """
    bin_dir = find_bin_dir()
    as_root = os.geteuid() == 0
    base = Path(tempfile.mkdtemp(prefix="tap-cloudcommands-pg-"))
    data_dir, socket_dir = base / "data", base / "socket"
    socket_dir.mkdir()
    base.chmod(0o755)
    if as_root:
        shutil.chown(base, SERVICE_USER)
        shutil.chown(socket_dir, SERVICE_USER)

    def run(*command: str) -> None:
        prefix = ["runuser", "-u", SERVICE_USER, "--"] if as_root else []
        subprocess.run([*prefix, *command], check=True, capture_output=True, cwd=base)

    port = free_port()
    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
        )
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data_dir),
            "-l",
            str(base / "server.log"),
            "-o",
            f"-p {port} -h 127.0.0.1 -k {socket_dir} -c fsync=off",
            "-w",
            "start",
        )
        yield {
            "host": "127.0.0.1",
            "port": port,
            "user": "postgres",
            "password": "postgres",
            "database": "postgres",
        }
    finally:
        if (data_dir / "postmaster.pid").exists():
            run(str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop")
        shutil.rmtree(base, ignore_errors=True)
