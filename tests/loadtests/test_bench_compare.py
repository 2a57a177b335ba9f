"""bench_compare's figures at the reference rate, from recorded rounds (no machine timing)."""

import pytest

from loadtests.bench_compare import reference_figures


def reference_step(p99: float | None, cores: dict[str, float], lost: int = 0) -> dict:
    return {
        "deliveriesPerSecond": 4000,
        "lost": lost,
        "errorCount": 0,
        "ackedButNotStored": 0,
        "latencyMs": {"p99": p99},
        "cpuCores": cores,
    }


def test_median_p99_and_cpu_per_delivery_over_rounds_with_a_generator_added_later() -> None:
    rounds = [
        {"reference": {"relay": reference_step(20.0, {"replica r1": 0.2, "generator 1": 0.1})}},
        {
            "reference": {
                "relay": reference_step(40.0, {"replica r1": 0.4, "generator 1": 0.1, "generator 2": 0.1})
            }
        },
        {"reference": {"relay": reference_step(None, {"replica r1": 0.3, "generator 1": 0.1}, lost=3)}},
    ]
    figures = reference_figures(rounds, "relay")
    assert figures["p99Ms"] == 30.0
    assert figures["noLoss"] == [True, True, False]
    assert figures["cpuMicrosecondsPerDelivery"] == pytest.approx(
        {"replica r1": 75.0, "generator 1": 25.0, "generator 2": 25.0}
    )


def test_no_p99_in_any_round_is_reported_as_none() -> None:
    rounds = [{"reference": {"node": reference_step(None, {"node 1": 0.1})}}]
    assert reference_figures(rounds, "node")["p99Ms"] is None
