"""The suite's guards read real answers: what haproxy refuses by itself and what a replica answers
both reach the collector that fails the suite on a 5xx (tests/security/conftest.py)."""

import time
import uuid

import httpx

from tests.utils.response_log import Answer, ResponseLog


def answers_until(response_log: ResponseLog, since: dict[str, int], wanted: int) -> list[Answer]:
    deadline = time.monotonic() + 5
    while len(response_log.answers(since)) < wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    return response_log.answers(since)


def test_the_5xx_guard_sees_answers_from_haproxy_and_from_the_replicas(
    lb: httpx.Client, response_log: ResponseLog
) -> None:
    since = response_log.mark()
    probe = f"/api/harness-probe-{uuid.uuid4().hex}"
    assert lb.get("/metrics").status_code == 403  # haproxy's own answer
    assert lb.get(probe).status_code == 404  # a replica's
    seen = {
        (a.source.split()[0], a.status, a.request.split()[1].split("?")[0])
        for a in answers_until(response_log, since, 3)
    }
    assert ("haproxy", 403, "/metrics") in seen
    assert ("haproxy", 404, probe) in seen
    assert ("replica", 404, probe) in seen
