"""Delivery accounting: one sample per (message, recipient), lost pairs reported once, and the
sequence cursor telling duplicates and holes apart from late or out-of-order events."""

import time

from loadtests.delivery import ChannelCursor, DeliveryTracker, body, sent_at


def test_each_pair_is_claimed_once_and_never_by_the_sender() -> None:
    tracker = DeliveryTracker()
    tracker.expect("m1", {"bob", "carol"}, time.time())

    assert tracker.claim("m1", "bob")
    assert not tracker.claim("m1", "bob"), "a second arrival (live and catch-up) is not a second sample"
    assert not tracker.claim("m1", "alice"), "the sender is not a recipient"
    assert tracker.claim("m1", "carol")
    assert tracker.expired(timeout=0, now=time.time() + 1) == []


def test_unclaimed_pairs_expire_once_and_stopped_users_are_not_lost() -> None:
    tracker = DeliveryTracker()
    sent = time.time() - 20
    tracker.expect("m1", {"bob", "carol", "dave"}, sent)
    tracker.claim("m1", "bob")
    tracker.forget("dave")

    assert tracker.expired(timeout=10) == [("m1", "carol", sent)]
    assert tracker.expired(timeout=10) == []
    assert not tracker.claim("m1", "carol"), "a pair reported lost cannot turn into a sample later"


def test_refused_send_expects_nothing() -> None:
    tracker = DeliveryTracker()
    tracker.expect("m1", {"bob"}, time.time() - 20)
    tracker.cancel("m1")
    assert tracker.expired(timeout=10) == []


def test_send_time_travels_in_the_body() -> None:
    text = body(1764600000.123456, chars=100)
    assert len(text) == 100
    assert sent_at(text) == 1764600000.123456
    assert sent_at("hello from a person") is None


def test_cursor_tells_duplicates_from_out_of_order_events() -> None:
    cursor = ChannelCursor(contiguous=10)
    assert cursor.receive_live(12)
    assert cursor.missing() == [11]
    assert cursor.receive_live(11), "late, not duplicate"
    assert (cursor.contiguous, cursor.missing()) == (12, [])
    assert not cursor.receive_live(12), "the live stream delivered 12 twice"


def test_cursor_reports_holes_after_the_grace_and_moves_past_them() -> None:
    cursor = ChannelCursor(contiguous=0)
    cursor.add(1)
    cursor.add(4)
    assert cursor.missing() == [2, 3]
    assert not cursor.hole_older_than(5)
    assert cursor.hole_older_than(0)

    cursor.skip_to(4)
    assert (cursor.contiguous, cursor.missing(), cursor.ahead) == (4, [], {})
