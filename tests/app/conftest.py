"""Fixtures for the edge tests: settings on the session's private Redis (tests/utils/fixtures.py),
the edge test app and captured JSON logs."""

import io
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.types import ASGIApp

from relay.logging import json_handler
from relay.settings import Settings
from tests.utils.asgi_client import asgi_client
from tests.utils.edge_app import build_edge_test_app
from tests.utils.redis_server import RedisServer
from tests.utils.settings import make_settings


@pytest.fixture
def settings(redis_server: RedisServer) -> Settings:
    return make_settings(redis_server.url)


@pytest.fixture
def log_output(settings: Settings) -> Iterator[io.StringIO]:
    """Everything logged during the test, through the production redaction and JSON formatting."""
    stream = io.StringIO()
    handler = json_handler(settings, stream)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def edge_app(settings: Settings) -> ASGIApp:
    return build_edge_test_app(settings)


@pytest.fixture
async def edge_client(edge_app: ASGIApp) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(edge_app) as client:
        yield client
