"""Merging the reports of several generator processes into one step result (recorded reports)."""

import pytest

from loadtests.generators import GENERATOR_CORE_LIMIT, GENERATOR_LOOP_DELAY_LIMIT_MS, merge, percentile, split


def report(acked: list[str], receipts: dict[str, int], subscribers: int, **overrides) -> dict:
    return {
        "sent": len(acked),
        "subscribers": subscribers,
        "ackedIds": acked,
        "errors": [],
        "errorCount": 0,
        "receipts": receipts,
        "duplicates": 0,
        "disconnects": [],
        "perSecond": [sum(receipts.values())],
        "latencyTenthsMs": {"100": sum(receipts.values())},
        "generatorCores": 0.2,
        "eventLoopDelayMs": {"p99": 1.0, "max": 3.0},
    } | overrides


def test_tokens_are_shared_round_robin() -> None:
    assert split(["a", "b", "c", "d", "e"], 2) == [["a", "c", "e"], ["b", "d"]]
    assert split(["a"], 2) == [["a"], []]


def test_percentiles_come_from_the_merged_histogram_in_milliseconds() -> None:
    histogram = {50: 98, 1000: 1, 2500: 1}  # 5 ms x98, 100 ms, 250 ms
    assert percentile(histogram, 50) == 5.0
    assert percentile(histogram, 99) == 100.0
    assert percentile(histogram, 100) == 250.0
    assert percentile({}, 99) is None


def test_a_message_counts_once_per_subscriber_of_every_generator() -> None:
    first = report(["m1", "m2"], {"m1": 3, "m2": 3, "m3": 3}, subscribers=3)
    second = report(["m3"], {"m1": 2, "m2": 2, "m3": 2}, subscribers=2)
    result = merge([first, second], duration_seconds=2)
    assert result["acked"] == 3
    assert result["expectedDeliveries"] == 15
    assert result["delivered"] == 15
    assert result["lost"] == 0
    assert result["deliveriesPerSecond"] == 7.5
    assert result["perSecond"] == [15]
    assert result["latencyMs"]["p99"] == 10.0
    assert not result["generatorBound"]


def test_a_subscriber_of_another_generator_that_missed_a_message_is_a_loss() -> None:
    first = report(["m1", "m2"], {"m1": 3, "m2": 3}, subscribers=3)
    second = report([], {"m1": 2, "m2": 1}, subscribers=2)
    assert merge([first, second], duration_seconds=1)["lost"] == 1


@pytest.mark.parametrize(
    "load",
    [
        {"generatorCores": GENERATOR_CORE_LIMIT + 0.01},
        {"eventLoopDelayMs": {"p99": GENERATOR_LOOP_DELAY_LIMIT_MS + 1, "max": 90.0}},
    ],
)
def test_a_busy_or_late_generator_marks_the_step(load: dict) -> None:
    calm = report(["m1"], {"m1": 1}, subscribers=1)
    busy = report([], {"m1": 1}, subscribers=1, **load)
    result = merge([calm, busy], duration_seconds=1)
    assert result["generatorBound"]
    assert set(result["generators"]) == {"generator 1", "generator 2"}
