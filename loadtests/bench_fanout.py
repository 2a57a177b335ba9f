"""Fan-out benchmark of the local production topology (`make up`), through haproxy, over websocket.

One public channel, SUBSCRIBERS members spread over both replicas by the load balancer, senders
sending 200-byte messages at a fixed total rate; every message is persisted (the server acks only
after the commit) and the run checks afterwards that the channel holds every acked message.
Deliveries count receipts by subscribers only (senders' own copies excluded). Each step uses at
least --senders senders, and more when the rate needs them, so that no sender goes past
HEADROOM of the per-user message limit (RELAY_RATE_MESSAGES_PER_SECOND): the limit is never the
ceiling a run finds.

The load generator is the official Node client (loadtests/fanout/generator.js), in --generators
processes; their CPU time and event-loop delay are reported next to the servers' CPU so a run can
show the generator was not the bottleneck (loadtests/generators.py).

    .venv/bin/python -m loadtests.bench_fanout --deliveries 4000
    .venv/bin/python -m loadtests.bench_fanout --find-max --p99-limit-ms 250
"""

import argparse
import json
import math
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from loadtests import generators
from loadtests.cpu import CpuSampler, topology_processes
from loadtests.step_search import passes
from relay.auth.minter import mint_token
from relay.settings import load_settings
from topology import Topology

REPORTS = Path(__file__).resolve().parent.parent / "reports"

# The share of the per-user message limit a sender may use: senders tick evenly, but a late event
# loop makes a generator catch up in a burst, and the limit's bucket must absorb that.
HEADROOM = 0.8


@dataclass(frozen=True)
class Plan:
    subscribers: int
    senders: int
    payload_bytes: int
    duration_seconds: float
    drain_seconds: float
    generators: int


def senders_needed(messages_per_second: float, per_user_limit: float, minimum: int) -> int:
    """Senders enough that none of them sends more than HEADROOM of the per-user message limit."""
    return max(minimum, math.ceil(messages_per_second / (per_user_limit * HEADROOM)))


class Audience:
    """The channel and its members, made once and reused by every step of a run; senders are added
    as faster steps need them."""

    name = "relay"

    def __init__(self, topology: Topology, plan: Plan) -> None:
        os.environ.update(topology.relay_env())
        self.settings = load_settings()
        self.run = uuid.uuid4().hex[:8]
        self.topology = topology
        self.subscriber_tokens = [self._mint("sub", n) for n in range(plan.subscribers)]
        self.sender_tokens = [self._mint("send", n) for n in range(plan.senders)]
        self.channel_id = self._create_channel(f"bench-{self.run}")

    def _mint(self, role: str, n: int) -> str:
        return mint_token(self.settings, f"bench-{self.run}-{role}-{n}")

    @property
    def per_user_message_limit(self) -> float:
        return self.settings.rate_messages_per_second

    def senders(self, count: int) -> list[str]:
        """`count` sender tokens, all members of the channel."""
        if count > len(self.sender_tokens):
            added = [self._mint("send", n) for n in range(len(self.sender_tokens), count)]
            with self.topology.client() as http:
                for token in added:
                    self._post(http, f"/api/channels/{self.channel_id}/join", token)
            self.sender_tokens += added
        return self.sender_tokens[:count]

    def generator_config(self) -> dict:
        return {
            "url": self.topology.url,
            "path": "/api/socketio",
            "ca": str(self.topology.layout.ca_cert),
            "channelId": self.channel_id,
        }

    def cpu_groups(self) -> dict[str, list[int]]:
        return topology_processes(self.topology)

    def not_stored(self, acked_ids: set[str]) -> int:
        return len(acked_ids - self.stored_message_ids())

    def _post(self, http: httpx.Client, path: str, token: str, body: dict | None = None) -> httpx.Response:
        """POST that waits out the per-IP rate limit (set-up makes hundreds of calls from one IP)."""
        for _ in range(20):
            response = http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
            if response.status_code != 429:
                response.raise_for_status()
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))
        raise RuntimeError(f"POST {path} still rate limited after 20 tries")

    def _create_channel(self, name: str) -> str:
        owner, *members = self.sender_tokens + self.subscriber_tokens
        with self.topology.client() as http:
            channel = self._post(http, "/api/channels", owner, {"name": name}).json()
            for token in members:
                self._post(http, f"/api/channels/{channel['id']}/join", token)
        return channel["id"]

    def stored_message_ids(self) -> set[str]:
        """Every message the channel holds, paged with `after` as a reconnecting client would."""
        ids: set[str] = set()
        after = 0
        with self.topology.client() as http:
            while True:
                response = http.get(
                    f"/api/channels/{self.channel_id}/messages",
                    params={"after": after, "limit": 200},
                    headers={"Authorization": f"Bearer {self.sender_tokens[0]}"},
                )
                if response.status_code == 429:
                    time.sleep(float(response.headers.get("Retry-After", "1")))
                    continue
                response.raise_for_status()
                page = response.json()["messages"]
                if not page:
                    return ids
                ids.update(message["id"] for message in page)
                after = page[-1]["seq"]


def run_step(target, plan: Plan, deliveries_per_second: float, sampler: CpuSampler | None = None) -> dict:
    """One step at a fixed rate against `target` (an Audience, or bench_compare's Node reference):
    its generator config, tokens, CPU groups and a check that every acked message was stored.
    `sampler` runs while the generators send (default: CPU of the target's processes)."""
    messages_per_second = deliveries_per_second / plan.subscribers
    senders = target.senders(
        senders_needed(messages_per_second, target.per_user_message_limit, plan.senders)
    )
    config = {
        **target.generator_config(),
        "ratePerSecond": messages_per_second,
        "durationSeconds": plan.duration_seconds,
        "payloadBytes": plan.payload_bytes,
        "drainSeconds": plan.drain_seconds,
    }
    sampler = sampler or CpuSampler(target.cpu_groups())
    result = generators.run(config, target.subscriber_tokens, senders, plan.generators, sampler)
    result["ackedButNotStored"] = target.not_stored(set(result.pop("ackedIds")))
    result["targetDeliveriesPerSecond"] = deliveries_per_second
    result["messagesPerSecond"] = messages_per_second
    result["senders"] = len(senders)
    return result


def describe(result: dict) -> str:
    latency = result["latencyMs"]
    cpu = ", ".join(f"{name} {cores:.2f}" for name, cores in result["cpuCores"].items())
    delays = "/".join(f"{g['eventLoopDelayP99Ms']:.0f}" for g in result["generators"].values())
    return (
        f"target {result['targetDeliveriesPerSecond']:>7.0f}/s  "
        f"delivered {result['deliveriesPerSecond']:>8.0f}/s  "
        f"lost {result['lost']}  dup {result['duplicates']}  send errors {result['errorCount']}  "
        f"not stored {result['ackedButNotStored']}  "
        f"p50 {_ms(latency['p50'])}  p99 {_ms(latency['p99'])}  max {_ms(latency['max'])}  "
        f"senders {result['senders']}\n"
        f"    CPU cores used: {cpu}; generators' event-loop delay p99 {delays} ms"
        + ("\n    the generator was the bottleneck (CPU or event-loop delay)" * result["generatorBound"])
    )


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_fanout", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument(
        "--senders", type=int, default=10, help="the fewest senders; more when the rate needs them"
    )
    parser.add_argument("--payload-bytes", type=int, default=200)
    parser.add_argument("--duration", type=float, default=20, help="seconds of sending per step")
    parser.add_argument("--drain", type=float, default=10, help="seconds to wait for in-flight messages")
    parser.add_argument("--deliveries", type=float, default=4000, help="target deliveries/s (single step)")
    parser.add_argument("--p99-limit-ms", type=float, default=100, help="latency gate for a passing step")
    parser.add_argument(
        "--find-max",
        action="store_true",
        help="step the rate up from --deliveries by --step until a step fails the gate",
    )
    parser.add_argument("--step", type=float, default=2000, help="rate increment for --find-max")
    parser.add_argument("--generators", type=int, default=2, help="generator processes sharing a step")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    topology = Topology.recorded()
    if not topology.running():
        print("bench_fanout: the local topology is not running; start it with `make up`", file=sys.stderr)
        return 2
    plan = Plan(
        args.subscribers, args.senders, args.payload_bytes, args.duration, args.drain, args.generators
    )
    print(f"Setting up {plan.subscribers} subscribers and {plan.senders} senders in one channel...")
    audience = Audience(topology, plan)
    results, rate, best = [], args.deliveries, None
    while True:
        result = run_step(audience, plan, rate)
        results.append(result)
        ok = passes(result, args.p99_limit_ms)
        print(("PASS " if ok else "FAIL ") + describe(result), flush=True)
        if ok:
            best = result
        if not (args.find_max and ok):
            break
        rate += args.step
    REPORTS.mkdir(exist_ok=True)
    report = REPORTS / f"bench_fanout-{time.strftime('%Y%m%dT%H%M%S')}.json"
    report.write_text(json.dumps({"plan": vars(args), "steps": results}, indent=2))
    if best is None:
        print(f"No step met the gate (0 loss, p99 <= {args.p99_limit_ms:g} ms). Report: {report}")
        return 1
    print(f"Highest passing rate: {best['deliveriesPerSecond']:.0f} deliveries/s "
          f"(p99 {best['latencyMs']['p99']:.1f} ms). Report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
