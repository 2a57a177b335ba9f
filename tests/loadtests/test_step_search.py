"""The step search and the summary of `make bench-compare` on recorded results (no machine timing)."""

import pytest

from loadtests.step_search import cpu_per_delivery_us, find_highest, passes, spread, summarise


def recorded(rate: float, *, p99: float = 50.0, lost: int = 0, generator_bound: bool = False) -> dict:
    return {
        "targetDeliveriesPerSecond": rate,
        "deliveriesPerSecond": rate,
        "lost": lost,
        "errorCount": 0,
        "ackedButNotStored": 0,
        "latencyMs": {"p99": p99},
        "generatorBound": generator_bound,
        "cpuCores": {},
    }


class Server:
    """A server with a fixed ceiling: steps above it miss the p99 gate, and each asked rate is kept.
    Above `generator_bound_above` the generator is the limit: those steps miss the gate too."""

    def __init__(self, ceiling: float, *, generator_bound_above: float | None = None) -> None:
        self.ceiling, self.generator_bound_above, self.asked = ceiling, generator_bound_above, []

    def step(self, rate: float) -> dict:
        self.asked.append(rate)
        bound = self.generator_bound_above is not None and rate > self.generator_bound_above
        late = rate > self.ceiling or bound
        return recorded(rate, p99=400.0 if late else 100.0, generator_bound=bound)


def search(server: Server, **overrides):
    options = {"start": 10_000, "factor": 1.6, "refinements": 2, "ceiling": 400_000} | overrides
    return find_highest(server.step, lambda r: passes(r, 250), **options)


def test_steps_up_by_the_factor_then_bisects_between_the_last_pass_and_the_first_failure() -> None:
    server = Server(ceiling=50_000)
    result = search(server)
    assert server.asked == [10_000, 16_000, 25_600, 41_000, 65_600, 53_300, 47_200]
    assert result.best_rate == 47_200
    assert result.limited_by == "gate"
    assert len(result.steps) == len(server.asked)


def test_the_answer_is_within_the_last_bisection_of_the_true_ceiling() -> None:
    for ceiling in (12_345, 33_000, 98_765, 150_000):
        result = search(Server(ceiling), refinements=4)
        assert 0.9 * ceiling <= result.best_rate <= ceiling, (ceiling, result.best_rate)


def test_a_first_step_that_fails_bisects_down_from_it() -> None:
    server = Server(ceiling=4_000)
    result = search(server, refinements=3)
    assert server.asked == [10_000, 5_000, 2_500, 3_800]
    assert result.best_rate == 3_800


def test_nothing_passing_gives_zero_and_no_best_step() -> None:
    result = search(Server(ceiling=0), refinements=2)
    assert result.best is None
    assert result.best_rate == 0


def test_the_search_stops_at_the_ceiling_and_says_so() -> None:
    server = Server(ceiling=10**9)
    result = search(server, ceiling=30_000)
    assert server.asked == [10_000, 16_000, 25_600]
    assert result.limited_by == "ceiling"


def test_a_failure_the_generator_caused_is_reported_as_such() -> None:
    result = search(Server(ceiling=10**9, generator_bound_above=30_000), refinements=0)
    assert result.limited_by == "generator"


@pytest.mark.parametrize(
    "change",
    [
        {"lost": 1},
        {"errorCount": 2},
        {"ackedButNotStored": 1},
        {"latencyMs": {"p99": 250.1}},
        {"latencyMs": {"p99": None}},
    ],
)
def test_a_step_fails_on_any_loss_error_unstored_message_or_late_p99(change: dict) -> None:
    assert passes(recorded(1000, p99=250.0), 250)
    assert not passes(recorded(1000) | change, 250)


def test_summary_gives_medians_spread_and_the_ratio_of_the_medians() -> None:
    rounds = [
        {"relay": 30_000, "node": 60_000},
        {"relay": 36_000, "node": 90_000},
        {"relay": 33_000, "node": 66_000},
    ]
    summary = summarise(rounds, "relay", "node")
    assert summary["targets"]["relay"] == {
        "median": 33_000,
        "min": 30_000,
        "max": 36_000,
        "spreadPercent": pytest.approx(100 * 6 / 33),
    }
    assert summary["targets"]["node"]["median"] == 66_000
    assert summary["ratio"] == pytest.approx(0.5)
    assert summary["ratioPerRound"] == pytest.approx([0.5, 0.4, 0.5])


def test_a_target_that_never_passed_leaves_the_ratio_undefined() -> None:
    summary = summarise([{"relay": 10_000, "node": 0}], "relay", "node")
    assert summary["ratio"] is None
    assert summary["ratioPerRound"] == [None]
    assert spread([0, 0])["spreadPercent"] is None


def test_cpu_per_delivery_is_cores_over_the_delivery_rate_in_microseconds() -> None:
    result = recorded(4_000) | {"cpuCores": {"replica r1": 0.2, "haproxy": 0.04}}
    assert cpu_per_delivery_us(result) == pytest.approx({"replica r1": 50.0, "haproxy": 10.0})
    assert cpu_per_delivery_us(recorded(0)) == {}
