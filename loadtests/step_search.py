"""The arithmetic of `make bench-compare`, apart from the machine: find a target's highest passing
rate with few steps, and summarise rounds into medians, spread and the ratio.

A step passes with 0 loss, no send errors, every acked message stored, and p99 within the limit.
Steps grow by a factor until one fails, then the gap between the last pass and that failure is
halved a few times: at a factor of 1.6 and 2 refinements the answer is within 15% of the true
ceiling in about half the steps of a fixed increment.
"""

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Rates are rounded to this many deliveries/s, so reports read as the steps that were asked for.
RATE_GRAIN = 100


def passes(result: dict, p99_limit_ms: float) -> bool:
    clean = result["lost"] == 0 and result["errorCount"] == 0 and result["ackedButNotStored"] == 0
    p99 = result["latencyMs"]["p99"]
    return clean and p99 is not None and p99 <= p99_limit_ms


@dataclass
class Search:
    """The steps of one target in one round, and what limited it."""

    steps: list[dict] = field(default_factory=list)
    best: dict | None = None
    # "gate": a step failed the gate; "ceiling": --max-deliveries passed; "generator": the failing
    # step was limited by the generator, so the figure is a floor, not the server's ceiling.
    limited_by: str = "gate"

    @property
    def best_rate(self) -> float:
        return self.best["deliveriesPerSecond"] if self.best else 0.0


def _grain(rate: float) -> float:
    return max(RATE_GRAIN, round(rate / RATE_GRAIN) * RATE_GRAIN)


def find_highest(
    run_step: Callable[[float], dict],
    ok: Callable[[dict], bool],
    *,
    start: float,
    factor: float,
    refinements: int,
    ceiling: float,
) -> Search:
    """Step up from `start` by `factor` until a step fails (or passes `ceiling`), then bisect."""
    search = Search()

    def attempt(rate: float) -> bool:
        result = run_step(rate)
        search.steps.append(result)
        passed = ok(result)
        if passed and (search.best is None or result["deliveriesPerSecond"] > search.best_rate):
            search.best = result
        if not passed:
            search.limited_by = "generator" if result.get("generatorBound") else "gate"
        return passed

    low, high, rate = 0.0, None, _grain(start)
    while rate <= ceiling:
        if not attempt(rate):
            high = rate
            break
        low, rate = rate, _grain(rate * factor)
    if high is None:
        search.limited_by = "ceiling"
        return search
    for _ in range(refinements):
        middle = _grain((low + high) / 2)
        if middle in (low, high):
            break
        if attempt(middle):
            low = middle
        else:
            high = middle
    return search


def spread(values: Sequence[float]) -> dict:
    """Median, range, and the range as a share of the median."""
    median = statistics.median(values)
    low, high = min(values), max(values)
    return {
        "median": median,
        "min": low,
        "max": high,
        "spreadPercent": 100 * (high - low) / median if median else None,
    }


def summarise(rounds: Sequence[dict[str, float]], numerator: str, denominator: str) -> dict:
    """Per target the median and spread of the highest passing rates over the rounds, and the ratio
    of the medians (also per round, as both targets ran in the same sitting)."""
    targets = {name: spread([round_[name] for round_ in rounds]) for name in rounds[0]}
    bottom = targets[denominator]["median"]
    return {
        "targets": targets,
        "ratio": targets[numerator]["median"] / bottom if bottom else None,
        "ratioPerRound": [
            round_[numerator] / round_[denominator] if round_[denominator] else None for round_ in rounds
        ],
    }


def cpu_per_delivery_us(result: dict) -> dict[str, float]:
    """Microseconds of CPU each process group spent per delivery during a step."""
    rate = result["deliveriesPerSecond"]
    return {name: cores * 1e6 / rate for name, cores in result["cpuCores"].items()} if rate else {}
