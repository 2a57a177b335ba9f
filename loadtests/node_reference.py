"""The Node reference server of `make bench-compare`: socket.io 4.8 with @socket.io/redis-adapter
(loadtests/node-reference/, pinned by its npm lock), PROCESSES processes on free ports of 127.0.0.1
sharing a Redis of its own, so it never touches the topology's Redis or the machine's.

It plays the part of an Audience in loadtests/bench_fanout.run_step: tokens are opaque strings
(the reference checks only that one is present), it stores nothing, and it has no per-user limit.
"""

import contextlib
import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from topology.processes import free_port, port_open

SERVER = Path(__file__).resolve().parent / "node-reference" / "server.js"
PROCESSES = 2
START_TIMEOUT_SECONDS = 20


class NodeReference:
    name = "node"
    per_user_message_limit = float("inf")

    def __init__(self, subscribers: int, redis_port: int, ports: list[int], pids: dict[str, int]) -> None:
        self.run = uuid.uuid4().hex[:8]
        self.channel_id = f"bench-{self.run}"
        self.subscriber_tokens = [f"bench-{self.run}-sub-{n}" for n in range(subscribers)]
        self.redis_port = redis_port
        self.ports = ports
        self.pids = pids

    def senders(self, count: int) -> list[str]:
        return [f"bench-{self.run}-send-{n}" for n in range(count)]

    def generator_config(self) -> dict:
        return {
            "urls": [f"http://127.0.0.1:{port}" for port in self.ports],
            "path": "/api/socketio",
            "channelId": self.channel_id,
        }

    def cpu_groups(self) -> dict[str, list[int]]:
        return {name: [pid] for name, pid in self.pids.items()}

    def not_stored(self, acked_ids: set[str]) -> int:
        """Nothing is stored by design: the reference pays no persistence."""
        return 0


def _wait_listening(process: subprocess.Popen, what: str) -> None:
    line = process.stdout.readline()
    if not line or json.loads(line).get("event") != "listening":
        raise RuntimeError(f"{what} did not start (exit {process.poll()}): {line!r}; see its stderr above")


@contextlib.contextmanager
def running(subscribers: int, processes: int = PROCESSES) -> Iterator[NodeReference]:
    """Redis and `processes` reference servers, stopped (by their own pids) on exit."""
    redis_binary = shutil.which("redis-server")
    if redis_binary is None:
        raise FileNotFoundError(
            "redis-server is not installed: run `bash scripts/install-system-deps.sh redis-server`"
        )
    started: list[subprocess.Popen] = []
    try:
        redis_port = free_port()
        redis = subprocess.Popen(  # noqa: S603  # fixed argv
            [
                redis_binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(redis_port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        started.append(redis)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not port_open(redis_port):
            if redis.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server for the Node reference did not start on port {redis_port}")
            time.sleep(0.05)
        reference = NodeReference(subscribers, redis_port, [free_port() for _ in range(processes)], {})
        redis_url = f"redis://127.0.0.1:{redis_port}"
        for index, port in enumerate(reference.ports):
            # node from PATH, as for the generator; the argv is fixed.
            argv = ["node", str(SERVER), "--port", str(port), "--redis", redis_url]
            argv += ["--channel", reference.channel_id]
            server = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)  # noqa: S603
            started.append(server)
            _wait_listening(server, f"the Node reference on port {port}")
            reference.pids[f"node {index + 1}"] = server.pid
        reference.pids["redis (node's)"] = redis.pid
        yield reference
    finally:
        # Servers first, then their Redis: a server whose Redis vanishes first dies with ECONNRESET.
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
