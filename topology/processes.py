"""Background processes the topology owns: started detached, tracked by pid file, stopped by pid.

Only processes whose pid file this topology wrote are ever signalled, so `make down` and the tests
never touch the machine's shared Postgres or Redis, nor another topology's processes.
"""

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from topology.errors import TopologyError


def pid_alive(pid: int) -> bool:
    """True when the process runs; a zombie (exited, not yet reaped by its parent) counts as dead."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in `pid_file` when that process still runs, else None."""
    try:
        pid = int(pid_file.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def spawn_daemon(
    argv: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start `argv` in its own session (no controlling terminal, survives `make up` exiting),
    output appended to `log_file`, pid written to `pid_file`."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603  # argv is built by this package, never from input
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
            user=user,
            group=user,
        )
    pid_file.write_text(f"{process.pid}\n")
    return process.pid


def stop_pid(pid: int, *, timeout: float, sig: int = signal.SIGTERM) -> bool:
    """Send `sig`, wait up to `timeout` seconds, then SIGKILL. True when the process is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        _reap(pid)
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def stop_from_pid_file(pid_file: Path, *, timeout: float, sig: int = signal.SIGTERM) -> int | None:
    """Stop the process `pid_file` names (if it runs) and remove the file; returns the pid stopped."""
    pid = read_pid(pid_file)
    if pid is not None:
        stop_pid(pid, timeout=timeout, sig=sig)
    pid_file.unlink(missing_ok=True)
    return pid


def _reap(pid: int) -> None:
    """Collect our own exited child so it does not linger as a zombie (tests start daemons as children)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


def wait_for_port(port: int, *, timeout: float, what: str, log_file: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.1)
    hint = f"; see {log_file}" if log_file else ""
    raise TopologyError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s{hint}")


def free_port() -> int:
    """A port nothing listens on now (tests pick ports this way, never fixed ones)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
