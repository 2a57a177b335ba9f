"""The socket handshake applies the same token checks as REST and refuses with the reason."""

import pytest
import socketio

from tests.app.auth.test_verifier import bad_tokens
from tests.utils.sockets import SocketUser
from tests.utils.tokens import new_user_id

CASES = [
    "expired",
    "not_yet_valid",
    "wrong_issuer",
    "wrong_azp",
    "missing_sid",
    "alg_none",
    "hs256_with_public_key",
    "tampered_payload",
    "garbage",
]


@pytest.mark.parametrize("case", CASES)
async def test_bad_token_is_refused_at_handshake_with_a_reason(case, relay_server, signing_keys) -> None:
    token, reason = bad_tokens(signing_keys)[case]
    user = SocketUser(relay_server.url, token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await user.connect()
    assert reason in user.refusal["message"], user.refusal


async def test_valid_token_connects(relay_server, signing_keys) -> None:
    user = await SocketUser(relay_server.url, signing_keys.mint(new_user_id())).connect()
    assert user.client.connected
    await user.close()
