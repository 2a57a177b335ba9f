"""One benchmark step driven by one or more generator processes (loadtests/fanout/generator.js).

One Node process has one core: at high rates a single generator can become the limit instead of the
server. So a step can split its subscribers, senders and rate over several processes, start them
sending together, and merge what they report. Each generator reports its own CPU and event-loop
delay while sending; a step where either is high is marked `generatorBound`, because its latency
then says more about the generator than about the server.
"""

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

from loadtests.cpu import CpuSampler

GENERATOR = Path(__file__).resolve().parent / "fanout" / "generator.js"

# A generator using more than this share of its one core, or whose event loop is late by more than
# this at p99, cannot be trusted to send on time and to timestamp receipts when they arrive.
GENERATOR_CORE_LIMIT = 0.8
GENERATOR_LOOP_DELAY_LIMIT_MS = 50.0


def split(tokens: Sequence[str], parts: int) -> list[list[str]]:
    """Round-robin shares, so every generator gets subscribers on every server process."""
    return [list(tokens[index::parts]) for index in range(parts)]


def percentile(histogram: dict[int, int], p: float) -> float | None:
    """The p-th percentile (nearest rank) of a histogram of tenths of a millisecond, in ms."""
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, -(-p * total // 100))  # ceil(p/100 * total), at least the first sample
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket / 10
    raise AssertionError("unreachable: the ranks cover the histogram")


def merge(reports: Sequence[dict], duration_seconds: float) -> dict:
    """One step's result from every generator's report: receipts summed per message id, so a message
    counts as delivered once per subscriber of any generator that received it."""
    acked = [message_id for report in reports for message_id in report["ackedIds"]]
    receipts: dict[str, int] = {}
    histogram: dict[int, int] = {}
    per_second: list[int] = []
    for report in reports:
        for message_id, count in report["receipts"].items():
            receipts[message_id] = receipts.get(message_id, 0) + count
        for bucket, count in report["latencyTenthsMs"].items():
            histogram[int(bucket)] = histogram.get(int(bucket), 0) + count
        for second, count in enumerate(report["perSecond"]):
            per_second.extend([0] * (second + 1 - len(per_second)))
            per_second[second] += count
    subscribers = sum(report["subscribers"] for report in reports)
    delivered = sum(receipts.get(message_id, 0) for message_id in acked)
    expected = len(acked) * subscribers
    generators = {
        f"generator {index + 1}": {
            "cores": report["generatorCores"],
            "eventLoopDelayP99Ms": report["eventLoopDelayMs"]["p99"],
        }
        for index, report in enumerate(reports)
    }
    return {
        "sent": sum(report["sent"] for report in reports),
        "acked": len(acked),
        "ackedIds": acked,
        "errors": [error for report in reports for error in report["errors"]][:20],
        "errorCount": sum(report["errorCount"] for report in reports),
        "expectedDeliveries": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "duplicates": sum(report["duplicates"] for report in reports),
        "disconnects": [d for report in reports for d in report["disconnects"]],
        "deliveriesPerSecond": delivered / duration_seconds,
        "perSecond": per_second,
        "latencyMs": {
            "p50": percentile(histogram, 50),
            "p90": percentile(histogram, 90),
            "p99": percentile(histogram, 99),
            "max": max(histogram) / 10 if histogram else None,
        },
        "generators": generators,
        "generatorBound": any(
            g["cores"] > GENERATOR_CORE_LIMIT or g["eventLoopDelayP99Ms"] > GENERATOR_LOOP_DELAY_LIMIT_MS
            for g in generators.values()
        ),
    }


def _read_event(generator: subprocess.Popen, expected: str) -> None:
    line = generator.stdout.readline()
    if not line:
        raise RuntimeError(
            f"a generator exited (code {generator.wait()}) before {expected!r}; see its stderr"
        )
    record = json.loads(line)
    if record.get("event") != expected:
        raise RuntimeError(f"a generator said {record} where {expected!r} was expected")


def run(
    config: dict,
    subscriber_tokens: Sequence[str],
    sender_tokens: Sequence[str],
    processes: int,
    sampler: CpuSampler,
) -> dict:
    """Run one step with `processes` generators sharing the tokens and config["ratePerSecond"];
    `sampler` measures the servers' CPU while they send."""
    subscribers, senders = split(subscriber_tokens, processes), split(sender_tokens, processes)
    generators = []
    try:
        for index in range(processes):
            share = {
                **config,
                "subscriberTokens": subscribers[index],
                "senderTokens": senders[index],
                "ratePerSecond": config["ratePerSecond"] * len(senders[index]) / len(sender_tokens),
            }
            generator = subprocess.Popen(  # noqa: S603  # fixed argv
                ["node", str(GENERATOR)],  # noqa: S607  # node from PATH, as npm installs the client for it
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            generator.stdin.write(json.dumps(share) + "\n")
            generator.stdin.flush()
            generators.append(generator)
        for generator in generators:
            _read_event(generator, "ready")
        for generator in generators:
            generator.stdin.write("go\n")
            generator.stdin.close()
        for generator in generators:
            _read_event(generator, "sending")
        sampler.start()
        for generator in generators:
            _read_event(generator, "sent")
        cpu = sampler.stop()
        reports = [json.loads(generator.stdout.readline() or "null") for generator in generators]
        for generator in generators:
            if generator.wait(timeout=60) != 0:
                raise RuntimeError(f"a generator failed (exit {generator.returncode}); see its stderr above")
    finally:
        for generator in generators:
            if generator.poll() is None:
                generator.kill()
                generator.wait()
    if None in reports:
        raise RuntimeError("a generator exited without its result; see its stderr above")
    result = merge(reports, config["durationSeconds"])
    result["cpuCores"] = {**cpu, **{name: g["cores"] for name, g in result["generators"].items()}}
    return result
