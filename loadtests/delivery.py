"""Delivery accounting: one latency sample per (message, recipient other than the sender).

The sender registers the recipients it expects before it emits (a recipient's `message:new` can
arrive before the sender's ack). A recipient claims its pair when the message reaches it, live or
through a REST catch-up; a pair can be claimed once, so a sample is never counted twice. Pairs not
claimed within the delivery timeout are reported lost. Latency uses the send time carried in the
message body: sender and recipients share one host (README, "Clocks").
"""

import threading
import time
from dataclasses import dataclass, field

BODY_PREFIX = "lt"


def body(sent_at: float, chars: int) -> str:
    stamp = f"{BODY_PREFIX} {sent_at:.6f} "
    return stamp + "x" * max(chars - len(stamp), 0)


def sent_at(message_body: str) -> float | None:
    parts = message_body.split(" ", 2)
    if len(parts) < 2 or parts[0] != BODY_PREFIX:
        return None
    try:
        return float(parts[1])
    except ValueError:
        return None


@dataclass
class _Expected:
    sent_at: float
    recipients: set[str]


class DeliveryTracker:
    def __init__(self) -> None:
        self._pending: dict[str, _Expected] = {}
        self._lock = threading.Lock()

    def expect(self, client_msg_id: str, recipients: set[str], sent: float) -> None:
        if recipients:
            with self._lock:
                self._pending[client_msg_id] = _Expected(sent, set(recipients))

    def claim(self, client_msg_id: str, recipient: str) -> bool:
        """True exactly once per expected pair; False for unknown or already-claimed pairs."""
        with self._lock:
            expected = self._pending.get(client_msg_id)
            if expected is None or recipient not in expected.recipients:
                return False
            expected.recipients.discard(recipient)
            if not expected.recipients:
                del self._pending[client_msg_id]
            return True

    def cancel(self, client_msg_id: str) -> None:
        """The send failed: nobody should receive it."""
        with self._lock:
            self._pending.pop(client_msg_id, None)

    def forget(self, recipient: str) -> None:
        """A user stopped (ramp-down): what it has not received is not lost."""
        with self._lock:
            for key in list(self._pending):
                self._pending[key].recipients.discard(recipient)
                if not self._pending[key].recipients:
                    del self._pending[key]

    def expired(self, timeout: float, now: float | None = None) -> list[tuple[str, str, float]]:
        """Pairs older than `timeout`, removed: (client_msg_id, recipient, sent_at)."""
        now = time.time() if now is None else now
        lost = []
        with self._lock:
            for key, expected in list(self._pending.items()):
                if now - expected.sent_at > timeout:
                    lost += [(key, recipient, expected.sent_at) for recipient in expected.recipients]
                    del self._pending[key]
        return lost


@dataclass
class ChannelCursor:
    """What one recipient has of one channel: every seq up to `contiguous`, plus some beyond."""

    contiguous: int
    ahead: dict[int, float] = field(default_factory=dict)  # seq -> when the hole before it opened
    live: set[int] = field(default_factory=set)

    def receive_live(self, seq: int) -> bool:
        """Record a live `message:new`; False if the live stream already delivered this seq."""
        if seq in self.live:
            return False
        self.live.add(seq)
        self.add(seq)
        return True

    def add(self, seq: int) -> None:
        if seq <= self.contiguous:
            return
        self.ahead.setdefault(seq, time.monotonic())
        self._advance()
        if len(self.live) > 2000:  # only recent seqs can repeat
            self.live = {s for s in self.live if s > self.contiguous - 1000}

    def _advance(self) -> None:
        while self.contiguous + 1 in self.ahead:
            self.contiguous += 1
            del self.ahead[self.contiguous]

    def hole_older_than(self, seconds: float) -> bool:
        return bool(self.ahead) and time.monotonic() - min(self.ahead.values()) > seconds

    def missing(self) -> list[int]:
        top = max(self.ahead, default=self.contiguous)
        return [s for s in range(self.contiguous + 1, top) if s not in self.ahead]

    def skip_to(self, seq: int) -> None:
        """Give up on the holes below `seq` (already reported as gaps)."""
        self.contiguous = max(self.contiguous, seq)
        self.ahead = {s: t for s, t in self.ahead.items() if s > self.contiguous}
        self._advance()
