"""make bench sizes its senders from the per-user message limit, so the limit never ends a run."""

import pytest

from loadtests.bench_fanout import HEADROOM, senders_needed
from relay.settings import Settings

LIMIT = Settings.model_fields["rate_messages_per_second"].default


@pytest.mark.parametrize("deliveries_per_second", [4_000, 20_000, 50_000, 120_000, 400_000])
def test_no_sender_goes_past_the_headroom_of_the_per_user_limit(deliveries_per_second: int) -> None:
    messages_per_second = deliveries_per_second / 200
    senders = senders_needed(messages_per_second, LIMIT, minimum=10)
    assert messages_per_second / senders <= LIMIT * HEADROOM < LIMIT
    # and no more than needed: one sender fewer would go past the headroom (or below the minimum)
    assert senders == 10 or messages_per_second / (senders - 1) > LIMIT * HEADROOM


def test_the_minimum_holds_at_low_rates_and_a_limitless_target_needs_no_more() -> None:
    assert senders_needed(20, LIMIT, minimum=10) == 10
    assert senders_needed(5_000, float("inf"), minimum=30) == 30
