"""The web client as the service serves it: a revalidated page carrying this deployment's settings,
a revalidated service worker, immutable fingerprinted assets, and Clerk only where configured."""

import base64
import html
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.routing import Mount, Route

from relay.main import create_app
from relay.settings import Settings
from tests.utils.asgi_client import asgi_client
from tests.utils.redis_server import RedisServer
from tests.utils.settings import make_settings
from tests.utils.tokens import SigningKeys

WEB_DIST = Path(__file__).resolve().parents[3] / "app" / "web" / "dist"
CLERK_HOST = "clerk.relay.test"
CLERK_KEY = "pk_test_" + base64.b64encode(f"{CLERK_HOST}$".encode()).decode().rstrip("=")


@pytest.fixture(scope="module", autouse=True)
def built_client() -> None:
    assert (WEB_DIST / "index.html").is_file(), "the web client is not built: run `make web`"


@pytest.fixture
def settings_with(redis_server: RedisServer, signing_keys: SigningKeys) -> Callable[..., Settings]:
    """Settings that build the whole app in process (no lifespan: nothing connects)."""

    def build(**overrides: object) -> Settings:
        key = {"auth_public_key": None, "auth_public_key_file": signing_keys.public_file}
        values = {"web_dir": WEB_DIST, **key}
        return make_settings(redis_server.url, **{**values, **overrides})

    return build


def _config(page: str) -> dict:
    content = re.search(r'<meta name="relay-config" content="([^"]*)">', page).group(1)
    return json.loads(html.unescape(content))


async def test_the_page_is_revalidated_and_carries_local_settings_without_clerk(settings_with) -> None:
    async with asgi_client(create_app(settings_with())) as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert _config(response.text) == {"environment": "local", "clerkPublishableKey": None}
    assert "<script async" not in response.text and "clerk.browser.js" not in response.text
    assert "clerk" not in response.headers["content-security-policy"]


async def test_hashed_assets_are_immutable_and_the_service_worker_is_revalidated(settings_with) -> None:
    async with asgi_client(create_app(settings_with())) as client:
        page = (await client.get("/")).text
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        worker = await client.get("/sw.js")
        responses = [await client.get(asset) for asset in assets]
    assert len(assets) == 2  # the stylesheet and the entry module
    for asset, response in zip(assets, responses, strict=True):
        assert response.status_code == 200, asset
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", asset
    assert worker.status_code == 200 and worker.headers["cache-control"] == "no-cache"
    assert worker.headers["content-type"].startswith("text/javascript")
    assert all(asset in worker.text for asset in assets), "the service worker caches the whole shell"


async def test_staging_loads_clerk_from_its_frontend_api_and_the_csp_admits_it(settings_with) -> None:
    settings = settings_with(environment="staging", clerk_publishable_key=CLERK_KEY)
    async with asgi_client(create_app(settings)) as client:
        response = await client.get("/")
    assert _config(response.text)["clerkPublishableKey"] == CLERK_KEY
    assert f'src="https://{CLERK_HOST}/npm/@clerk/clerk-js@5/dist/clerk.browser.js"' in response.text
    assert f'data-clerk-publishable-key="{CLERK_KEY}"' in response.text
    csp = dict(part.strip().split(" ", 1) for part in response.headers["content-security-policy"].split(";"))
    assert csp["script-src"] == f"'self' https://{CLERK_HOST}"
    assert f"https://{CLERK_HOST}" in csp["connect-src"].split()
    assert csp["frame-src"] == f"https://{CLERK_HOST}"


async def test_connect_src_covers_the_socket_and_the_upload_origin(settings_with) -> None:
    local = settings_with(s3_endpoint_url="http://127.0.0.1:9000")
    prod = settings_with(environment="prod", s3_bucket="relay-uploads", s3_region="eu-west-1")
    for settings, upload in (
        (local, "http://127.0.0.1:9000"),
        (prod, "https://relay-uploads.s3.amazonaws.com"),
    ):
        async with asgi_client(create_app(settings)) as client:
            csp = (await client.get("/")).headers["content-security-policy"]
        connect = next(part for part in csp.split(";") if part.strip().startswith("connect-src")).split()
        assert "wss://localhost:8443" in connect and upload in connect, csp


def test_no_route_mints_tokens_with_production_settings(settings_with) -> None:
    app = create_app(settings_with(environment="prod"))
    api = app
    while not hasattr(api, "routes"):
        api = getattr(api, "app", None) or api.other_asgi_app
    paths = [route.path for route in api.routes if isinstance(route, Route | Mount)]
    assert paths and not [path for path in paths if "token" in path.lower() or "login" in path.lower()]


@pytest.mark.parametrize("path", ["/api/token", "/api/auth/token", "/api/dev/token", "/token"])
async def test_token_paths_answer_404_with_production_settings(settings_with, path: str) -> None:
    async with asgi_client(create_app(settings_with(environment="prod"))) as client:
        response = await client.post(path, json={"user": "alice"})
    assert response.status_code == 404, response.text


async def test_an_unbuilt_client_answers_404_naming_make_web(settings_with, tmp_path) -> None:
    async with asgi_client(create_app(settings_with(web_dir=tmp_path))) as client:
        response = await client.get("/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "web_client_not_built"
    assert "make web" in response.json()["error"]["message"]


@pytest.mark.parametrize("key", ["pk_test_bm90LWEtaG9zdA", "sk_test_" + CLERK_KEY[8:], "pk_live_%%%"])
def test_a_malformed_clerk_key_is_refused_naming_the_setting(redis_server, key: str) -> None:
    with pytest.raises(ValueError, match="RELAY_CLERK_PUBLISHABLE_KEY"):
        make_settings(redis_server.url, clerk_publishable_key=key)
