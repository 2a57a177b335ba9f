"""Fan-out benchmark of the local production topology (`make up`), through haproxy, over websocket.

One public channel, SUBSCRIBERS members spread over both replicas by the load balancer, SENDERS
members sending 200-byte messages at a fixed total rate; every message is persisted (the server
acks only after the commit) and the run checks afterwards that the channel holds every acked
message. Deliveries count receipts by subscribers only (senders' own copies excluded).

The load generator is the official Node client (loadtests/fanout/generator.js); its CPU time is
reported next to the servers' so a run can show the generator was not the bottleneck.

    .venv/bin/python -m loadtests.bench_fanout --deliveries 4000
    .venv/bin/python -m loadtests.bench_fanout --find-max --p99-limit-ms 250
"""

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from loadtests.cpu import CpuSampler, topology_processes
from relay.auth.minter import mint_token
from relay.settings import load_settings
from topology import Topology

GENERATOR = Path(__file__).resolve().parent / "fanout" / "generator.js"
REPORTS = Path(__file__).resolve().parent.parent / "reports"


@dataclass(frozen=True)
class Plan:
    subscribers: int
    senders: int
    payload_bytes: int
    duration_seconds: float
    drain_seconds: float


class Audience:
    """The channel and its members, made once and reused by every step of a run."""

    def __init__(self, topology: Topology, plan: Plan) -> None:
        os.environ.update(topology.relay_env())
        settings = load_settings()
        run = uuid.uuid4().hex[:8]
        self.topology = topology
        mint = lambda role, n: mint_token(settings, f"bench-{run}-{role}-{n}")  # noqa: E731
        self.subscriber_tokens = [mint("sub", n) for n in range(plan.subscribers)]
        self.sender_tokens = [mint("send", n) for n in range(plan.senders)]
        self.channel_id = self._create_channel(f"bench-{run}")

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


def run_step(topology: Topology, audience: Audience, plan: Plan, deliveries_per_second: float) -> dict:
    messages_per_second = deliveries_per_second / plan.subscribers
    config = {
        "url": topology.url,
        "path": "/api/socketio",
        "ca": str(topology.layout.ca_cert),
        "channelId": audience.channel_id,
        "subscriberTokens": audience.subscriber_tokens,
        "senderTokens": audience.sender_tokens,
        "ratePerSecond": messages_per_second,
        "durationSeconds": plan.duration_seconds,
        "payloadBytes": plan.payload_bytes,
        "drainSeconds": plan.drain_seconds,
    }
    sampler = CpuSampler(topology_processes(topology))
    generator = subprocess.Popen(  # noqa: S603  # fixed argv
        ["node", str(GENERATOR)],  # noqa: S607  # node from PATH, as npm installs the client for it
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    generator.stdin.write(json.dumps(config))
    generator.stdin.close()
    cpu, result = {}, None
    for line in generator.stdout:  # {"event": "sending"}, {"event": "sent"}, then the result
        record = json.loads(line)
        if record.get("event") == "sending":
            sampler.start()
        elif record.get("event") == "sent":
            cpu = sampler.stop()
        else:
            result = record
    if generator.wait(timeout=60) != 0 or result is None:
        raise RuntimeError(f"the generator failed (exit {generator.returncode}); see its stderr above")
    cpu["generator (node)"] = result.pop("generatorCores")
    stored = audience.stored_message_ids()
    acked = set(result.pop("ackedIds"))
    result["ackedButNotStored"] = len(acked - stored)
    result["targetDeliveriesPerSecond"] = deliveries_per_second
    result["messagesPerSecond"] = messages_per_second
    result["cpuCores"] = cpu
    return result


def describe(result: dict) -> str:
    latency = result["latencyMs"]
    cpu = ", ".join(f"{name} {cores:.2f}" for name, cores in result["cpuCores"].items())
    return (
        f"target {result['targetDeliveriesPerSecond']:>7.0f}/s  "
        f"delivered {result['deliveriesPerSecond']:>8.0f}/s  "
        f"lost {result['lost']}  dup {result['duplicates']}  send errors {result['errorCount']}  "
        f"not stored {result['ackedButNotStored']}  "
        f"p50 {latency['p50']:.1f} ms  p99 {latency['p99']:.1f} ms  max {latency['max']:.1f} ms\n"
        f"    CPU cores used: {cpu}"
    )


def passes(result: dict, p99_limit_ms: float) -> bool:
    clean = result["lost"] == 0 and result["errorCount"] == 0 and result["ackedButNotStored"] == 0
    return clean and result["latencyMs"]["p99"] is not None and result["latencyMs"]["p99"] <= p99_limit_ms


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtests.bench_fanout", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--senders", type=int, default=10)
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    topology = Topology.recorded()
    if not topology.running():
        print("bench_fanout: the local topology is not running; start it with `make up`", file=sys.stderr)
        return 2
    plan = Plan(args.subscribers, args.senders, args.payload_bytes, args.duration, args.drain)
    print(f"Setting up {plan.subscribers} subscribers and {plan.senders} senders in one channel...")
    audience = Audience(topology, plan)
    results, rate, best = [], args.deliveries, None
    while True:
        result = run_step(topology, audience, plan, rate)
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
