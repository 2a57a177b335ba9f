"""A socket lives no longer than its session token (issue 7, finding 5; DESIGN §4a `auth:refresh`):
over the wire with the python-socketio client, through haproxy, and short-lived tokens minted here."""

import asyncio
import time

import pytest

from relay.auth.verifier import LEEWAY_SECONDS
from tests.security.attacks import signed_claims
from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id

LIFETIME = 2  # seconds of the first token: the socket must go at LIFETIME + leeway


async def disconnected_within(user: SocketUser, seconds: float) -> bool:
    for _ in range(int(seconds / 0.1)):
        if not user.client.connected:
            return True
        await asyncio.sleep(0.1)
    return not user.client.connected


async def test_unrefreshed_socket_is_disconnected_with_token_expired_and_a_refreshed_one_stays(
    lb_socket, topology_keys
) -> None:
    now = int(time.time())
    lapsing_id, refreshing_id, hijacking_id = (new_user_id(kind) for kind in ("lapse", "refresh", "hijack"))
    lapsing = await lb_socket(topology_keys.mint(lapsing_id, exp=now + LIFETIME)).connect()
    refreshing = await lb_socket(topology_keys.mint(refreshing_id, exp=now + LIFETIME)).connect()
    hijacking = await lb_socket(topology_keys.mint(hijacking_id, exp=now + LIFETIME)).connect()

    ack = await refreshing.call("auth:refresh", {"token": topology_keys.mint(refreshing_id, exp=now + 600)})
    assert ack == {"ok": True, "exp": now + 600}
    refused = await hijacking.call(
        "auth:refresh", {"token": topology_keys.mint(new_user_id(), exp=now + 600)}
    )
    assert refused["ok"] is False and refused["error"]["code"] == "forbidden", refused

    window = LIFETIME + LEEWAY_SECONDS + 3
    assert await disconnected_within(lapsing, window), "a socket outlived its token"
    assert lapsing.events["auth:expired"] == [
        {"error": {"code": "token_expired", "message": "session token expired: reconnect with a fresh token"}}
    ]
    assert await disconnected_within(hijacking, 1), "another user's token extended the socket"
    assert refreshing.client.connected, "a refreshed socket was disconnected"
    assert refreshing.events["auth:expired"] == []
    for user in (lapsing, hijacking, refreshing):
        await user.close()


@pytest.fixture
async def live_socket(lb_socket, topology_keys):
    user_id = new_user_id("live")
    user = await lb_socket(topology_keys.mint(user_id)).connect()
    yield user_id, user
    await user.close()


async def test_refresh_with_an_expired_token_is_refused(live_socket, topology_keys) -> None:
    user_id, user = live_socket
    now = int(time.time())
    stale = topology_keys.mint(user_id, exp=now - 60, iat=now - 120, nbf=now - 120)
    ack = await user.call("auth:refresh", {"token": stale})
    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"
    assert "expired" in ack["error"]["message"]


async def test_refresh_with_a_crafted_header_is_refused(live_socket, topology_keys) -> None:
    user_id, user = live_socket
    token = signed_claims(topology_keys, topology_keys.claims(user_id), {"alg": "RS256", "kid": 7})
    ack = await user.call("auth:refresh", {"token": token})
    assert ack["ok"] is False and ack["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("payload", [None, "token", {"token": 5}, {"tok": "x"}, ["x"]])
async def test_refresh_with_a_malformed_payload_is_refused(payload, live_socket) -> None:
    _user_id, user = live_socket
    ack = await user.call("auth:refresh", payload)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_request", ack
