"""CPU used by each process of the topology during a benchmark step, so a report can show where the
cores went and that the load generator was not the bottleneck."""

import csv
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from topology import Topology


def _listener_pids(port: int) -> list[int]:
    return [
        conn.pid
        for conn in psutil.net_connections(kind="tcp")
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid
    ]


def topology_processes(topology: Topology) -> dict[str, list[int]]:
    """Named groups of pids: each replica, haproxy, Redis, and every PostgreSQL process."""
    groups = {f"replica {name}": [pid] for name, pid in topology.replicas.pids().items()}
    groups["haproxy"] = [c.pid for c in topology.components() if c.name == "haproxy" and c.pid]
    groups["redis"] = _listener_pids(topology.ports.redis)
    groups["postgres"] = [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]
    groups["moto"] = [c.pid for c in topology.components() if c.name == "moto_server" and c.pid]
    return groups


class CpuSampler:
    """Cores used per group between start() and stop() (CPU seconds / wall seconds)."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = dict(groups)

    def _cpu_seconds(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for name, pids in self.groups.items():
            total = 0.0
            for pid in pids:
                try:
                    times = psutil.Process(pid).cpu_times()
                except psutil.NoSuchProcess:
                    continue
                total += times.user + times.system
            totals[name] = total
        return totals

    def start(self) -> None:
        self.started_at, self.before = time.monotonic(), self._cpu_seconds()

    def stop(self) -> dict[str, float]:
        after, elapsed = self._cpu_seconds(), time.monotonic() - self.started_at
        return {name: max(0.0, after[name] - self.before.get(name, 0.0)) / elapsed for name in after}


class CpuRecorder:
    """Cores used per group, every `interval` seconds for a whole load run, in a CSV: a capacity run
    shows which process saturates first, and whether each locust process stayed under its core.

    `groups` is called at every sample, so processes that start late (locust's workers) are counted."""

    def __init__(
        self, groups: Callable[[], dict[str, list[int]]], path: Path, interval: float = 10.0
    ) -> None:
        self._groups, self._path, self._interval = groups, path, interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._record, name="cpu-recorder", daemon=True)
        self.rows: list[tuple[float, str, float]] = []

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=self._interval + 5)

    def _record(self) -> None:
        started = time.monotonic()
        with self._path.open("w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["elapsed_s", "group", "cores"])
            while True:
                sampler = CpuSampler(self._groups())
                sampler.start()
                if self._stopped.wait(self._interval):
                    return
                elapsed = round(time.monotonic() - started, 1)
                for name, cores in sorted(sampler.stop().items()):
                    self.rows.append((elapsed, name, cores))
                    writer.writerow([elapsed, name, f"{cores:.3f}"])
                out.flush()

    def summary(self, since_seconds: float = 0.0) -> dict[str, tuple[float, float]]:
        """(mean, max) cores per group over the samples taken after `since_seconds`."""
        by_group: dict[str, list[float]] = {}
        for elapsed, name, cores in self.rows:
            if elapsed > since_seconds:
                by_group.setdefault(name, []).append(cores)
        return {name: (statistics.fmean(values), max(values)) for name, values in by_group.items()}


def locust_processes(root_pid: int) -> dict[str, list[int]]:
    """The locust master and each worker process (--processes forks them), one group each."""
    try:
        root = psutil.Process(root_pid)
        children = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return {}
    groups = {"locust": [root_pid]}
    for index, child in enumerate(sorted(children, key=lambda process: process.pid), start=1):
        groups[f"locust worker {index}"] = [child.pid]
    return groups
