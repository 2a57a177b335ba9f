"""Where the CPU goes during tests/security/test_flood_latency.py: each process's CPU time, read at
every window boundary of the flood plan and summed by phase (quiet or flooded), so what a flood
costs haproxy, each replica, Redis, Postgres and the attacker itself shows next to the latency it
causes.

The machine is shared (other suites, other topologies), so its own busy time is read too: "other"
is what no process of the run accounts for.
"""

import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil

from tests.security.flood import FloodPlan

MACHINE, OTHER = "machine", "other"
BUSY = ("user", "nice", "system", "irq", "softirq")
Processes = Callable[[], list[psutil.Process]]  # listed anew at each read: Postgres backends come and go


def _cpu_seconds(process: psutil.Process) -> float | None:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return None
    return times.user + times.system


@dataclass
class PhaseCpu:
    """CPU seconds per name and phase; `watch` reads them in a thread at the plan's window boundaries."""

    plan: FloodPlan
    processes: dict[str, Processes]
    seconds: dict[str, dict[str, float]] = field(
        default_factory=lambda: {"quiet": defaultdict(float), "flood": defaultdict(float)}
    )

    def _read(self) -> dict[str, dict[int, float]]:
        """CPU seconds by name and pid; the machine's busy time under pid 0."""
        machine = psutil.cpu_times()
        readings = {MACHINE: {0: sum(getattr(machine, part, 0.0) for part in BUSY)}}
        for name, listed in self.processes.items():
            by_pid = {process.pid: _cpu_seconds(process) for process in listed()}
            readings[name] = {pid: seconds for pid, seconds in by_pid.items() if seconds is not None}
        return readings

    def _run(self) -> None:
        previous: dict[str, dict[int, float]] | None = None
        for boundary in range(self.plan.windows + 1):
            time.sleep(max(0.0, self.plan.start + boundary * self.plan.window_seconds - time.time()))
            now = self._read()
            if previous is not None:
                phase = "flood" if boundary % 2 == 0 else "quiet"  # window boundary-1 just ended
                for name, by_pid in now.items():
                    # A process that started within the window counts from zero; one that ended
                    # within it loses what it used since the last read.
                    before = previous.get(name, {})
                    self.seconds[phase][name] += sum(s - before.get(pid, 0.0) for pid, s in by_pid.items())
            previous = now

    def watch(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="phase-cpu", daemon=True)
        thread.start()
        return thread

    def percent_of_a_core(self) -> dict[str, dict[str, float]]:
        """Mean CPU use over each phase, 100 = one core busy (the machine has psutil.cpu_count())."""
        phase_seconds = self.plan.window_seconds * self.plan.windows / 2
        report: dict[str, dict[str, float]] = {}
        for phase, by_name in self.seconds.items():
            named = sum(value for name, value in by_name.items() if name != MACHINE)
            shares = {**by_name, OTHER: by_name[MACHINE] - named}
            report[phase] = {name: round(100 * value / phase_seconds) for name, value in shares.items()}
        return report
