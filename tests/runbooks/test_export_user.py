"""`export-user`: the service's own `relay export-user` against the test topology, run directly
(`--local`) and through `kubectl exec`/`kubectl cp`.

The kubectl here is the recording fake (conftest.py) with FAKE_KUBECTL_LOCAL: its exec runs the
command on this machine with the topology's settings, and its cp copies the file. So the command
lines are asserted and the archive is real, but no real cluster has run them.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile

import pytest

from runbooks import export_user


@pytest.fixture(scope="module")
def author(topology, tokens) -> dict[str, str]:
    """A user with one message in a channel of their own, posted through the load balancer."""
    user = f"export-{uuid.uuid4().hex[:8]}"
    body = f"export me {uuid.uuid4().hex}"
    with topology.client(headers={"Authorization": f"Bearer {tokens.token(user)}"}) as client:
        channel = client.post("/api/channels", json={"name": f"export-{user}"}).json()["id"]
        posted = client.post(f"/api/channels/{channel}/messages", json={"body": body, "client_msg_id": user})
        assert posted.status_code == 201, posted.text
    return {"user": user, "body": body}


def archived_bodies(path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        messages = json.loads(archive.read("messages.json"))
    assert "messages.json" in names
    return [message["body"] for message in messages]


def test_local_export_holds_the_users_messages(topology, author, tmp_path, capsys):
    output = tmp_path / "export.zip"
    workdir = str(topology.layout.workdir)
    argv = [author["user"], "--output", str(output), "--local", "--topology-dir", workdir]
    assert export_user.main([*argv, "--json"]) == 0, capsys.readouterr().err
    record = json.loads(capsys.readouterr().out)
    assert author["body"] in archived_bodies(output)
    assert record["after"]["sha256"] == hashlib.sha256(output.read_bytes()).hexdigest()
    assert record["who"] and record["details"]["user"] == author["user"]


def test_an_unknown_user_exits_1_and_writes_nothing(topology, tmp_path, capsys):
    output = tmp_path / "export.zip"
    argv = ["nobody-" + uuid.uuid4().hex[:8], "--output", str(output), "--local"]
    assert export_user.main([*argv, "--topology-dir", str(topology.layout.workdir)]) == 1
    assert not output.exists()
    assert "export-user failed: relay export-user exited 1" in capsys.readouterr().err


def test_an_existing_output_is_never_overwritten(tmp_path, capsys):
    output = tmp_path / "export.zip"
    output.write_bytes(b"someone else's file")
    assert export_user.main(["alice", "--output", str(output), "--local"]) == 1
    assert output.read_bytes() == b"someone else's file"
    assert "nothing was overwritten" in capsys.readouterr().err


def test_in_the_cluster_it_execs_in_one_running_pod_copies_out_and_cleans_up(
    topology, author, fake_tools, tmp_path, monkeypatch, capsys
):
    for variable, value in topology.relay_env().items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("FAKE_KUBECTL_LOCAL", "1")
    monkeypatch.setenv("FAKE_KUBECTL_POD", "relay-7d9f-abcde")
    output = tmp_path / "export.zip"
    assert export_user.main([author["user"], "--output", str(output), "--json"]) == 0, capsys.readouterr().err
    calls = fake_tools.calls()
    remote = calls[1][-1]
    assert remote.startswith("/tmp/relay-export-") and author["user"] not in remote
    assert calls == [
        ["kubectl", "get", "pods", "-n", "relay", "-l", export_user.APP_SELECTOR,
         "--field-selector=status.phase=Running", "-o", "jsonpath={.items[0].metadata.name}"],
        ["kubectl", "exec", "relay-7d9f-abcde", "-n", "relay", "-c", "relay", "--",
         "relay", "export-user", author["user"], "--output", remote],
        ["kubectl", "cp", "-c", "relay", f"relay/relay-7d9f-abcde:{remote}", str(output)],
        ["kubectl", "exec", "relay-7d9f-abcde", "-n", "relay", "-c", "relay", "--", "rm", "-f", remote],
    ]  # fmt: skip
    assert author["body"] in archived_bodies(output)
    assert json.loads(capsys.readouterr().out)["details"]["pod"] == "relay-7d9f-abcde"


def test_no_running_pod_is_a_clear_failure(fake_tools, tmp_path, capsys):
    assert export_user.main(["alice", "--output", str(tmp_path / "x.zip")]) == 1
    assert len(fake_tools.calls()) == 1
    assert "no running relay pod in namespace relay" in capsys.readouterr().err
