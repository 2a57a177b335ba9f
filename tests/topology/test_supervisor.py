"""The supervisor restarts a replica that dies, with a back-off, so a crash loop cannot spin a core,
and stops its replicas when it is stopped."""

import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

from topology.layout import REPO_ROOT, Layout
from topology.processes import free_port, spawn_daemon, stop_pid
from topology.supervisor import Supervisor, main


def wait_for_restart_delays(log_file: Path, *, count: int, timeout: float) -> list[float]:
    """The back-off the supervisor logged ("restart N in X s"), once `count` restarts are logged."""
    deadline = time.monotonic() + timeout
    delays: list[float] = []
    while time.monotonic() < deadline and len(delays) < count:
        time.sleep(0.2)
        delays = [float(d) for d in re.findall(r"restart \d+ in ([0-9.]+) s", log_file.read_text())]
    return delays[:count]


def test_a_crash_looping_replica_is_restarted_with_backoff(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    layout.create()
    # No RELAY_* settings: `relay serve` refuses to start and exits at once, every time.
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAY_")}
    pid = spawn_daemon(
        [
            sys.executable,
            "-m",
            "topology.supervisor",
            "--workdir",
            str(tmp_path),
            "--replica",
            f"r1={free_port()}",
        ],
        pid_file=layout.pid_file("supervisor"),
        log_file=layout.log_file("supervisor"),
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        cwd=REPO_ROOT,
    )
    try:
        delays = wait_for_restart_delays(layout.log_file("supervisor"), count=3, timeout=20)
        assert delays == [0.5, 1.0, 2.0], "each crash doubles the wait before the next start"
        assert "environment" in layout.log_file("replica-r1").read_text(), "the replica's error is kept"
    finally:
        assert stop_pid(pid, timeout=10, sig=signal.SIGTERM)
    assert not layout.replicas_state.exists(), "a stopped supervisor leaves no stale state behind"


def test_each_replica_gets_its_own_socket_port_and_an_unknown_name_is_refused(tmp_path: Path) -> None:
    """RELAY_SOCKET_SERVER=native: the topology passes Ports.sockets, never a derived port."""
    supervisor = Supervisor(Layout(tmp_path), {"r1": 18001, "r2": 18002}, 1.0, {"r1": 18201, "r2": 18202})
    assert [r.state()["socket_port"] for r in supervisor.replicas] == [18201, 18202]
    with pytest.raises(SystemExit):
        main(["--workdir", str(tmp_path), "--replica", "r1=18001", "--socket-port", "r3=18203"])
