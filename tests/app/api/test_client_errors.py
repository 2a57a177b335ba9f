"""POST /api/client-errors: 202, bounded, redacted in the log, rate limited per user."""

import json
import time

from relay.logging import REDACTED
from tests.utils.tokens import new_user_id

REPORT = {
    "message": "TypeError: x is undefined",
    "url": "https://localhost:8443/app",
    "user_agent": "Chromium",
}


def _logged(relay_server, user_id: str) -> list[dict]:
    lines = []
    for line in relay_server.log_file.read_text().splitlines():
        if line.startswith("{") and user_id in line and '"client.error"' in line:
            lines.append(json.loads(line))
    return lines


def test_a_report_is_accepted_and_logged_redacted_and_bounded(api, relay_server, signing_keys) -> None:
    user_id = new_user_id("alice")
    token = signing_keys.mint(user_id)
    report = {
        **REPORT,
        "message": "boom " + "x" * 1900,
        "stack": f"Error at fetch (Authorization: Bearer {token})",
        "url": f"https://localhost:8443/app?token={token}#frag",
    }
    response = api(user_id).post("/client-errors", json=report)
    assert response.status_code == 202 and response.json() == {"status": "accepted"}
    for _ in range(50):
        if entries := _logged(relay_server, user_id):
            break
        time.sleep(0.1)
    [entry] = entries
    assert entry["client_message"].startswith("boom ") and len(entry["client_message"]) == 500
    assert entry["page"] == "https://localhost:8443/app"
    assert token not in json.dumps(entry)
    assert REDACTED in entry["client_stack"]


def test_oversized_or_incomplete_reports_are_422(api) -> None:
    client = api(new_user_id("alice"))
    assert client.post("/client-errors", json={**REPORT, "message": "x" * 2001}).status_code == 422
    missing = client.post("/client-errors", json={"message": "x"})
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_request"


def test_reports_are_rate_limited_per_user(api) -> None:
    client, other = api(new_user_id("alice")), api(new_user_id("bob"))
    answers = [client.post("/client-errors", json=REPORT).status_code for _ in range(15)]
    assert answers.count(429) >= 3 and answers[0] == 202
    refused = client.post("/client-errors", json=REPORT)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert refused.json()["error"]["code"] == "rate_limited"
    assert other.post("/client-errors", json=REPORT).status_code == 202
