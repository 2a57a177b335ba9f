"""The smoke verification `make up` ends with, run against the test topology (topology/smoke.py)."""

from topology.smoke import run_smoke


def test_smoke_covers_health_sign_in_upload_search_and_a_message_across_replicas(healthy) -> None:
    passed = run_smoke(healthy)
    assert len(passed) == 5
    assert passed[2].startswith("upload:") and "same" in passed[2]
    assert passed[3].startswith("search:")
    assert "delivered over websocket" in passed[4]
