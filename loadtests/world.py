"""This generator process's share of the simulated world: user names, channels and their members.

Each process (locust --processes, or one EKS worker pod) builds its own channels, so a message's
sender and all its recipients live in one process and one clock (README, "Clocks"). Channels are
filled one after another, each with a size drawn from config.yaml's `channel_sizes`, so a run holds
channels of 2 to 500 members in the configured proportions.
"""

import itertools
import os
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import gevent

from loadtests.config import ChatConfig
from loadtests.delivery import DeliveryTracker

RUN_ID = os.environ.get("LOADTEST_RUN_ID") or uuid.uuid4().hex[:8]


@dataclass
class Channel:
    name: str
    capacity: int
    seated: int = 0
    id: str | None = None
    members: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ensure_created(self, create: Callable[[str], str | None]) -> tuple[str | None, bool]:
        """(channel id, whether this caller created it): the first seated user creates it; if that
        fails (None), the next caller tries."""
        with self.lock:
            if self.id is not None:
                return self.id, False
            self.id = create(self.name)
            return self.id, self.id is not None


class World:
    def __init__(self, chat: ChatConfig, *, seed: int | None = None) -> None:
        self.prefix = f"lt-{RUN_ID}-{os.getpid()}"
        self.tracker = DeliveryTracker()
        self._chat = chat
        self._random = random.Random(seed)  # noqa: S311 (a reproducible plan, not a secret)
        self._counter = itertools.count()
        self._writers = 0
        self._chat_users = 0
        self._channels: list[Channel] = []
        self._lock = threading.Lock()
        self._sweeper: gevent.Greenlet | None = None

    def user_name(self, kind: str) -> str:
        return f"{self.prefix}-{kind}{next(self._counter)}"

    def next_is_writer(self) -> bool:
        """Writers are spread evenly: the n-th chat user writes when that keeps the share."""
        with self._lock:
            self._chat_users += 1
            writer = self._writers < self._chat.writer_share * self._chat_users
            self._writers += writer
            return writer

    def seat(self) -> Channel:
        with self._lock:
            if not self._channels or self._channels[-1].seated >= self._channels[-1].capacity:
                sizes = self._chat.channel_sizes
                size = self._random.choices([s.members for s in sizes], [s.weight for s in sizes])[0]
                self._channels.append(Channel(f"{self.prefix}-c{len(self._channels)}", size))
            channel = self._channels[-1]
            channel.seated += 1
            return channel

    def any_channel_id(self) -> str | None:
        ready = [c.id for c in self._channels if c.id is not None]
        return self._random.choice(ready) if ready else None

    def watch_deliveries(self, report_lost: Callable[[str, str, float], None]) -> None:
        """Start (once per process) the sweep that reports pairs not delivered in time."""
        with self._lock:
            if self._sweeper is not None:
                return
            self._sweeper = gevent.spawn(self._sweep, report_lost)

    def _sweep(self, report_lost: Callable[[str, str, float], None]) -> None:
        while True:
            gevent.sleep(1)
            for client_msg_id, recipient, sent in self.tracker.expired(self._chat.delivery_timeout_seconds):
                report_lost(client_msg_id, recipient, sent)
