"""The relay replicas, seen from outside their supervisor: start it, read its state, signal a replica."""

import json
import os
import sys
import time
from collections.abc import Mapping

from topology.errors import TopologyError
from topology.layout import REPO_ROOT, Layout, Ports, native_sockets
from topology.processes import pid_alive, read_pid, spawn_daemon, stop_from_pid_file


class ReplicaSet:
    def __init__(self, layout: Layout, ports: Ports) -> None:
        self.layout = layout
        self.ports = ports

    def start(self, env: Mapping[str, str], *, grace_seconds: float) -> int:
        argv = [
            sys.executable,
            "-m",
            "topology.supervisor",
            "--workdir",
            str(self.layout.workdir),
            "--grace",
            f"{grace_seconds:g}",
        ]
        for name, port in self.ports.replica_ports().items():
            argv += ["--replica", f"{name}={port}"]
        if native_sockets():
            for name, port in self.ports.socket_ports().items():
                argv += ["--socket-port", f"{name}={port}"]
        return spawn_daemon(
            argv,
            pid_file=self.layout.pid_file("supervisor"),
            log_file=self.layout.log_file("supervisor"),
            # From the repository root, `python -m topology.supervisor` imports this package.
            env={**env, "PYTHONPATH": str(REPO_ROOT)},
            cwd=REPO_ROOT,
        )

    def supervisor_pid(self) -> int | None:
        return read_pid(self.layout.pid_file("supervisor"))

    def stop(self, layout: Layout) -> int | None:
        """Stop the supervisor, which drains and stops its replicas first."""
        return stop_from_pid_file(layout.pid_file("supervisor"), timeout=60)

    def state(self) -> dict[str, dict[str, object]]:
        try:
            return json.loads(self.layout.replicas_state.read_text())["replicas"]
        except (FileNotFoundError, json.JSONDecodeError, KeyError):
            return {}

    def pids(self) -> dict[str, int]:
        """Live replica pids by name (a replica between crash and restart is absent)."""
        return {
            name: int(entry["pid"])
            for name, entry in self.state().items()
            if entry.get("pid") and pid_alive(int(entry["pid"]))
        }

    def restarts(self, name: str) -> int:
        return int(self.state().get(name, {}).get("restarts", 0))

    def signal(self, name: str, sig: int) -> int:
        pid = self.pids().get(name)
        if pid is None:
            raise LookupError(f"replica {name!r} is not running (state: {self.state()})")
        os.kill(pid, sig)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 30) -> int:
        """Wait for the supervisor to run `name` again under a new pid; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid = self.pids().get(name)
            if pid and pid != old_pid:
                return pid
            time.sleep(0.1)
        raise TopologyError(
            f"replica {name} was not restarted within {timeout:.0f} s; "
            f"see {self.layout.log_file('supervisor')}"
        )
