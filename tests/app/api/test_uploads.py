"""Uploads against the real S3-compatible server (moto): presign -> browser POST -> complete -> read.

moto enforces no presigned-POST condition (DESIGN §3), so each test decodes the returned policy and
asserts its conditions, and the lying-client cases show `complete` catching what AWS would refuse.
"""

import base64
import json
import time

import httpx
import pytest

from tests.utils.tokens import new_user_id

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _presign(client, filename: str, content_type: str, size: int):
    return client.post("/uploads", json={"filename": filename, "content_type": content_type, "size": size})


def _browser_post(presigned: dict, content: bytes, content_type: str, **field_overrides) -> httpx.Response:
    """What a browser's multipart form POST to the returned URL sends: the fields, then the file."""
    fields = {**presigned["fields"], **field_overrides}
    return httpx.post(
        presigned["url"], data=fields, files={"file": ("upload", content, content_type)}, timeout=10
    )


def _policy(presigned: dict) -> dict:
    return json.loads(base64.b64decode(presigned["fields"]["policy"]))


def _upload(client, filename: str, content: bytes, content_type: str) -> dict:
    presigned = _presign(client, filename, content_type, len(content))
    assert presigned.status_code == 201, presigned.text
    assert _browser_post(presigned.json(), content, content_type).status_code in (200, 204)
    return presigned.json()


def test_browser_upload_completes_and_reads_back_the_same_bytes(api) -> None:
    alice = api(new_user_id("alice"))
    presigned = _upload(alice, "holiday.png", PNG, "image/png")
    done = alice.post(f"/uploads/{presigned['id']}/complete")
    assert done.status_code == 200, done.text
    upload = done.json()
    assert (upload["status"], upload["reason"], upload["size"]) == ("ready", None, len(PNG))
    fetched = httpx.get(upload["url"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == PNG
    assert alice.get(f"/uploads/{presigned['id']}").json()["status"] == "ready"


def test_policy_pins_the_exact_key_type_disposition_and_size(api) -> None:
    user_id = new_user_id("alice")
    response = _presign(api(user_id), "report.pdf", "application/pdf", 1234)
    assert response.status_code == 201
    presigned = response.json()
    conditions = _policy(presigned)["conditions"]
    key = presigned["fields"]["key"]
    assert key.startswith(f"uploads/{user_id}/") and key.endswith("/report.pdf")
    assert len(key.split("/")) == 4 and len(key.split("/")[2]) == 32  # a random segment per upload
    assert {"key": key} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert {"Content-Disposition": 'attachment; filename="report.pdf"'} in conditions
    assert ["content-length-range", 1234, 1234] in conditions
    assert presigned["fields"]["Content-Disposition"] == 'attachment; filename="report.pdf"'
    assert not any(isinstance(c, list) and c[0] == "starts-with" for c in conditions)


def test_only_raster_images_are_served_inline(api) -> None:
    alice = api(new_user_id("alice"))
    png = _presign(alice, "a.png", "image/png", 10).json()
    assert png["fields"]["Content-Disposition"] == 'inline; filename="a.png"'
    html = _presign(alice, "page.html", "text/plain", 10).json()
    assert html["fields"]["Content-Disposition"].startswith("attachment;")


@pytest.mark.parametrize(
    ("filename", "key_end"),
    [
        ("../../etc/passwd", "/passwd"),
        ("..\\..\\windows\\win.ini", "/win.ini"),
        ("evil\r\nX-Header: 1.txt", "/evilX-Header_1.txt"),
        ('quote".txt', "/quote_.txt"),
        ("...", "/file"),
    ],
)
def test_path_traversal_and_control_characters_are_neutralised(api, filename, key_end) -> None:
    user_id = new_user_id("alice")
    presigned = _presign(api(user_id), filename, "text/plain", 5).json()
    key = presigned["fields"]["key"]
    assert key.endswith(key_end), key
    assert key.startswith(f"uploads/{user_id}/") and ".." not in key
    assert all(ord(ch) >= 0x20 for ch in presigned["fields"]["Content-Disposition"])


def test_oversize_and_unlisted_types_are_refused_at_presign(api) -> None:
    alice = api(new_user_id("alice"))
    too_big = _presign(alice, "big.png", "image/png", 10 * 1024 * 1024 + 1)
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "file_too_large"
    assert "10485760" in too_big.json()["error"]["message"]
    html = _presign(alice, "x.html", "text/html", 10)
    assert html.status_code == 415
    assert html.json()["error"]["code"] == "unsupported_type"


def test_complete_rejects_and_deletes_an_object_larger_than_declared(api, s3_server) -> None:
    alice = api(new_user_id("alice"))
    presigned = _presign(alice, "small.txt", "text/plain", 10).json()
    # moto stores it although the policy says [10, 10]; AWS would refuse this POST.
    assert _browser_post(presigned, b"x" * 300_000, "text/plain").status_code in (200, 204)
    done = alice.post(f"/uploads/{presigned['id']}/complete").json()
    assert done["status"] == "rejected" and done["reason"].startswith("wrong size")
    assert done["url"] is None
    listing = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=presigned["fields"]["key"])
    assert listing.get("KeyCount", 0) == 0


def test_complete_rejects_a_type_other_than_declared(api) -> None:
    alice = api(new_user_id("alice"))
    presigned = _presign(alice, "photo.png", "image/png", 12).json()
    lie = _browser_post(presigned, b"<html></html", "text/html", **{"Content-Type": "text/html"})
    assert lie.status_code in (200, 204)
    done = alice.post(f"/uploads/{presigned['id']}/complete").json()
    assert done["status"] == "rejected" and done["reason"].startswith("wrong type")


def test_complete_rejects_an_object_stored_without_the_attachment_disposition(api) -> None:
    alice = api(new_user_id("alice"))
    presigned = _presign(alice, "page.txt", "text/plain", 5).json()
    fields = {k: v for k, v in presigned["fields"].items() if k != "Content-Disposition"}
    assert _browser_post({**presigned, "fields": fields}, b"hello", "text/plain").status_code in (200, 204)
    done = alice.post(f"/uploads/{presigned['id']}/complete").json()
    assert done["status"] == "rejected" and "Content-Disposition" in done["reason"]


def test_a_name_that_is_not_plain_ascii_is_stored_with_filename_star(api) -> None:
    alice = api(new_user_id("alice"))
    presigned = _upload(alice, "résumé.txt", b"hello", "text/plain")
    assert presigned["fields"]["Content-Disposition"] == (
        "attachment; filename=\"resume.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    )
    done = alice.post(f"/uploads/{presigned['id']}/complete").json()
    assert (done["status"], done["filename"]) == ("ready", "résumé.txt")


def test_an_upload_presigned_by_the_previous_release_without_filename_star_still_completes(api) -> None:
    """During a deploy, for one upload URL lifetime, browsers send the fields the old release gave."""
    alice = api(new_user_id("alice"))
    presigned = _presign(alice, "résumé.txt", "text/plain", 5).json()
    previous = 'attachment; filename="resume.txt"'
    assert _browser_post(
        presigned, b"hello", "text/plain", **{"Content-Disposition": previous}
    ).status_code in (
        200,
        204,
    )
    assert alice.post(f"/uploads/{presigned['id']}/complete").json()["status"] == "ready"


def test_complete_without_an_upload_is_rejected_as_missing_and_stays_rejected(api) -> None:
    alice = api(new_user_id("alice"))
    presigned = _presign(alice, "never.txt", "text/plain", 5).json()
    done = alice.post(f"/uploads/{presigned['id']}/complete").json()
    assert done["status"] == "rejected" and done["reason"].startswith("missing")
    assert _browser_post(presigned, b"hello", "text/plain").status_code in (200, 204)
    assert alice.post(f"/uploads/{presigned['id']}/complete").json()["status"] == "rejected"


def test_uploads_are_the_uploaders_alone(api) -> None:
    alice, mallory = api(new_user_id("alice")), api(new_user_id("mallory"))
    presigned = _upload(alice, "mine.txt", b"hello", "text/plain")
    upload_id = presigned["id"]
    answers = [
        mallory.get(f"/uploads/{upload_id}"),
        mallory.post(f"/uploads/{upload_id}/complete"),
        mallory.delete(f"/uploads/{upload_id}"),
    ]
    assert [r.status_code for r in answers] == [404, 404, 404]
    assert {r.json()["error"]["code"] for r in answers} == {"not_found"}
    assert alice.get(f"/uploads/{upload_id}").json()["status"] == "pending"


def test_delete_removes_the_object_and_the_upload(api, s3_server) -> None:
    alice = api(new_user_id("alice"))
    presigned = _upload(alice, "gone.txt", b"bye", "text/plain")
    assert alice.post(f"/uploads/{presigned['id']}/complete").json()["status"] == "ready"
    assert alice.delete(f"/uploads/{presigned['id']}").status_code == 204
    assert alice.get(f"/uploads/{presigned['id']}").status_code == 404
    listing = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix=presigned["fields"]["key"])
    assert listing.get("KeyCount", 0) == 0


def _post_message(client, channel_id: str, **extra):
    payload = {"body": "see file", "client_msg_id": new_user_id("cm"), **extra}
    return client.post(f"/channels/{channel_id}/messages", json=payload)


def test_messages_carry_ready_attachments_with_a_read_url(api) -> None:
    alice, bob = api(new_user_id("alice")), api(new_user_id("bob"))
    channel = alice.post("/channels", json={"name": "files"}).json()
    bob.post(f"/channels/{channel['id']}/join")
    presigned = _upload(alice, "notes.txt", b"notes", "text/plain")
    alice.post(f"/uploads/{presigned['id']}/complete")
    posted = _post_message(alice, channel["id"], attachment_ids=[presigned["id"]])
    assert posted.status_code == 201, posted.text
    [attachment] = posted.json()["attachments"]
    assert (attachment["id"], attachment["filename"]) == (presigned["id"], "notes.txt")
    [seen] = bob.get(f"/channels/{channel['id']}/messages").json()["messages"]
    fetched = httpx.get(seen["attachments"][0]["url"], timeout=10)
    assert fetched.content == b"notes"
    assert fetched.headers["content-disposition"].startswith("attachment;")


def test_only_the_senders_own_ready_unused_uploads_can_be_attached(api) -> None:
    alice, bob = api(new_user_id("alice")), api(new_user_id("bob"))
    channel = alice.post("/channels", json={"name": "files"}).json()
    bob.post(f"/channels/{channel['id']}/join")
    pending = _upload(alice, "p.txt", b"p", "text/plain")
    assert _post_message(alice, channel["id"], attachment_ids=[pending["id"]]).status_code == 409
    alice.post(f"/uploads/{pending['id']}/complete")
    stolen = _post_message(bob, channel["id"], attachment_ids=[pending["id"]])
    assert stolen.status_code == 404 and stolen.json()["error"]["code"] == "not_found"
    assert _post_message(alice, channel["id"], attachment_ids=[pending["id"]]).status_code == 201
    reused = _post_message(alice, channel["id"], attachment_ids=[pending["id"]])
    assert reused.status_code == 409 and "already attached" in reused.json()["error"]["message"]
    assert [m["body"] for m in bob.get(f"/channels/{channel['id']}/messages").json()["messages"]] == [
        "see file"
    ]


def _stored_keys(s3_server, *keys: str) -> set[str]:
    listing = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix="uploads/")
    return {item["Key"] for item in listing.get("Contents", [])} & set(keys)


def test_deleting_a_message_removes_its_files_from_the_bucket_and_keeps_others(api, s3_server) -> None:
    alice = api(new_user_id("alice"))
    channel = alice.post("/channels", json={"name": "files"}).json()["id"]
    uploads = [_upload(alice, f"{name}.txt", name.encode(), "text/plain") for name in ("a", "b", "kept")]
    for upload in uploads:
        assert alice.post(f"/uploads/{upload['id']}/complete").json()["status"] == "ready"
    doomed = _post_message(alice, channel, attachment_ids=[u["id"] for u in uploads[:2]]).json()
    kept = _post_message(alice, channel, attachment_ids=[uploads[2]["id"]]).json()
    keys = [upload["fields"]["key"] for upload in uploads]
    assert _stored_keys(s3_server, *keys) == set(keys)

    tombstone = alice.delete(f"/channels/{channel}/messages/{doomed['id']}")
    assert tombstone.status_code == 200 and tombstone.json()["attachments"] == []
    deadline = time.monotonic() + 10  # the sweep runs right after the delete, off the request
    while _stored_keys(s3_server, *keys) != {keys[2]}:
        assert time.monotonic() < deadline, f"still stored: {_stored_keys(s3_server, *keys)}"
        time.sleep(0.1)
    assert [alice.get(f"/uploads/{u['id']}").status_code for u in uploads] == [404, 404, 200]
    history = {m["id"]: m for m in alice.get(f"/channels/{channel}/messages").json()["messages"]}
    assert history[doomed["id"]]["deleted_at"] and history[doomed["id"]]["attachments"] == []
    assert httpx.get(history[kept["id"]]["attachments"][0]["url"], timeout=10).content == b"kept"
    again = alice.delete(f"/channels/{channel}/messages/{doomed['id']}")  # idempotent tombstone
    assert again.status_code == 200


def test_upload_routes_declare_their_4xx_bodies(api) -> None:
    document = api(new_user_id("alice")).get("/openapi.json").json()
    create = document["paths"]["/api/uploads"]["post"]["responses"]
    for status in ("400", "401", "413", "415", "422", "429"):
        assert create[status]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody"), status
    for path in ("/api/uploads/{upload_id}", "/api/uploads/{upload_id}/complete"):
        for operation in document["paths"][path].values():
            assert "404" in operation["responses"], path
