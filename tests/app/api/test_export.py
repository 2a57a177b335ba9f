"""User data export: everything the user authored, nothing of anyone else's, by REST and by CLI."""

import io
import json
import uuid
import zipfile

import httpx
import pytest

from tests.utils.relay_process import run_relay
from tests.utils.tokens import new_user_id


def _post(client, channel_id: str, body: str, **extra) -> dict:
    payload = {"body": body, "client_msg_id": new_user_id("cm"), **extra}
    response = client.post(f"/channels/{channel_id}/messages", json=payload)
    assert response.status_code == 201, response.text
    return response.json()


def _upload(client, name: str, content: bytes) -> str:
    presigned = client.post(
        "/uploads", json={"filename": name, "content_type": "text/plain", "size": len(content)}
    )
    post = presigned.json()
    httpx.post(post["url"], data=post["fields"], files={"file": (name, content, "text/plain")}, timeout=10)
    assert client.post(f"/uploads/{post['id']}/complete").json()["status"] == "ready"
    return post["id"]


@pytest.fixture
def history(api):
    """alice and bob talk in a shared channel; bob also has a private channel with carol."""
    alice_id, bob_id, carol_id = new_user_id("alice"), new_user_id("bob"), new_user_id("carol")
    alice, bob, carol = api(alice_id), api(bob_id), api(carol_id)
    secret = f"bobsecret{uuid.uuid4().hex[:8]}"
    shared = alice.post("/channels", json={"name": "shared"}).json()["id"]
    bob.post(f"/channels/{shared}/join")
    private = bob.post("/channels", json={"name": "bob-and-carol", "private": True}).json()["id"]
    bob.post(f"/channels/{private}/members", json={"user_id": carol.get("/me").json()["id"]})
    bob_question = _post(bob, shared, f"question {secret}")
    _post(bob, private, f"private {secret}")
    _upload(bob, "bob.txt", secret.encode())
    alice_file = _upload(alice, "alice notes.txt", b"alice's own bytes")
    mine = [
        _post(alice, shared, "first from alice"),
        _post(alice, shared, "an answer", parent_id=bob_question["id"]),
        _post(alice, shared, "with a file", attachment_ids=[alice_file]),
    ]
    deleted = _post(alice, shared, "regretted")
    alice.delete(f"/channels/{shared}/messages/{deleted['id']}")
    return alice, alice_id, [*mine, deleted], alice_file, secret, private


def _contents(archive: zipfile.ZipFile) -> dict[str, bytes]:
    return {name: archive.read(name) for name in archive.namelist()}


def test_export_holds_every_message_and_file_the_user_authored_and_nobody_elses(history) -> None:
    alice, alice_id, mine, alice_file, secret, private = history
    response = alice.get("/me/export")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith("attachment")
    contents = _contents(zipfile.ZipFile(io.BytesIO(response.content)))
    assert {
        "profile.json",
        "memberships.json",
        "messages.json",
        "notification_settings.json",
        "files.json",
    } <= set(contents)
    assert json.loads(contents["profile.json"])["id"] == alice_id
    messages = json.loads(contents["messages.json"])
    assert [m["id"] for m in messages] == [m["id"] for m in mine]
    assert messages[-1]["deleted_at"] is not None and messages[-1]["body"] == ""
    assert contents[f"files/{alice_file}/alice_notes.txt"] == b"alice's own bytes"
    assert private not in contents["memberships.json"].decode()
    everything = b"".join(contents.values())
    assert secret.encode() not in everything  # bob's messages and bob's file are not in it


def test_export_needs_a_signed_in_user(relay_server) -> None:
    response = httpx.get(f"{relay_server.url}/api/me/export")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


def test_admin_command_writes_the_same_archive(history, relay_env, tmp_path) -> None:
    alice, alice_id, _mine, _file, secret, _private = history
    over_rest = _contents(zipfile.ZipFile(io.BytesIO(alice.get("/me/export").content)))
    output = tmp_path / "alice.zip"
    result = run_relay(relay_env, "export-user", alice_id, "--output", str(output))
    assert result.returncode == 0, result.stderr
    by_cli = _contents(zipfile.ZipFile(output))
    assert by_cli == over_rest
    unknown = run_relay(relay_env, "export-user", "nobody-" + secret, "--output", str(tmp_path / "x.zip"))
    assert unknown.returncode == 1 and "not found" in unknown.stderr
    assert not (tmp_path / "x.zip").exists()
