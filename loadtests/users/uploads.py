"""UploadUser: presign (POST /api/uploads) -> POST the file to storage -> complete -> read it back
through the signed URL (DESIGN §4 uploads). The storage calls are rows of their own ("storage: …"),
so the SLO shows Relay's share and the storage service's apart."""

import os
from typing import Any

import requests
from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

from loadtests import config
from loadtests.users.common import bearer, http_session, ssl_context, succeeded, world

UPLOADS = config.load().uploads


class UploadFailed(Exception):
    pass


class UploadUser(FastHttpUser):
    wait_time = between(*UPLOADS.wait_seconds)
    insecure = False
    ssl_context_factory = staticmethod(ssl_context)

    def on_start(self) -> None:
        self.name = world().user_name("upload")
        # Storage is another host (S3, CloudFront, the local moto server): a plain session,
        # recorded through locust's request event like the rest.
        self.storage = http_session(requests.Session())

    @task
    def upload(self) -> None:
        content = os.urandom(UPLOADS.size_bytes // 2).hex().encode()[: UPLOADS.size_bytes]
        declared = {"filename": "load.txt", "content_type": UPLOADS.content_type, "size": len(content)}
        presigned = self._api("POST", "/api/uploads", json=declared)
        if presigned is None:
            return
        files = {"file": ("load.txt", content, UPLOADS.content_type)}
        stored = self._storage(
            "POST", "storage: POST upload", presigned["url"], data=presigned["fields"], files=files
        )
        if stored is None:
            return
        done = self._api(
            "POST", f"/api/uploads/{presigned['id']}/complete", name="/api/uploads/[id]/complete"
        )
        if done is None:
            return
        if done.get("status") != "ready" or not done.get("url"):
            self._fail(
                "storage: GET signed URL", UploadFailed(f"upload {done.get('status')}: {done.get('reason')}")
            )
            return
        fetched = self._storage("GET", "storage: GET signed URL", done["url"])
        if fetched is not None and fetched.content != content:
            self._fail("storage: GET signed URL", UploadFailed("the signed URL served other bytes"))

    def _api(self, method: str, path: str, *, name: str | None = None, **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers=bearer(self.name), name=name or path, **kwargs)
        return response.json() if succeeded(response) else None

    def _storage(self, method: str, name: str, url: str, **kwargs: Any) -> requests.Response | None:
        response = None
        with self.environment.events.request.measure("storage", name) as meta:
            response = self.storage.request(method, url, timeout=30, **kwargs)
            meta["response_length"] = len(response.content)
            response.raise_for_status()
        return response if response is not None and succeeded(response) else None

    def _fail(self, name: str, error: Exception) -> None:
        self.environment.events.request.fire(
            request_type="storage", name=name, response_time=0, response_length=0, exception=error, context={}
        )
