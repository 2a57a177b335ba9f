"""Where a Relay replica's time goes under fan-out load: one bench step while py-spy records every
replica (py-spy is pinned in requirements-dev.txt and needs ptrace rights, which root has).

The recording covers the sending period only: it starts when the generators start sending and
lasts as long. `--idle` keeps the samples of a waiting event loop, so the idle share is visible;
`--nonblocking` does not pause the replica to sample it, at the price of an occasional torn stack.
The profiles go to reports/profile_relay-<time>-<replica>.<svg|json|txt>.

    .venv/bin/python -m loadtests.profile_relay --deliveries 8000 --topology own
    .venv/bin/python -m loadtests.profile_relay --format raw   # folded stacks, for grep and tools
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

from loadtests.bench_compare import relay_topology
from loadtests.bench_fanout import REPORTS, Audience, Plan, describe, run_step
from loadtests.cpu import CpuSampler

PY_SPY = str(Path(sys.executable).with_name("py-spy"))
SUFFIXES = {"flamegraph": "svg", "speedscope": "json", "raw": "txt"}


class ProfilingSampler(CpuSampler):
    """The CPU sampler of a step that also runs py-spy on each replica while the generators send."""

    def __init__(self, audience: Audience, seconds: float, output_format: str, prefix: Path) -> None:
        super().__init__(audience.cpu_groups())
        self.pids = audience.topology.replicas.pids()
        self.seconds, self.output_format, self.prefix = seconds, output_format, prefix
        self.outputs: list[Path] = []
        self.spies: list[subprocess.Popen] = []

    def start(self) -> None:
        for name, pid in self.pids.items():
            output = self.prefix.with_name(f"{self.prefix.name}-{name}.{SUFFIXES[self.output_format]}")
            argv = [PY_SPY, "record", "--pid", str(pid), "--duration", f"{self.seconds:.0f}"]
            argv += ["--rate", "100", "--nonblocking", "--idle", "--format", self.output_format]
            self.spies.append(subprocess.Popen([*argv, "--output", str(output)], stdout=subprocess.DEVNULL))  # noqa: S603
            self.outputs.append(output)
        super().start()

    def stop(self) -> dict[str, float]:
        cpu = super().stop()
        for spy in self.spies:
            if spy.wait() != 0:
                raise RuntimeError(f"py-spy failed (exit {spy.returncode}); see its message above")
        return cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.profile_relay", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--deliveries", type=float, default=8000, help="deliveries/s during the profile")
    parser.add_argument("--topology", choices=["up", "own"], default="up")
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--senders", type=int, default=30)
    parser.add_argument("--duration", type=float, default=15, help="seconds of sending, all profiled")
    parser.add_argument("--format", choices=sorted(SUFFIXES), default="flamegraph")
    args = parser.parse_args(argv)
    plan = Plan(args.subscribers, args.senders, 200, args.duration, 10, 2)
    REPORTS.mkdir(exist_ok=True)
    prefix = REPORTS / f"profile_relay-{time.strftime('%Y%m%dT%H%M%S')}"
    with relay_topology(args.topology) as topology:
        audience = Audience(topology, plan)
        sampler = ProfilingSampler(audience, args.duration, args.format, prefix)
        result = run_step(audience, plan, args.deliveries, sampler)
    print(describe(result))
    print("Profiles: " + ", ".join(str(output) for output in sampler.outputs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
