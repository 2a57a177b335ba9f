"""The web client in a real headless Chromium, through haproxy over https with the topology's CA
trusted: two users pinned to different replicas chat, share a file, search, get a mention as a
service-worker notification while the tab is hidden, work offline from the cached shell, and see the
error banner while their replica is down. Screenshots go to reports/web/."""

import base64
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jwt
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.utils.browser import REPORTS, chromium, set_tab_hidden, trusting_home
from tests.utils.ports import free_port
from tests.utils.relay_process import RelayProcess
from tests.utils.tokens import SigningKeys, new_user_id
from topology import Topology
from topology.layout import STICKY_COOKIE

WAIT_MS = 15_000
CLERK_HOST = "clerk.relay.test"
CLERK_KEY = "pk_test_" + base64.b64encode(f"{CLERK_HOST}$".encode()).decode().rstrip("=")
CLERK_SDK = f"https://{CLERK_HOST}/npm/@clerk/clerk-js@5/dist/clerk.browser.js"
# The only fake: Clerk's browser SDK, whose session hands out the token the test puts in __clerk.
CLERK_STUB = """
window.__clerk = { calls: 0, token: %s, key: document.currentScript.dataset.clerkPublishableKey };
window.Clerk = {
  user: { id: "stub" },
  session: { getToken: async () => { window.__clerk.calls += 1; return window.__clerk.token; } },
  load: async () => {},
  addListener: () => {},
  mountSignIn: () => {},
  signOut: async () => {},
};
"""


@dataclass
class User:
    id: str
    token: str
    page: Page


def _sub(token: str) -> str:
    return jwt.decode(token, options={"verify_signature": False})["sub"]


@pytest.fixture(scope="module")
def browser(
    topology: Topology, relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Browser]:
    """Session fixtures that call asyncio.run (relay_env's database) must exist before Playwright's
    sync API starts its event loop in this thread."""
    home = trusting_home(tmp_path_factory.mktemp("browser-home"), topology.layout.ca_cert)
    REPORTS.mkdir(parents=True, exist_ok=True)
    with chromium(home) as launched:
        yield launched


def _sign_in(browser: Browser, topology: Topology, token: str, replica: str) -> Page:
    context = browser.new_context(permissions=["notifications"], viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": STICKY_COOKIE, "value": replica, "url": topology.url}])
    page = context.new_page()
    page.goto(topology.url)
    page.fill("#token-input", token)
    page.click("#token-form button[type=submit]")
    expect(page.locator("#app")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("body")).to_have_attribute("data-connection", "online", timeout=WAIT_MS)
    return page


@pytest.fixture(scope="module")
def room(topology: Topology, mint: Callable[[str], str], browser: Browser) -> Iterator[tuple[User, User]]:
    """Alice on replica r1 and Bob on r2, both members of one channel that Alice has open."""
    alice_token, bob_token = mint("alice"), mint("bob")
    with topology.client() as client:
        as_alice = {"Authorization": f"Bearer {alice_token}"}
        client.get("/api/me", headers={"Authorization": f"Bearer {bob_token}"}).raise_for_status()
        channel = client.post("/api/channels", json={"name": "web-e2e", "private": True}, headers=as_alice)
        channel.raise_for_status()
        member = {"user_id": _sub(bob_token)}
        client.post(f"/api/channels/{channel.json()['id']}/members", json=member, headers=as_alice)
    alice = User(_sub(alice_token), alice_token, _sign_in(browser, topology, alice_token, "r1"))
    bob = User(_sub(bob_token), bob_token, _sign_in(browser, topology, bob_token, "r2"))
    yield alice, bob
    alice.page.context.close()
    bob.page.context.close()


def _notifications(page: Page) -> list[tuple[str, str]]:
    """What the service worker shows, as (title, body)."""
    shown = page.evaluate(
        """async () => {
            const registration = await navigator.serviceWorker.ready;
            return (await registration.getNotifications()).map((n) => [n.title, n.body]);
        }"""
    )
    return [tuple(item) for item in shown]


def _send(page: Page, text: str) -> None:
    page.fill("#composer-input", text)
    page.press("#composer-input", "Enter")


def test_users_on_two_replicas_chat_in_real_time(room, topology: Topology) -> None:
    alice, bob = room
    assert {c["value"] for c in alice.page.context.cookies() if c["name"] == STICKY_COOKIE} == {"r1"}
    assert {c["value"] for c in bob.page.context.cookies() if c["name"] == STICKY_COOKIE} == {"r2"}
    text = f"hello from r1 {uuid.uuid4().hex[:6]}"
    _send(alice.page, text)
    expect(bob.page.locator("#message-list")).to_contain_text(text, timeout=WAIT_MS)
    _send(bob.page, "and hello back from r2")
    expect(alice.page.locator("#message-list")).to_contain_text("and hello back from r2", timeout=WAIT_MS)
    alice.page.screenshot(path=REPORTS / "chat.png")


def test_a_file_uploads_with_progress_and_the_other_user_opens_it(room) -> None:
    alice, bob = room
    content = f"quarterly notes {uuid.uuid4().hex}\n".encode()
    notes = {"name": "notes.txt", "mimeType": "text/plain", "buffer": content}
    bob.page.set_input_files("#file-input", files=[notes])
    expect(bob.page.locator("#upload-status")).to_have_attribute("data-state", "ready", timeout=WAIT_MS)
    assert bob.page.eval_on_selector("#upload-progress", "(bar) => bar.value") == 100
    _send(bob.page, "the notes")
    link = alice.page.locator(".attachment a", has_text="notes.txt")
    expect(link).to_be_visible(timeout=WAIT_MS)
    bob.page.screenshot(path=REPORTS / "upload.png")
    with alice.page.expect_popup() as popup, alice.page.context.expect_event("download") as download:
        link.click()
    assert download.value.suggested_filename == "notes.txt"
    assert download.value.path().read_bytes() == content
    popup.value.close()


def test_search_finds_a_message_with_the_match_highlighted(room) -> None:
    alice, bob = room
    word = f"zebra{uuid.uuid4().hex[:6]}"
    _send(bob.page, f"the {word} crossed the road")
    expect(alice.page.locator("#message-list")).to_contain_text(word, timeout=WAIT_MS)
    alice.page.fill("#search-input", word)
    alice.page.press("#search-input", "Enter")
    expect(alice.page.locator("#search-results mark")).to_have_text(word, timeout=WAIT_MS)
    alice.page.screenshot(path=REPORTS / "search.png")
    alice.page.click("#search-close")


def test_a_mention_shows_a_notification_through_the_service_worker_while_the_tab_is_hidden(room) -> None:
    alice, bob = room
    set_tab_hidden(alice.page, True)
    try:
        _send(bob.page, f"@{alice.id} can you review?")
        deadline = time.monotonic() + WAIT_MS / 1000
        while not any("can you review?" in body for _title, body in _notifications(alice.page)):
            banner = alice.page.locator("#banner-text").text_content()
            shown = _notifications(alice.page)
            assert time.monotonic() < deadline, f"no notification: {shown}, banner {banner!r}"
            alice.page.wait_for_timeout(200)
        expected = ("Mention", f"{bob.id} mentioned you in web-e2e: @{alice.id} can you review?")
        assert expected in _notifications(alice.page)
    finally:
        set_tab_hidden(alice.page, False)


def test_a_visible_tab_gets_no_desktop_notification_for_a_plain_message(room) -> None:
    alice, bob = room
    before = _notifications(alice.page)
    _send(bob.page, "no mention here")
    expect(alice.page.locator("#message-list")).to_contain_text("no mention here", timeout=WAIT_MS)
    alice.page.wait_for_timeout(1000)
    assert _notifications(alice.page) == before


def test_the_service_worker_serves_the_shell_offline(room, topology: Topology) -> None:
    alice, _bob = room
    page = alice.page
    assert page.evaluate("navigator.serviceWorker.ready.then((r) => r.active.scriptURL)").endswith("/sw.js")
    page.context.set_offline(True)
    try:
        page.reload()
        expect(page).to_have_title("Relay")
        expect(page.locator("#banner-text")).to_have_text(
            "You are offline. Relay starts as soon as the network is back.", timeout=WAIT_MS
        )
        assert page.evaluate("navigator.serviceWorker.controller !== null")
        page.screenshot(path=REPORTS / "offline.png")
    finally:
        page.context.set_offline(False)
    expect(page.locator("#app")).to_be_visible(timeout=WAIT_MS)  # started by the `online` event
    expect(page.locator("#banner")).to_be_hidden()
    expect(page.locator("body")).to_have_attribute("data-connection", "online", timeout=WAIT_MS)


def test_an_uncaught_error_shows_a_banner_and_is_reported_to_the_service(room, topology: Topology) -> None:
    alice, _bob = room
    probe = f"boundary-probe-{uuid.uuid4().hex[:8]}"
    alice.page.evaluate("(probe) => setTimeout(() => { throw new Error(probe); })", probe)
    expect(alice.page.locator("#banner")).to_be_visible(timeout=WAIT_MS)
    alice.page.screenshot(path=REPORTS / "error-banner.png")
    deadline = time.monotonic() + 10
    logs = [topology.layout.log_file(f"replica-{name}") for name in topology.ports.replica_ports()]
    while not any(probe in log.read_text() for log in logs if log.exists()):
        assert time.monotonic() < deadline, "the error report did not reach the service's log"
        time.sleep(0.2)
    alice.page.click("#banner-retry")  # reloads: the boundary's way back
    expect(alice.page.locator("#app")).to_be_visible(timeout=WAIT_MS)
    expect(alice.page.locator("#banner")).to_be_hidden()


def test_the_banner_shows_while_the_socket_server_is_down_and_clears_after_catching_up(
    room, topology: Topology
) -> None:
    alice, bob = room
    expect(alice.page.locator("body")).to_have_attribute("data-connection", "online", timeout=WAIT_MS)
    topology.kill_replica("r1")
    try:
        expect(alice.page.locator("#banner")).to_be_visible(timeout=WAIT_MS)
        expect(alice.page.locator("#banner-text")).to_contain_text("Connection lost")
        alice.page.screenshot(path=REPORTS / "reconnecting.png")
        _send(bob.page, "sent while you were away")
        expect(alice.page.locator("#banner")).to_be_hidden(timeout=45_000)
        missed = alice.page.locator("#message-list")
        expect(missed).to_contain_text("sent while you were away", timeout=WAIT_MS)
    finally:
        topology.wait_healthy()


def test_the_server_acknowledges_auth_refresh_with_a_valid_token_for_the_same_user(room) -> None:
    alice, _bob = room
    ack = alice.page.evaluate(
        "(token) => window.relay.state.realtime.socket.timeout(3000).emitWithAck('auth:refresh', { token })",
        alice.token,
    )
    assert ack["ok"] is True and ack["exp"] > time.time()


@pytest.fixture(scope="module")
def staging(relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One replica with staging settings and a Clerk publishable key; yields its origin."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    local_only = ("RELAY_LOCAL_SIGNING_KEY_FILE", "RELAY_S3_ENDPOINT_URL")
    env = {key: value for key, value in relay_env.items() if key not in local_only}
    env |= {
        "RELAY_ENVIRONMENT": "staging",
        "RELAY_CLERK_PUBLISHABLE_KEY": CLERK_KEY,
        "RELAY_PUBLIC_URL": origin,
        "RELAY_ALLOWED_ORIGINS": origin,
    }
    with RelayProcess.start(env, tmp_path_factory.mktemp("staging-logs"), name="staging", port=port):
        yield origin


def test_staging_signs_in_through_clerk_and_refreshes_the_socket_token_with_get_token(
    browser: Browser, staging: str, signing_keys: SigningKeys
) -> None:
    user = new_user_id("clerk")
    # Refreshes are due 15 s before expiry: this first token is due for one a few seconds after sign-in.
    first = signing_keys.mint(user, azp=staging, exp=int(time.time()) + 22)
    context = browser.new_context()
    stub = CLERK_STUB % f'"{first}"'
    cors = {"Access-Control-Allow-Origin": "*"}  # the SDK's script tag is crossorigin="anonymous"
    context.route(
        CLERK_SDK, lambda route: route.fulfill(body=stub, content_type="text/javascript", headers=cors)
    )
    page = context.new_page()
    frames: list[str] = []
    page.on("websocket", lambda socket: socket.on("framesent", lambda payload: frames.append(str(payload))))
    try:
        response = page.goto(staging)
        policy = response.headers["content-security-policy"]
        csp = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert csp["script-src"] == f"'self' https://{CLERK_HOST}"
        expect(page.locator("#app")).to_be_visible(timeout=WAIT_MS)  # the stub ran: the CSP admitted it
        expect(page.locator("#token-form")).to_be_hidden()
        assert page.evaluate("() => window.__clerk.key") == CLERK_KEY
        expect(page.locator("body")).to_have_attribute("data-connection", "online", timeout=WAIT_MS)
        second = signing_keys.mint(user, azp=staging)
        page.evaluate("(token) => { window.__clerk.token = token; }", second)
        deadline = time.monotonic() + 20
        while not any('"auth:refresh"' in frame and second in frame for frame in frames):
            assert time.monotonic() < deadline, f"no auth:refresh with Clerk's new token; sent {frames}"
            page.wait_for_timeout(200)  # not time.sleep: Playwright delivers events only inside its calls
        assert page.evaluate("() => window.__clerk.calls") >= 2
    finally:
        context.close()


def test_older_messages_load_on_scrolling_up_and_status_and_settings_are_saved(
    room, topology: Topology
) -> None:
    alice, _bob = room
    headers = {"Authorization": f"Bearer {alice.token}"}
    with topology.client(headers=headers) as client:
        channel = client.post("/api/channels", json={"name": "history"}).json()
        for n in range(60):
            body = {"body": f"history {n:02d}", "client_msg_id": f"history-{n}"}
            posted = client.post(f"/api/channels/{channel['id']}/messages", json=body)
            while posted.status_code == 429:  # 10 messages/s per user: wait as told, same client_msg_id
                time.sleep(float(posted.headers["retry-after"]))
                posted = client.post(f"/api/channels/{channel['id']}/messages", json=body)
            posted.raise_for_status()
    page = alice.page
    page.reload()
    page.click(f"[data-channel-id='{channel['id']}']")
    expect(page.locator("#message-list li")).to_have_count(50, timeout=WAIT_MS)  # the newest page
    expect(page.locator("#message-list")).not_to_contain_text("history 09")
    page.locator("#messages").evaluate("(box) => { box.scrollTop = 0; }")
    expect(page.locator("#message-list li")).to_have_count(60, timeout=WAIT_MS)
    expect(page.locator("#message-list li").first).to_contain_text("history 00")

    page.select_option("#status-picker", "away")
    page.click("#settings-button")
    expect(page.locator("#settings-panel")).to_be_visible(timeout=WAIT_MS)
    page.uncheck("#settings-form input[name=sound]")
    page.select_option(f"#settings-form select[name='level:{channel['id']}']", "all")
    page.click("#settings-form button[type=submit]")
    expect(page.locator("#settings-saved")).to_have_text("Saved", timeout=WAIT_MS)
    page.screenshot(path=REPORTS / "settings.png")
    with topology.client(headers=headers) as client:
        assert client.get("/api/me").json()["status"] == "away"
        preferences = client.get("/api/notification-preferences").json()
    assert preferences["sound"] is False
    assert {"channel_id": channel["id"], "level": "all", "muted": False} in preferences["channels"]
