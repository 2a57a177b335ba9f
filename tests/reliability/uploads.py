"""Uploads in flight beside the chat load (issue 12, S3 down): browser-style clients that presign
through haproxy, POST the bytes to the presigned URL, `complete`, and attach the file to a message,
retrying a failed step every RETRY_SECONDS as the web client would.

Every answer is recorded, so the test can assert that an outage was met with clean refusals
(503 `storage_unavailable`, or the storage POST failing) and never a 500, and that afterwards every
file is ready with its own bytes and attached exactly once, or never attached at all.
"""

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import httpx

from topology import Topology

UPLOADERS = 4
FILE_INTERVAL_SECONDS = 1.0
RETRY_SECONDS = 1.0
CONTENT_TYPE = "text/plain"


@dataclass
class Step:
    at: float
    name: str  # presign | store | complete | attach
    status: int | None  # None: no HTTP answer
    code: str = ""


@dataclass
class UploadedFile:
    content: bytes
    upload_id: str = ""
    fields: dict = field(default_factory=dict)
    url: str = ""
    stored: bool = False
    ready_at: float | None = None
    message_id: str | None = None


@dataclass
class UploadLoad:
    topology: Topology
    token: str
    channel_id: str
    files: list[UploadedFile] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    _tasks: list[asyncio.Task] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.topology.url,
            verify=self.topology.ssl_context(),
            timeout=10,
            headers={"Authorization": f"Bearer {self.token}"},
        )

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._upload_files(n)) for n in range(UPLOADERS)]

    async def stop(self, within: float) -> None:
        """Start no new file; let every file in flight finish (its retries included) within `within`."""
        self._stopping.set()
        await asyncio.wait_for(asyncio.gather(*self._tasks), within)

    async def _upload_files(self, uploader: int) -> None:
        async with self.client() as api, httpx.AsyncClient(timeout=10) as storage:
            n = 0
            while not self._stopping.is_set():
                item = UploadedFile(f"uploader {uploader} file {n} {uuid.uuid4().hex}".encode())
                self.files.append(item)
                await self.finish(api, storage, item)
                n += 1
                await asyncio.sleep(FILE_INTERVAL_SECONDS)

    async def finish(self, api: httpx.AsyncClient, storage: httpx.AsyncClient, item: UploadedFile) -> None:
        """Take one file through every step, retrying the step that failed."""
        while True:
            if await self._advance(api, storage, item):
                return
            await asyncio.sleep(RETRY_SECONDS)

    async def _advance(self, api: httpx.AsyncClient, storage: httpx.AsyncClient, item: UploadedFile) -> bool:
        if not item.upload_id:
            body = {"filename": "in-flight.txt", "content_type": CONTENT_TYPE, "size": len(item.content)}
            answer = await self._call("presign", api.post("/api/uploads", json=body))
            if answer is None or answer.status_code != 201:
                return False
            item.upload_id, item.url, item.fields = (answer.json()[k] for k in ("id", "url", "fields"))
        if not item.stored:
            files = {"file": ("in-flight.txt", item.content, CONTENT_TYPE)}
            answer = await self._call("store", storage.post(item.url, data=item.fields, files=files))
            if answer is None or answer.status_code not in (200, 204):
                return False
            item.stored = True
        if item.ready_at is None:
            answer = await self._call("complete", api.post(f"/api/uploads/{item.upload_id}/complete"))
            if answer is None or answer.status_code != 200:
                return False
            assert answer.json()["status"] == "ready", answer.text  # the bytes were stored whole
            item.ready_at = time.monotonic()
        body = {"body": "a file", "client_msg_id": f"up-{item.upload_id}", "attachment_ids": [item.upload_id]}
        answer = await self._call("attach", api.post(f"/api/channels/{self.channel_id}/messages", json=body))
        if answer is None or answer.status_code not in (200, 201):
            return False
        item.message_id = answer.json()["id"]
        return True

    async def _call(self, name: str, request) -> httpx.Response | None:
        try:
            answer = await request
        except httpx.HTTPError as error:
            self.steps.append(Step(time.monotonic(), name, None, type(error).__name__))
            return None
        code = ""
        if answer.status_code >= 400 and answer.headers.get("content-type", "").startswith(
            "application/json"
        ):
            code = answer.json().get("error", {}).get("code", "")
        self.steps.append(Step(time.monotonic(), name, answer.status_code, code))
        return answer

    def failures(self) -> list[Step]:
        return [s for s in self.steps if s.status is None or s.status >= 400]

    def recovery_after(self, moment: float) -> float:
        """Seconds after `moment` until an upload completed (ready) again."""
        ready = [f.ready_at for f in self.files if f.ready_at is not None and f.ready_at >= moment]
        return min(ready) - moment if ready else float("inf")
