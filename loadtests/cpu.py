"""CPU used by each process of the topology during a benchmark step, so a report can show where the
cores went and that the load generator was not the bottleneck."""

import time

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
