"""Relay against a Node socket.io reference, with the same generator, in alternating rounds.

Relay runs as it serves users: through haproxy with TLS, two replicas, every message persisted
before its ack (bench_fanout's Audience). The reference is socket.io 4.8 with
@socket.io/redis-adapter, two processes on a Redis of its own, no TLS, no load balancer and no
storage (loadtests/node_reference.py). Each round finds each target's highest rate with 0 loss and
p99 within the gate (loadtests/step_search.py) and measures both at --reference-rate; the order
alternates between rounds so that a drift in the machine's load does not favour one side. The run
prints every step, each round, the medians, the spread, the ratio Relay/Node, p99 and CPU per
delivery at the reference rate, and writes everything to reports/bench_compare-<time>.json.

    .venv/bin/python -m loadtests.bench_compare                   # against `make up`, 3 rounds
    .venv/bin/python -m loadtests.bench_compare --topology own    # its own topology on free ports
"""

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from loadtests import node_reference
from loadtests.bench_fanout import REPORTS, Audience, Plan, describe, run_step
from loadtests.generators import GENERATOR_CORE_LIMIT
from loadtests.step_search import cpu_per_delivery_us, find_highest, passes, summarise
from topology import Ports, Topology, database

# The generator opens hundreds of sockets from one address; Relay's handshake budget per IP must
# allow that (README, "Performance"). Applied to a topology this command starts itself.
# A comparison is the median of at least this many alternating rounds (issue 13).
MIN_ROUNDS = 3
HANDSHAKE_BUDGET = {"RELAY_RATE_HANDSHAKES_PER_SECOND": "1000", "RELAY_RATE_HANDSHAKES_BURST": "1000"}


@contextlib.contextmanager
def relay_topology(kind: str) -> Iterator[Topology]:
    """`make up`'s topology, or one of our own on free ports (as tests/utils/topologies.py builds)."""
    if kind == "up":
        topology = Topology.recorded()
        if not topology.running():
            raise SystemExit("bench_compare: the local topology is not running; start it with `make up`")
        yield topology
        return
    for name, value in HANDSHAKE_BUDGET.items():
        os.environ.setdefault(name, value)
    ports = Ports.on_free_ports(postgres=Ports.from_env().postgres)
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as workdir:
        topology = Topology(
            ports=ports,
            workdir=Path(workdir),
            database=f"bench_compare_{uuid.uuid4().hex[:12]}",
            drain_seconds=0,
        )
        try:
            topology.start()
            yield topology
        finally:
            topology.stop()
            database.drop(ports, topology.database)


class Runner:
    """Runs steps, adding a generator process when one used up its core. A generator that is late
    without being busy waits for a core the machine gives to others: another process would not
    help, so that step keeps its mark and the run goes on."""

    def __init__(self, plan: Plan, max_generators: int) -> None:
        self.plan, self.max_generators = plan, max_generators

    def step(self, target, rate: float) -> dict:
        while True:
            started = time.monotonic()
            result = run_step(target, self.plan, rate)
            result["target"], result["generatorProcesses"] = target.name, self.plan.generators
            result["loadAverage"], result["wallSeconds"] = os.getloadavg(), time.monotonic() - started
            print(f"  {target.name:<5} " + describe(result), flush=True)
            busiest = max(g["cores"] for g in result["generators"].values())
            if busiest <= GENERATOR_CORE_LIMIT or self.plan.generators >= self.max_generators:
                return result
            self.plan = Plan(**{**vars(self.plan), "generators": self.plan.generators + 1})
            print(f"  a generator used its whole core: again with {self.plan.generators} generator processes")


def warm_up(target, plan: Plan, args: argparse.Namespace) -> dict:
    """A short step at the reference rate, not counted: a fresh server prepares its statements,
    fills its pools and caches on the first messages, which would otherwise land in the first
    round's p99 of whichever target goes first."""
    result = run_step(target, Plan(**{**vars(plan), "duration_seconds": args.warmup}), args.reference_rate)
    print(f"  {target.name:<5} warm-up: " + describe(result), flush=True)
    return result


def run_round(runner: Runner, targets: list, args: argparse.Namespace) -> dict:
    searches, reference = {}, {}
    for target in targets:
        search = find_highest(
            lambda rate, target=target: runner.step(target, rate),
            lambda result: passes(result, args.p99_limit_ms),
            start=args.start,
            factor=args.factor,
            refinements=args.refinements,
            ceiling=args.max_deliveries,
        )
        searches[target.name] = search
        reference[target.name] = runner.step(target, args.reference_rate)
        print(
            f"  {target.name}: highest passing {search.best_rate:,.0f} deliveries/s "
            f"(limited by {search.limited_by})",
            flush=True,
        )
    return {
        "highest": {name: search.best_rate for name, search in searches.items()},
        "limitedBy": {name: search.limited_by for name, search in searches.items()},
        "steps": {name: search.steps for name, search in searches.items()},
        "reference": reference,
    }


def reference_figures(rounds: list[dict], name: str) -> dict:
    """Median p99 and CPU per delivery of each process group at the reference rate, over rounds
    (a group absent from a round, such as a generator added later, counts over the rounds it ran)."""
    results = [round_["reference"][name] for round_ in rounds]
    p99s = [r["latencyMs"]["p99"] for r in results if r["latencyMs"]["p99"] is not None]
    cpu = [cpu_per_delivery_us(result) for result in results]
    groups = dict.fromkeys(group for per_round in cpu for group in per_round)
    return {
        "p99Ms": statistics.median(p99s) if p99s else None,
        "noLoss": [passes(r, float("inf")) for r in results],
        "cpuMicrosecondsPerDelivery": {
            group: statistics.median(c[group] for c in cpu if group in c) for group in groups
        },
    }


def print_summary(summary: dict, reference_rate: float) -> None:
    print("\nHighest passing rate (deliveries/s) over the rounds:")
    for name, figures in summary["targets"].items():
        print(
            f"  {name:<5} median {figures['median']:>9,.0f}  min {figures['min']:>9,.0f}  "
            f"max {figures['max']:>9,.0f}  spread {figures['spreadPercent'] or 0:.0f}%"
        )
    ratio = "-" if summary["ratio"] is None else f"{summary['ratio']:.2f}"
    per_round = ", ".join("-" if r is None else f"{r:.2f}" for r in summary["ratioPerRound"])
    print(f"  ratio Relay/Node of the medians: {ratio} (per round: {per_round})")
    if summary["generatorBoundSteps"]:
        print(
            f"  WARNING: the generator was the limit in {summary['generatorBoundSteps']} steps (its CPU or "
            "event-loop delay): their latency is partly the generator's; see the steps above"
        )
    for name, figures in summary["atReferenceRate"].items():
        cpu = ", ".join(f"{group} {us:.1f}" for group, us in figures["cpuMicrosecondsPerDelivery"].items())
        p99 = "-" if figures["p99Ms"] is None else f"{figures['p99Ms']:.1f} ms"
        print(f"  at {reference_rate:,.0f}/s {name}: p99 {p99} (median); CPU µs per delivery: {cpu}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_compare", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rounds", type=int, default=MIN_ROUNDS)
    parser.add_argument(
        "--topology",
        choices=["up", "own"],
        default="up",
        help="up: the running `make up`; own: start one on free ports",
    )
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument(
        "--senders", type=int, default=30, help="the fewest senders; more when the rate needs them"
    )
    parser.add_argument("--payload-bytes", type=int, default=200)
    parser.add_argument("--duration", type=float, default=8, help="seconds of sending per step")
    parser.add_argument("--drain", type=float, default=10, help="seconds to wait for in-flight messages")
    parser.add_argument("--p99-limit-ms", type=float, default=250)
    parser.add_argument(
        "--start", type=float, default=12_000, help="first rate of each search (deliveries/s)"
    )
    parser.add_argument("--factor", type=float, default=1.6, help="rate multiplier between steps")
    parser.add_argument("--refinements", type=int, default=2, help="bisections after the first failure")
    parser.add_argument("--max-deliveries", type=float, default=400_000, help="the search stops here")
    parser.add_argument(
        "--reference-rate", type=float, default=4000, help="rate for p99 and CPU per delivery"
    )
    parser.add_argument(
        "--warmup", type=float, default=5, help="seconds of an uncounted first step (0: none)"
    )
    parser.add_argument("--generators", type=int, default=2, help="generator processes to start with")
    parser.add_argument("--max-generators", type=int, default=4)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    plan = Plan(
        args.subscribers, args.senders, args.payload_bytes, args.duration, args.drain, args.generators
    )
    runner = Runner(plan, args.max_generators)
    started, load_before = time.monotonic(), os.getloadavg()
    rounds = []
    with relay_topology(args.topology) as topology, node_reference.running(args.subscribers) as node:
        print(
            f"Setting up {plan.subscribers} subscribers and {plan.senders}+ senders in one Relay channel..."
        )
        relay = Audience(topology, plan)
        warmups = [warm_up(target, plan, args) for target in (relay, node)] if args.warmup else []
        for number in range(1, args.rounds + 1):
            order = [relay, node] if number % 2 else [node, relay]
            print(
                f"Round {number}/{args.rounds} ({' then '.join(t.name for t in order)}), "
                f"load average {os.getloadavg()[0]:.1f}",
                flush=True,
            )
            rounds.append(run_round(runner, order, args))
    summary = summarise([round_["highest"] for round_ in rounds], "relay", "node")
    summary["atReferenceRate"] = {name: reference_figures(rounds, name) for name in ("relay", "node")}
    summary["generatorBoundSteps"] = sum(
        step["generatorBound"] for round_ in rounds for steps in round_["steps"].values() for step in steps
    )
    print_summary(summary, args.reference_rate)
    elapsed, load_after = time.monotonic() - started, os.getloadavg()
    print(
        f"{args.rounds} rounds in {elapsed / 60:.1f} min; load average (1/5/15 min) "
        f"before {load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f}, "
        f"after {load_after[0]:.1f}/{load_after[1]:.1f}/{load_after[2]:.1f}"
    )
    REPORTS.mkdir(exist_ok=True)
    report = REPORTS / f"bench_compare-{time.strftime('%Y%m%dT%H%M%S')}.json"
    report.write_text(
        json.dumps(
            {
                "plan": vars(args),
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "cpuCount": os.cpu_count(),
                "loadAverage": {"before": load_before, "after": load_after},
                "elapsedSeconds": elapsed,
                "warmups": warmups,
                "summary": summary,
                "rounds": rounds,
            },
            indent=2,
        )
    )
    print(f"Report: {report}")
    if args.rounds < MIN_ROUNDS:
        print(f"Fewer than {MIN_ROUNDS} rounds: a check that the tool runs, not a comparison.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
