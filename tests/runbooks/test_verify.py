"""`verify` against a real topology (haproxy, two replicas, its own Redis, moto S3): it passes, it
names the real-time check when Redis is gone, and it passes with a replica killed."""

from __future__ import annotations

import json
import os
import signal
import time

import jwt

from relay.auth.token_source import TokenSource
from runbooks import verify
from runbooks.verify_checks import CHANNEL_NAME
from topology import Topology, redis_server
from topology.__main__ import verify_topology

EVERY_CHECK = [
    "health and TLS",
    "security headers",
    "sign-in",
    "shared channel",
    "real-time message",
    "file upload",
    "search",
    "status change",
    "clean-up",
]


def run(topology: Topology, tokens: TokenSource):
    record, lines = verify.verify(topology.url, tokens, context=topology.ssl_context())
    print("\n".join(lines))  # shown with a failure, and with -s
    return record, lines, {check["name"]: check for check in record.details["checks"]}


def channel_state(topology: Topology, tokens: TokenSource) -> tuple[list[str], list[dict]]:
    """The ids of every `relay-verify` channel and the live (not tombstoned) messages in them."""
    headers = {"Authorization": f"Bearer {tokens.token(verify.USERS[0])}"}
    with topology.client(headers=headers) as client:
        channels = client.get("/api/channels", params={"scope": "public"}).json()["channels"]
        ids = [c["id"] for c in channels if c["name"] == CHANNEL_NAME]
        live = [
            message
            for channel_id in ids
            for message in client.get(f"/api/channels/{channel_id}/messages").json()["messages"]
            if not message["deleted_at"]
        ]
    return ids, live


def test_verify_passes_every_check_and_leaves_nothing_that_grows(healthy, tokens, capsys):
    started = time.monotonic()
    record, lines, checks = run(healthy, tokens)
    elapsed = time.monotonic() - started
    assert record.ok, "\n".join(lines)
    assert list(checks) == EVERY_CHECK
    assert all(check["ok"] for check in checks.values()), "\n".join(lines)
    assert elapsed < 30, f"verify took {elapsed:.1f} s (budget 30 s)\n" + "\n".join(lines)
    first_channels, live = channel_state(healthy, tokens)
    assert len(first_channels) == 1 and live == []

    record, lines, checks = run(healthy, tokens)  # a second run reuses the channel
    assert record.ok, "\n".join(lines)
    assert checks["shared channel"]["detail"].startswith("reused")
    assert channel_state(healthy, tokens) == (first_channels, [])
    upload_id = checks["file upload"]["detail"].split()[1].rstrip(":")
    headers = {"Authorization": f"Bearer {tokens.token(verify.USERS[0])}"}
    with healthy.client(headers=headers) as client:
        assert client.get(f"/api/uploads/{upload_id}").status_code == 404


def test_the_table_names_each_check_with_its_time(topology, tokens):
    _, lines, _ = run(topology, tokens)
    assert lines[0].split()[:3] == ["check", "result", "seconds"]
    for name, line in zip(EVERY_CHECK, lines[1:], strict=False):
        assert line.startswith(name) and " ok " in line
        assert float(line[len(name) :].split()[1]) >= 0


def test_with_a_replica_killed_verify_still_passes(healthy, tokens):
    """r1 is killed and kept down (its supervisor paused, as a crash-looping pod would be); once
    haproxy's health checks take it out of rotation, every check passes on r2 alone."""
    supervisor = healthy.replicas.supervisor_pid()
    os.kill(supervisor, signal.SIGSTOP)
    try:
        old_pid = healthy.kill_replica("r1", signal.SIGKILL)
        healthy.wait_replica_state("r1", "DOWN")
        record, lines, checks = run(healthy, tokens)
    finally:
        os.kill(supervisor, signal.SIGCONT)
    assert record.ok, "\n".join(lines)
    assert "replicas r2, r2" in checks["real-time message"]["detail"]
    healthy.replicas.wait_restarted("r1", old_pid)


def test_make_up_ends_with_this_verify(healthy, capsys):
    """`python -m topology up` (make up) runs the same checks, with tokens minted for its topology."""
    verify_topology(healthy)
    printed = capsys.readouterr().out
    assert [line.split()[0] for line in printed.splitlines()[1:-1]] == [
        name.split()[0] for name in EVERY_CHECK
    ]


def test_the_command_mints_for_the_topology_it_is_pointed_at(topology, capsys, monkeypatch):
    """`python -m runbooks verify` with the load tests' token source: minted with this topology's key."""
    monkeypatch.setenv("RELAY_TOPOLOGY_ENV_FILE", str(topology.layout.env_file))
    for variable in ("RELAY_TEST_TOKEN_COMMAND", "RELAY_TEST_TOKEN_FILE"):
        monkeypatch.delenv(variable, raising=False)
    code = verify.main([topology.url, "--ca-cert", str(topology.layout.ca_cert), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert [c["name"] for c in json.loads(captured.out)["details"]["checks"]] == EVERY_CHECK


def test_a_token_the_service_refuses_fails_sign_in_without_showing_it(
    topology, tmp_path, capsys, monkeypatch
):
    forged = jwt.encode(
        {"sub": "relay-verify-a", "exp": int(time.time()) + 600},
        "a key the service has never seen, 32+ bytes",
        algorithm="HS256",
    )
    token_file = tmp_path / "tokens.json"
    token_file.write_text(json.dumps(dict.fromkeys(verify.USERS, forged)))
    monkeypatch.setenv("RELAY_TEST_TOKEN_FILE", str(token_file))
    monkeypatch.delenv("RELAY_TEST_TOKEN_COMMAND", raising=False)
    code = verify.main([topology.url, "--ca-cert", str(topology.layout.ca_cert), "--json"])
    captured = capsys.readouterr()
    assert code == 1
    document = json.loads(captured.out)
    assert [c["name"] for c in document["details"]["checks"] if c["ok"] is False] == ["sign-in"]
    assert "verify failed: sign-in: GET /api/me as relay-verify-a answered 401" in captured.err
    assert forged not in captured.out + captured.err


def test_without_a_token_source_it_says_which_variables_to_set(topology, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RELAY_TOPOLOGY_ENV_FILE", str(tmp_path / "missing.env"))
    for variable in ("RELAY_TEST_TOKEN_COMMAND", "RELAY_TEST_TOKEN_FILE"):
        monkeypatch.delenv(variable, raising=False)
    assert verify.main([topology.url, "--ca-cert", str(topology.layout.ca_cert)]) == 1
    err = capsys.readouterr().err
    assert "RELAY_TEST_TOKEN_COMMAND" in err and "RELAY_TEST_TOKEN_FILE" in err


def test_a_url_without_tls_is_refused_before_anything_runs(topology, capsys):
    code = verify.main([f"http://127.0.0.1:{topology.ports.http}"])
    assert code == 1
    assert "verify failed: http://127.0.0.1" in capsys.readouterr().err


def test_with_redis_stopped_verify_fails_on_the_real_time_check(healthy, tokens):
    """Last in this module: after a Redis restart a replica's pooled connections are stale, and the
    first command on each fails once (app/src/relay/main.py's pool has no retry on a dead
    connection), which would fail a presence lookup in the next run."""
    redis_server.stop(healthy.layout)
    try:
        record, lines, checks = run(healthy, tokens)
    finally:
        redis_server.start(healthy.ports, healthy.layout, persist=False)
        healthy.wait_healthy()
    assert not record.ok
    assert [name for name, check in checks.items() if check["ok"] is False] == ["real-time message"], (
        "\n".join(lines)
    )
    assert all(checks[name]["ok"] for name in EVERY_CHECK[:4])
    assert record.error.startswith("real-time message: ")
    assert "redis" in record.error.lower()
