"""S3 unreachable: routes that need it answer 503 `storage_unavailable` (never 500), nothing is
half-done, and everything completes once S3 is back.

A replica of its own reaches the session's moto through a TCP fault proxy (tests/utils/fault_proxy.py);
`refuse()` is the outage both for the replica and for the browser-style POST to the presigned URL.
"""

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.app.api.test_uploads import _browser_post, _presign
from tests.utils.fault_proxy import FaultProxy
from tests.utils.relay_process import RelayProcess
from tests.utils.s3_server import S3Server
from tests.utils.tokens import new_user_id


@pytest.fixture
def s3_proxy(s3_server: S3Server) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream_port=s3_server.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def replica(relay_env, s3_proxy: FaultProxy, tmp_path) -> Iterator[RelayProcess]:
    env = {
        **relay_env,
        "RELAY_S3_ENDPOINT_URL": f"http://127.0.0.1:{s3_proxy.port}",
        "RELAY_OBJECT_SWEEP_SECONDS": "0.5",
    }
    with RelayProcess.start(env, tmp_path, name="s3-proxied") as server:
        yield server


def _keys(s3_server: S3Server, *keys: str) -> set[str]:
    listing = s3_server.client().list_objects_v2(Bucket=s3_server.bucket, Prefix="uploads/")
    return {item["Key"] for item in listing.get("Contents", [])} & set(keys)


def test_s3_outage_answers_503_keeps_state_whole_and_recovers(
    replica: RelayProcess, s3_proxy: FaultProxy, s3_server: S3Server, signing_keys
) -> None:
    headers = {"Authorization": f"Bearer {signing_keys.mint(new_user_id('alice'))}"}
    with httpx.Client(base_url=f"{replica.url}/api", headers=headers, timeout=20) as alice:
        channel = alice.post("/channels", json={"name": "outage"}).json()["id"]
        stored = _presign(alice, "before.txt", "text/plain", 6).json()  # bytes stored, not completed
        assert _browser_post(stored, b"before", "text/plain").status_code in (200, 204)
        shared = _presign(alice, "shared.txt", "text/plain", 6).json()
        assert _browser_post(shared, b"shared", "text/plain").status_code in (200, 204)
        assert alice.post(f"/uploads/{shared['id']}/complete").json()["status"] == "ready"
        message = alice.post(
            f"/channels/{channel}/messages",
            json={"body": "file", "client_msg_id": new_user_id("cm"), "attachment_ids": [shared["id"]]},
        ).json()

        s3_proxy.refuse()
        try:
            complete = alice.post(f"/uploads/{stored['id']}/complete")
            assert complete.status_code == 503, complete.text
            assert complete.json()["error"]["code"] == "storage_unavailable"
            assert complete.headers["retry-after"] == "5"
            assert alice.get(f"/uploads/{stored['id']}").json()["status"] == "pending"  # not half-done
            refused = alice.post(
                f"/channels/{channel}/messages",
                json={"body": "x", "client_msg_id": new_user_id("cm"), "attachment_ids": [stored["id"]]},
            )
            assert refused.status_code == 409  # a pending file is never attached
            assert alice.delete(f"/uploads/{stored['id']}").status_code == 503
            presigned = _presign(alice, "during.txt", "text/plain", 6)
            assert presigned.status_code == 201  # signing needs no S3
            with pytest.raises(httpx.TransportError):
                _browser_post(presigned.json(), b"during", "text/plain")
            # Chat and a tombstone do not need S3; the file's removal waits for it.
            assert alice.delete(f"/channels/{channel}/messages/{message['id']}").status_code == 200
            plain = {"body": "still here", "client_msg_id": new_user_id("cm")}
            assert alice.post(f"/channels/{channel}/messages", json=plain).status_code == 201
            time.sleep(1.5)  # several sweeps fail meanwhile
            assert _keys(s3_server, shared["fields"]["key"]) == {shared["fields"]["key"]}
        finally:
            s3_proxy.heal()

        done = alice.post(f"/uploads/{stored['id']}/complete").json()
        assert done["status"] == "ready"
        assert httpx.get(done["url"], timeout=10).content == b"before"
        deadline = time.monotonic() + 10
        while _keys(s3_server, shared["fields"]["key"]):
            assert time.monotonic() < deadline, "the deleted message's file stayed after S3 came back"
            time.sleep(0.2)
