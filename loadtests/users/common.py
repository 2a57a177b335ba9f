"""What every user class of one generator process shares: the config, the world, the tokens, TLS.

LOADTEST_CA_CERT names a CA bundle to trust (the local topology's `.local/certs/ca.pem`); without
it the system's trust store is used, as for a real deployment.
"""

import os
import ssl
from functools import cache
from typing import Any

import requests

from loadtests import config
from loadtests.world import World
from relay.auth.token_source import TokenSource, token_source_from_env

SOCKET_PATH = "/api/socketio"  # DESIGN §4a


@cache
def world() -> World:
    return World(config.load().chat)


@cache
def tokens() -> TokenSource:
    return token_source_from_env()


def ca_bundle() -> str | bool:
    """What requests and python-socketio take as `verify`."""
    return os.environ.get("LOADTEST_CA_CERT") or True


def http_session(session: requests.Session) -> requests.Session:
    """`session` trusting ca_bundle(): requests would otherwise let REQUESTS_CA_BUNDLE (and
    proxies) from the environment override a session's own `verify`."""
    session.trust_env = False
    session.verify = ca_bundle()
    return session


def ssl_context() -> ssl.SSLContext:
    """The same trust for FastHttpUser (geventhttpclient)."""
    bundle = ca_bundle()
    return ssl.create_default_context(cafile=bundle if isinstance(bundle, str) else None)


def bearer(user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens().token(user)}"}


def succeeded(response: Any) -> bool:
    """2xx. Not `response.ok`: on a connection error locust's responses carry status 0, and its
    requests-based one raises the stored error from `.ok`."""
    return 200 <= response.status_code < 300
