"""A Postgres the topology owns, for a machine where none answers on the configured port.

The machine's shared server is always preferred (`make up` never starts a second one beside it).
This cluster lives in `<workdir>/postgres` with trust authentication on 127.0.0.1 only, like the
shared server, and keeps its data across `make down`.
"""

import glob
import os
import signal
import subprocess
import time
from pathlib import Path

from topology.errors import TopologyError
from topology.layout import Layout, Ports
from topology.processes import read_pid, spawn_daemon, stop_from_pid_file, wait_for_port

# Postgres refuses to run as root; the Debian package creates this account.
SERVICE_USER = "postgres"


def _bindir() -> str:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise FileNotFoundError(
            "no Postgres server binaries: run `bash scripts/install-system-deps.sh postgresql` (make up does)"
        )
    return os.path.dirname(candidates[-1])


def _user() -> str | None:
    return SERVICE_USER if os.geteuid() == 0 else None


def start(ports: Ports, layout: Layout) -> int:
    bindir, user, data = _bindir(), _user(), layout.postgres_data
    if not (data / "PG_VERSION").exists():
        data.mkdir(parents=True, exist_ok=True, mode=0o700)
        if user:
            subprocess.run(["chown", "-R", f"{user}:{user}", str(data)], check=True)  # noqa: S603,S607
        subprocess.run(  # noqa: S603  # fixed argv
            [f"{bindir}/initdb", "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
            user=user,
            group=user,
        )
    pid = spawn_daemon(
        [
            f"{bindir}/postgres",
            "-D",
            str(data),
            "-p",
            str(ports.postgres),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data}",
        ],
        pid_file=layout.pid_file("postgres"),
        log_file=layout.log_file("postgres"),
        user=user,
    )
    wait_for_port(ports.postgres, timeout=30, what="postgres", log_file=layout.log_file("postgres"))
    _wait_accepting(bindir, ports.postgres, timeout=30, log_file=layout.log_file("postgres"))
    return pid


def _wait_accepting(bindir: str, port: int, *, timeout: float, log_file: Path) -> None:
    """An open port is not a ready server: until its recovery ends, Postgres answers "starting up"."""
    deadline = time.monotonic() + timeout
    argv = [f"{bindir}/pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]
    while subprocess.run(argv, check=False).returncode != 0:  # noqa: S603  # fixed argv
        if time.monotonic() > deadline:
            raise TopologyError(
                f"postgres on port {port} did not accept connections in {timeout:.0f} s; see {log_file}"
            )
        time.sleep(0.1)


def stop(layout: Layout) -> int | None:
    # SIGINT is Postgres's "fast" shutdown: SIGTERM would wait for every client to disconnect.
    return stop_from_pid_file(layout.pid_file("postgres"), timeout=30, sig=signal.SIGINT)


def running_pid(layout: Layout) -> int | None:
    return read_pid(layout.pid_file("postgres"))
