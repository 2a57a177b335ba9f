"""The replica supervisor: keeps each `relay serve` replica running, as Kubernetes would.

Runs detached (`python -m topology.supervisor ...`, started by the topology). A replica that exits
for any reason is started again after a back-off that doubles per crash (0.5 s up to 10 s) and
resets once the replica has stayed up for 30 s, so a crash loop cannot spin a core. State (pids,
restart counts) goes to `run/replicas.json` for `make status` and the tests; replica output goes to
`logs/replica-<name>.log`. SIGTERM stops the replicas (SIGTERM, then SIGKILL after the grace period)
and then the supervisor.
"""

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from topology.layout import Layout

BACKOFF_FIRST_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 10.0
STABLE_AFTER_SECONDS = 30.0
POLL_SECONDS = 0.1

log = logging.getLogger("topology.supervisor")


@dataclass
class Replica:
    name: str
    port: int
    # The native socket listener's port (RELAY_SOCKET_PORT); None with python-socketio.
    socket_port: int | None = None
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = BACKOFF_FIRST_SECONDS
    next_start: float = 0.0
    last_exit: int | None = None

    def state(self) -> dict[str, object]:
        running = self.process is not None and self.process.poll() is None
        return {
            "pid": self.process.pid if running and self.process else None,
            "port": self.port,
            "socket_port": self.socket_port,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
        }


class Supervisor:
    def __init__(
        self,
        layout: Layout,
        replicas: dict[str, int],
        grace_seconds: float,
        socket_ports: dict[str, int] | None = None,
    ) -> None:
        self.layout = layout
        sockets = socket_ports or {}
        self.replicas = [Replica(name, port, sockets.get(name)) for name, port in replicas.items()]
        self.grace_seconds = grace_seconds
        self.stopping = False
        self.relay = str(Path(sys.executable).with_name("relay"))

    def _start(self, replica: Replica) -> None:
        env = {**os.environ, "RELAY_REPLICA_ID": replica.name}
        if replica.socket_port is not None:  # the socket path's own listener, where haproxy routes it
            env["RELAY_SOCKET_PORT"] = str(replica.socket_port)
        with self.layout.log_file(f"replica-{replica.name}").open("ab") as out:
            replica.process = subprocess.Popen(  # noqa: S603  # fixed argv
                [self.relay, "serve", "--host", "127.0.0.1", "--port", str(replica.port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        replica.started_at = time.monotonic()
        log.info("started replica %s on 127.0.0.1:%d pid %d", replica.name, replica.port, replica.process.pid)

    def _check(self, replica: Replica, now: float) -> bool:
        """Start or restart `replica` when due; True when its state changed."""
        if replica.process is None:
            if now >= replica.next_start:
                self._start(replica)
                return True
            return False
        code = replica.process.poll()
        if code is None:
            if now - replica.started_at >= STABLE_AFTER_SECONDS:
                replica.backoff = BACKOFF_FIRST_SECONDS
            return False
        replica.last_exit = code
        replica.restarts += 1
        replica.process = None
        replica.next_start = now + replica.backoff
        log.warning(
            "replica %s exited with %d; restart %d in %.1f s",
            replica.name,
            code,
            replica.restarts,
            replica.backoff,
        )
        replica.backoff = min(replica.backoff * 2, BACKOFF_MAX_SECONDS)
        return True

    def _write_state(self) -> None:
        state = {
            "supervisor_pid": os.getpid(),
            "replicas": {r.name: r.state() for r in self.replicas},
        }
        temporary = self.layout.replicas_state.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2))
        temporary.replace(self.layout.replicas_state)

    def _request_stop(self, signum: int, _frame: object) -> None:
        log.info("received signal %d: stopping replicas", signum)
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._request_stop)
        signal.signal(signal.SIGINT, self._request_stop)
        self._write_state()
        while not self.stopping:
            now = time.monotonic()
            if any([self._check(replica, now) for replica in self.replicas]):
                self._write_state()
            time.sleep(POLL_SECONDS)
        self._stop_replicas()
        self.layout.replicas_state.unlink(missing_ok=True)
        log.info("supervisor stopped")
        return 0

    def _stop_replicas(self) -> None:
        running = [r.process for r in self.replicas if r.process is not None and r.process.poll() is None]
        for process in running:
            process.terminate()
        deadline = time.monotonic() + self.grace_seconds
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning(
                    "replica pid %d did not stop within %.0f s: killing it", process.pid, self.grace_seconds
                )
                process.kill()
                process.wait()


def _parse_named_port(option: str, example: str, value: str) -> tuple[str, int]:
    name, _, port = value.partition("=")
    if not name or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{option} {value!r}: expected NAME=PORT, e.g. {example}")
    return name, int(port)


def parse_replica(value: str) -> tuple[str, int]:
    return _parse_named_port("--replica", "r1=8001", value)


def parse_socket_port(value: str) -> tuple[str, int]:
    return _parse_named_port("--socket-port", "r1=8101", value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m topology.supervisor", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--replica", type=parse_replica, action="append", required=True)
    parser.add_argument(
        "--socket-port",
        type=parse_socket_port,
        action="append",
        default=[],
        help="a replica's native socket listener (RELAY_SOCKET_PORT), with RELAY_SOCKET_SERVER=native",
    )
    parser.add_argument("--grace", type=float, default=15.0, help="seconds a replica gets to drain on stop")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stdout)
    sockets = dict(args.socket_port)
    unknown = sorted(set(sockets) - {name for name, _ in args.replica})
    if unknown:
        parser.error(f"--socket-port names no --replica: {', '.join(unknown)}")
    return Supervisor(Layout(args.workdir), dict(args.replica), args.grace, sockets).run()


if __name__ == "__main__":
    sys.exit(main())
