"""ChatUser: a member of one channel on a real Socket.IO connection (DESIGN §4a).

Writers send `message:send` with an ack at `messages_per_minute`; readers hold the socket. Stats
rows: "socket connect", "message:send ack" (send to ack), "message:new delivery" (one sample per
message and recipient other than the sender; lost pairs, duplicates and sequence holes are its
failures), "auth:refresh", and the REST calls of joining and catching up.

Like the real client it reconnects with backoff (the library's own reconnection is off: a server
disconnect such as `token_expired` would not trigger it) and catches up with `after=` from the last
contiguous sequence it holds.
"""

import random
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import gevent
import gevent.event
import requests
import socketio
import socketio.exceptions
from locust import User, constant_pacing, task
from locust.clients import HttpSession

from loadtests import config
from loadtests.delivery import ChannelCursor, body, sent_at
from loadtests.users.common import SOCKET_PATH, bearer, http_session, succeeded, tokens, world

MESSAGES = "/api/channels/[id]/messages"
DELIVERY = "message:new delivery"
SEND_ACK = "message:send ack"
PAGE = 200  # DESIGN §4a: the largest `limit`
T = TypeVar("T")


class DeliveryLost(Exception):
    pass


class DuplicateDelivery(Exception):
    pass


class SequenceGap(Exception):
    pass


class AckFailed(Exception):
    pass


def _chat_wait(user: "ChatUser") -> float:
    chat = config.load().chat
    if user.writer:
        return constant_pacing(60 / chat.messages_per_minute)(user)
    return chat.reader_tick_seconds


class ChatUser(User):
    wait_time = _chat_wait

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.chat = config.load().chat
        self.world = world()
        self.name = self.world.user_name("chat")
        self.writer = self.world.next_is_writer()
        self.rest = http_session(HttpSession(self.host, environment.events.request, self))
        # The socket's own HTTP (handshake, long-polling) stays out of the REST stats: a poll waits
        # up to the 25 s ping interval by design.
        self.socket_http = http_session(requests.Session())
        self.sio: socketio.Client | None = None
        self.socket_token: str | None = None
        self.cursor: ChannelCursor | None = None
        self.dropped = gevent.event.Event()
        self.supervisor: gevent.Greenlet | None = None
        self.channel_id = ""

    # --- lifecycle ---------------------------------------------------------------------------
    def on_start(self) -> None:
        self.world.watch_deliveries(self._report_lost)
        self.channel = self.world.seat()
        self.channel_id = self._with_backoff(self._enter_channel)
        self._with_backoff(lambda: self._connect() or None)
        self.channel.members.add(self.name)
        self.supervisor = gevent.spawn(self._keep_connected)

    def on_stop(self) -> None:
        self.channel.members.discard(self.name)
        self.world.tracker.forget(self.name)
        if self.supervisor is not None:
            self.supervisor.kill(block=False)
        if self.sio is not None:
            # Not waited for: over long-polling a disconnect waits for the pending poll (up to the
            # 25 s ping interval), which would hold up the end of the run.
            gevent.spawn(self.sio.disconnect)

    # --- tasks -------------------------------------------------------------------------------
    @task
    def tick(self) -> None:
        self._refresh_token()
        self._check_gaps()
        if self.writer:
            self._send()

    def _send(self) -> None:
        sio = self.sio
        if sio is None or not sio.connected:
            return  # reconnecting: the supervisor records that as "socket connect" failures
        client_msg_id = uuid.uuid4().hex
        sent = time.time()
        self.world.tracker.expect(client_msg_id, self.channel.members - {self.name}, sent)
        payload = {
            "channel_id": self.channel_id,
            "body": body(sent, self.chat.body_chars),
            "client_msg_id": client_msg_id,
        }
        error: Exception | None = None
        ack: Any = None
        for _attempt in range(2):  # like the real client: a lost ack is retried with the same id
            try:
                ack = sio.call("message:send", payload, timeout=self.chat.ack_timeout_seconds)
                error = None
                break
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError) as lost:
                error = AckFailed(f"no ack within {self.chat.ack_timeout_seconds} s: {type(lost).__name__}")
        if error is None and not (isinstance(ack, dict) and ack.get("ok")):
            error = AckFailed(f"refused: {(ack or {}).get('error', {}).get('code', ack)}")
        if error is not None:
            self.world.tracker.cancel(client_msg_id)
        elif self.cursor is not None:
            self.cursor.add(ack["message"]["seq"])  # the sender's own seq: no hole for it to fill
        self._fire(SEND_ACK, sent, error)

    # --- socket ------------------------------------------------------------------------------
    def _connect(self) -> bool:
        token = tokens().token(self.name)
        # UTF-8 checks of every frame in pure Python were the generator's top cost (README, Capacity).
        sio = socketio.Client(
            reconnection=False,
            http_session=self.socket_http,
            websocket_extra_options={"skip_utf8_validation": True},
        )
        sio.on("message:new", self._on_message)
        sio.on("disconnect", lambda *_reason: self.dropped.set())
        started = time.time()
        try:
            sio.connect(
                self.host,
                socketio_path=SOCKET_PATH,
                transports=[self.chat.transport],
                auth={"token": token},
                wait_timeout=10,
            )
        except socketio.exceptions.ConnectionError as error:
            self._fire("socket connect", started, error)
            return False
        self._fire("socket connect", started, None)
        self.sio, self.socket_token = sio, token
        self.dropped.clear()
        self._catch_up()
        return True

    def _keep_connected(self) -> None:
        while True:
            self.dropped.wait()
            gevent.sleep(self.chat.reconnect_delay_seconds * (0.5 + random.random()))  # noqa: S311 (jitter)
            self._with_backoff(lambda: self._connect() or None)

    def _with_backoff(self, attempt: Callable[[], T | None]) -> T:
        """Retry `attempt` (its failures are already in the stats) as a client would: exponential
        backoff with jitter, up to reconnect_delay_max_seconds between tries."""
        delay = self.chat.reconnect_delay_seconds
        while (result := attempt()) is None:
            gevent.sleep(delay * (0.5 + random.random()))  # noqa: S311 (jitter)
            delay = min(delay * 2, self.chat.reconnect_delay_max_seconds)
        return result

    def _refresh_token(self) -> None:
        """`auth:refresh` once the token source hands out a new token (a third of its life left)."""
        token, sio = tokens().token(self.name), self.sio
        if token == self.socket_token or sio is None or not sio.connected:
            return
        started, error = time.time(), None
        try:
            ack = sio.call("auth:refresh", {"token": token}, timeout=self.chat.ack_timeout_seconds)
            if not (isinstance(ack, dict) and ack.get("ok")):
                error = AckFailed(f"refused: {(ack or {}).get('error', {}).get('code', ack)}")
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError) as lost:
            error = AckFailed(type(lost).__name__)
        if error is None:
            self.socket_token = token
        self._fire("auth:refresh", started, error)

    # --- receiving ---------------------------------------------------------------------------
    def _on_message(self, message: dict[str, Any]) -> None:
        received = time.time()
        if message.get("channel_id") != self.channel_id:
            return
        if self.cursor is not None and not self.cursor.receive_live(message["seq"]):
            self._fire(DELIVERY, received, DuplicateDelivery(f"seq {message['seq']} delivered twice"))
            return
        self._claim(message, received)

    def _claim(self, message: dict[str, Any], received: float) -> None:
        if message.get("author_id") == self.name or not self.world.tracker.claim(
            message["client_msg_id"], self.name
        ):
            return
        sent = sent_at(message.get("body") or "")
        self._fire(DELIVERY, sent if sent is not None else received, None, at=received)

    def _catch_up(self) -> None:
        """Messages after the last contiguous seq (REST `after=`), as the real client does on
        reconnect and when the live stream shows a hole; the first call only sets the baseline."""
        if self.cursor is None:
            newest = self._messages({"limit": 1}, name=f"{MESSAGES}?limit=1")
            self.cursor = ChannelCursor(contiguous=newest[-1]["seq"] if newest else 0)
            return
        while True:
            page = self._messages({"after": self.cursor.contiguous, "limit": PAGE}, name=f"{MESSAGES}?after")
            received = time.time()
            for message in page:
                self.cursor.add(message["seq"])
                self._claim(message, received)
            if len(page) < PAGE or not page:
                break
            if self.cursor.ahead:  # a hole the server does not fill: stop paging past it
                break

    def _check_gaps(self) -> None:
        cursor = self.cursor
        if cursor is None or not cursor.hole_older_than(self.chat.gap_grace_seconds):
            return
        self._catch_up()
        for seq in cursor.missing():
            self._fire(
                DELIVERY, time.time(), SequenceGap(f"seq {seq} is in neither the stream nor the history")
            )
        cursor.skip_to(max(cursor.ahead, default=cursor.contiguous))

    def _report_lost(self, client_msg_id: str, recipient: str, sent: float) -> None:
        timeout = self.chat.delivery_timeout_seconds
        self._fire(DELIVERY, sent, DeliveryLost(f"not delivered to a recipient within {timeout} s"))

    # --- helpers -----------------------------------------------------------------------------
    def _enter_channel(self) -> str | None:
        """The channel's id once this user is a member: the first seated user creates it."""
        channel_id, created = self.channel.ensure_created(self._create_channel)
        if channel_id is None or created:
            return channel_id
        joined = self._rest("POST", f"/api/channels/{channel_id}/join", name="/api/channels/[id]/join")
        return channel_id if succeeded(joined) else None

    def _create_channel(self, name: str) -> str | None:
        response = self._rest("POST", "/api/channels", json={"name": name}, name="/api/channels")
        return response.json()["id"] if succeeded(response) else None

    def _messages(self, params: dict[str, Any], *, name: str) -> list[dict[str, Any]]:
        response = self._rest("GET", f"/api/channels/{self.channel_id}/messages", params=params, name=name)
        return response.json()["messages"] if succeeded(response) else []

    def _rest(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.rest.request(method, path, headers=bearer(self.name), **kwargs)

    def _fire(self, name: str, since: float, error: Exception | None, *, at: float | None = None) -> None:
        self.environment.events.request.fire(
            request_type="socket",
            name=name,
            response_time=((at or time.time()) - since) * 1000,
            response_length=0,
            exception=error,
            context={},
        )
