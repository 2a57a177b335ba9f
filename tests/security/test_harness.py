"""The suite's guards read real answers: what haproxy refuses by itself, what a replica answers, and
what the package's own single server answers (token and CSRF cases) all reach the collector that
fails the suite on a 5xx or a traceback (tests/security/conftest.py); and that collector does fail
when a server answers 500."""

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.security.conftest import CLIENT_TIMEOUT, assert_well_answered
from tests.security.faulty_relay import FAULT, FAULTY_RELAY
from tests.utils.relay_process import RelayProcess
from tests.utils.response_log import ResponseLog
from tests.utils.tokens import SigningKeys, new_user_id


def seen_until(response_log: ResponseLog, since: dict[str, int], wanted: set[tuple]) -> set[tuple]:
    """(source kind, status, path) of each answer since `since`, once all of `wanted` are there or
    5 s have passed: a replica writes its access line after it has answered (health checks too)."""
    deadline = time.monotonic() + 5
    while True:
        seen = {
            (a.source.split()[0], a.status, a.request.split()[1].split("?")[0])
            for a in response_log.answers(since)
        }
        if wanted <= seen or time.monotonic() > deadline:
            return seen
        time.sleep(0.1)


def test_the_5xx_guard_sees_answers_from_haproxy_and_from_the_replicas(
    lb: httpx.Client, response_log: ResponseLog
) -> None:
    since = response_log.mark()
    probe = f"/api/harness-probe-{uuid.uuid4().hex}"
    assert lb.get("/metrics").status_code == 403  # haproxy's own answer
    assert lb.get(probe).status_code == 404  # a replica's
    wanted = {("haproxy", 403, "/metrics"), ("haproxy", 404, probe), ("replica", 404, probe)}
    assert wanted <= seen_until(response_log, since, wanted)


def test_the_5xx_guard_sees_answers_of_the_server_the_token_and_csrf_cases_attack(
    relay_server: RelayProcess, response_log: ResponseLog
) -> None:
    since = response_log.mark()
    probe = f"/api/harness-probe-{uuid.uuid4().hex}"
    assert httpx.get(f"{relay_server.url}{probe}", timeout=CLIENT_TIMEOUT).status_code == 404
    wanted = {("security", 404, probe)}  # the source "security relay"
    assert wanted <= seen_until(response_log, since, wanted)


@pytest.fixture(scope="module")
def faulty_relay(
    relay_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RelayProcess]:
    """A relay whose GET /api/me raises; read by a collector of its own, never the suite's."""
    env = {**relay_env, "RELAY_LOG_LEVEL": "INFO"}
    log_dir = tmp_path_factory.mktemp("faulty-relay")
    with RelayProcess.start(env, log_dir, name="faulty-relay", prefix=FAULTY_RELAY) as server:
        yield server


def test_a_500_with_a_traceback_fails_the_guard(
    faulty_relay: RelayProcess, signing_keys: SigningKeys
) -> None:
    collector = ResponseLog({"faulty relay": faulty_relay.log_file})
    since = collector.mark()
    token = signing_keys.mint(new_user_id("guarded"))
    response = httpx.get(
        f"{faulty_relay.url}/api/me", headers={"Authorization": f"Bearer {token}"}, timeout=CLIENT_TIMEOUT
    )
    assert response.status_code == 500
    deadline = time.monotonic() + 5  # uvicorn logs the traceback after the access line
    while not collector.tracebacks(since) and time.monotonic() < deadline:
        time.sleep(0.1)
    with pytest.raises(AssertionError, match="5xx answered") as failure:
        assert_well_answered(collector, since)
    assert "faulty relay: 500" in str(failure.value) and "GET /api/me" in str(failure.value)
    assert collector.tracebacks(since), "the guard did not see the traceback"
    assert FAULT in faulty_relay.log_file.read_text()  # it is the injected one (tracebacks() truncates)
