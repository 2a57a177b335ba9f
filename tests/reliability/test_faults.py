"""Faults under load (issue 12): 50 socket members (half websocket, half long-polling) and API
readers through haproxy while one thing breaks. For each fault: no acknowledged message lost or
duplicated for any member, every client delivering again within the bound after the fault ends,
every request answered (or cleanly refused) within the 10 s ack timeout, recovery with no hand on
the keyboard, and /healthz and /readyz telling the truth meanwhile."""

import asyncio
import signal
import time
import uuid
from collections.abc import Callable

import httpx

from tests.reliability.conftest import FaultableTopology
from tests.reliability.faults import (
    RECOVERY_BOUND_SECONDS,
    assert_nothing_lost_and_recovered,
    fault_under_load,
    wait_ready,
)
from tests.reliability.health import PROBE_TIMEOUT_SECONDS
from tests.reliability.load import MEMBERS, Figures
from tests.reliability.uploads import FILE_INTERVAL_SECONDS, UploadedFile, UploadLoad
from tests.utils.fault_proxy import FaultProxy, Impairment
from topology import haproxy, postgres_server, redis_server
from topology.processes import pid_alive

HUNG_SECONDS = 30.0
S3_DOWN_SECONDS = 30.0
DEPENDENCY_DOWN_SECONDS = 5.0
DEGRADED_SECONDS = 15.0
ROLLING_RECOVERY_BOUND_SECONDS = 5.0


async def wait_exited(pid: int) -> float:
    """When the replica `pid` exited (its drain over, its sockets closed)."""
    async with asyncio.timeout(30):
        while True:
            if not pid_alive(pid):
                break
            await asyncio.sleep(0.05)
    return time.monotonic()


async def back_in_rotation(topology: FaultableTopology, name: str, old_pid: int) -> None:
    """The supervisor restarts the replica and haproxy takes it back: nobody restarts it by hand."""
    await asyncio.to_thread(topology.replicas.wait_restarted, name, old_pid)
    await asyncio.to_thread(topology.wait_replica_serving, name)
    await asyncio.to_thread(topology.wait_replica_state, name, "UP")


async def test_a_replica_killed_with_sigkill_loses_and_duplicates_nothing(
    healthy: FaultableTopology, mint: Callable[[str], str], results: list[Figures]
) -> None:
    async with fault_under_load("kill -9 of one replica", healthy, mint, results) as run:
        run.begin()
        old_pid = healthy.kill_replica("r1", signal.SIGKILL)
        run.end()
        await back_in_rotation(healthy, "r1", old_pid)
        # A client retrying a send the server already stored gets the original back, not a copy.
        sender = next(m for m in run.load.members if m.sends and m.sends[0].ack)
        retried = sender.sends[0]
        original_id = retried.ack["id"]
        await sender.resend(retried)
        assert retried.ack["id"] == original_id
    assert_nothing_lost_and_recovered(run)
    reconnects = sum(member.reconnects for member in run.load.members)
    assert reconnects >= MEMBERS // 4, f"only {reconnects} reconnects: r1's members should have moved"
    assert not [
        s
        for s in run.probe.between(run.ended + 0.1, run.ended + 0.4, path="/healthz", replica="r1")
        if s.status == 200
    ]


async def test_a_hung_replica_is_taken_out_of_rotation_and_its_clients_move(
    healthy: FaultableTopology, mint: Callable[[str], str], results: list[Figures]
) -> None:
    async with fault_under_load("SIGSTOP of one replica for 30 s", healthy, mint, results) as run:
        run.begin()
        pid = healthy.kill_replica("r2", signal.SIGSTOP)
        try:
            await asyncio.to_thread(healthy.wait_replica_state, "r2", "DOWN", 10)
            marked_down = time.monotonic() - run.started
            await asyncio.sleep(max(0.0, HUNG_SECONDS - marked_down))
        finally:
            healthy.kill_replica("r2", signal.SIGCONT)
        run.end()
        await asyncio.to_thread(healthy.wait_replica_state, "r2", "UP")
        assert healthy.replicas.pids()["r2"] == pid, "the hung replica recovers by itself, not by a restart"
    assert_nothing_lost_and_recovered(run)
    # A probe sent less than its timeout before SIGCONT is answered once the process resumes.
    hung_until = run.ended - PROBE_TIMEOUT_SECONDS - 0.5
    hung = run.probe.between(run.started + 1, hung_until, path="/healthz", replica="r2")
    assert hung and all(s.status is None for s in hung), "a hung replica answers nothing"
    alive = run.probe.between(run.started, run.ended, path="/healthz", replica="r1")
    assert alive and all(s.status == 200 for s in alive)
    moved = sum(member.reconnects for member in run.load.members)
    assert moved >= MEMBERS // 4, f"only {moved} reconnects: haproxy must close the hung replica's sessions"
    assert marked_down < 6, f"haproxy took {marked_down:.1f} s to take the hung replica out"


async def test_a_redis_restart_is_survived_and_readyz_names_redis_meanwhile(
    healthy: FaultableTopology, mint: Callable[[str], str], results: list[Figures]
) -> None:
    async with fault_under_load("restart of Redis", healthy, mint, results) as run:
        run.begin()
        redis_server.stop(healthy.layout)
        await asyncio.sleep(DEPENDENCY_DOWN_SECONDS)
        run.restore()
        redis_server.start(healthy.ports, healthy.layout, persist=False)
        run.end()
        await wait_ready(healthy)
    assert_nothing_lost_and_recovered(run)
    assert_dependency_reported(run, "redis")


async def test_a_postgres_restart_is_survived_and_readyz_names_postgres_meanwhile(
    healthy: FaultableTopology, mint: Callable[[str], str], results: list[Figures]
) -> None:
    async with fault_under_load("restart of Postgres", healthy, mint, results) as run:
        run.begin()
        postgres_server.stop(healthy.layout)
        await asyncio.sleep(DEPENDENCY_DOWN_SECONDS)
        run.restore()
        await asyncio.to_thread(postgres_server.start, healthy.ports, healthy.layout)
        run.end()
        await wait_ready(healthy)
    assert_nothing_lost_and_recovered(run)
    assert_dependency_reported(run, "postgres")


async def test_s3_down_for_30_s_leaves_chat_untouched_and_uploads_whole(
    healthy: FaultableTopology,
    mint: Callable[[str], str],
    results: list[Figures],
    s3_proxy: FaultProxy,
) -> None:
    """S3 unreachable for 30 s (its proxy refuses, for the replicas and for browser-style POSTs
    alike) while uploads are in flight: clean refusals (503 `storage_unavailable`, failed storage
    POSTs), no 500, and after recovery every file ready with its own bytes, attached exactly once."""
    async with fault_under_load("S3-compatible server down for 30 s", healthy, mint, results) as run:
        uploads = await _upload_load(healthy, mint)
        async with uploads.client() as api, httpx.AsyncClient(timeout=10) as storage:
            stored_before = [await _stored_not_completed(uploads, api, storage) for _ in range(3)]
            uploads.start()
            await asyncio.sleep(2 * FILE_INTERVAL_SECONDS)
            run.begin()
            s3_proxy.refuse()
            refused = [await api.post(f"/api/uploads/{f.upload_id}/complete") for f in stored_before]
            await asyncio.sleep(S3_DOWN_SECONDS)
            run.restore()
            s3_proxy.heal()
            run.end()
            await wait_ready(healthy)
            for item in stored_before:
                await uploads.finish(api, storage, item)
            await uploads.stop(within=3 * RECOVERY_BOUND_SECONDS)
            upload_recovery = uploads.recovery_after(run.ended)
            await _assert_uploads_whole(uploads, api, storage)
    assert_nothing_lost_and_recovered(run)
    assert_dependency_reported(run, "s3")
    assert run.figures.client_errors == 0, "messages do not depend on S3"
    assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [(503, "storage_unavailable")] * 3
    failures = uploads.failures()
    assert not [f for f in failures if f.status is not None and f.status != 503], failures
    assert {f.code for f in failures if f.status == 503} <= {"storage_unavailable"}
    assert upload_recovery <= RECOVERY_BOUND_SECONDS, (
        f"uploads completed again only {upload_recovery} s after"
    )
    in_outage = [f for f in failures if run.started <= f.at <= run.ended]
    run.figures.notes = (
        f"uploads: {len(uploads.files)} files, {len(in_outage)} clean refusals during the outage "
        f"({', '.join(sorted({f.name for f in in_outage}))}), 0 lost or half-attached, "
        f"completing again {upload_recovery:.2f} s after S3 returned"
    )
    print(f"\n{run.name}: {run.figures.notes}")


async def _upload_load(topology: FaultableTopology, mint: Callable[[str], str]) -> UploadLoad:
    token = mint("uploader")
    async with httpx.AsyncClient(
        base_url=topology.url, verify=topology.ssl_context(), headers={"Authorization": f"Bearer {token}"}
    ) as api:
        channel = await api.post("/api/channels", json={"name": "uploads"})
        assert channel.status_code == 201, channel.text
    return UploadLoad(topology, token, channel.json()["id"])


async def _stored_not_completed(
    uploads: UploadLoad, api: httpx.AsyncClient, storage: httpx.AsyncClient
) -> UploadedFile:
    """A file whose bytes reached S3 just before the outage; its `complete` comes during it."""
    item = UploadedFile(f"stored before the outage {uuid.uuid4().hex}".encode())
    body = {"filename": "before.txt", "content_type": "text/plain", "size": len(item.content)}
    presigned = (await api.post("/api/uploads", json=body)).json()
    item.upload_id, item.url, item.fields = presigned["id"], presigned["url"], presigned["fields"]
    files = {"file": ("before.txt", item.content, "text/plain")}
    assert (await storage.post(item.url, data=item.fields, files=files)).status_code in (200, 204)
    item.stored = True
    uploads.files.append(item)
    return item


async def _assert_uploads_whole(
    uploads: UploadLoad, api: httpx.AsyncClient, storage: httpx.AsyncClient
) -> None:
    """Every file ready with its own bytes, carried by exactly one message, and no other file attached."""
    attached: dict[str, list[str]] = {}
    after = 0
    while page := (
        await api.get(f"/api/channels/{uploads.channel_id}/messages?after={after}&limit=200")
    ).json()["messages"]:
        for message in page:
            for attachment in message["attachments"]:
                attached.setdefault(attachment["id"], []).append(message["id"])
        after = page[-1]["seq"]
    for item in uploads.files:
        upload = (await api.get(f"/api/uploads/{item.upload_id}")).json()
        assert upload["status"] == "ready", upload
        assert (await storage.get(upload["url"])).content == item.content, f"{item.upload_id}: other bytes"
        assert attached.get(item.upload_id) == [item.message_id], (
            f"{item.upload_id}: {attached.get(item.upload_id)}"
        )
    assert set(attached) == {item.upload_id for item in uploads.files}, "a file nobody completed was attached"


async def test_a_degraded_database_link_slows_sends_but_loses_nothing(
    healthy: FaultableTopology,
    mint: Callable[[str], str],
    results: list[Figures],
    postgres_proxy: FaultProxy,
) -> None:
    async with fault_under_load("app-Postgres link +200 ms, 5% stalls of 1 s", healthy, mint, results) as run:
        stalled_before = postgres_proxy.stalled_chunks
        run.begin()
        postgres_proxy.degrade(Impairment(delay=0.2, stall=1.0, stall_ratio=0.05))
        try:
            await asyncio.sleep(DEGRADED_SECONDS)
        finally:
            postgres_proxy.heal()
        run.end()
    assert postgres_proxy.stalled_chunks > stalled_before, "the proxy stalled nothing: the fault did not run"
    assert_nothing_lost_and_recovered(run)
    during = run.probe.between(run.started, run.ended, path="/healthz")
    assert during and all(s.status == 200 for s in during), "a slow database is no reason to leave rotation"
    # A slow but reachable database: /readyz may pass or time out its 2 s check, and when it fails it
    # names postgres, nothing else.
    ready = run.probe.between(run.started, run.ended, path="/readyz")
    blamed = [s.body for s in ready if s.status == 503 and "postgres" not in str(s.body)]
    assert ready and not blamed, f"/readyz blamed something other than postgres: {blamed}"


async def test_a_rolling_restart_with_sigterm_drains_and_moves_sockets_within_5_s(
    healthy: FaultableTopology, mint: Callable[[str], str], results: list[Figures]
) -> None:
    async with fault_under_load(
        "rolling restart (SIGTERM, one after the other)", healthy, mint, results
    ) as run:
        run.begin()
        stopped_at = []
        for name in ("r1", "r2"):
            pid = healthy.kill_replica(name, signal.SIGTERM)
            stopped_at.append(await wait_exited(pid))
            await back_in_rotation(healthy, name, pid)
        run.end()
        run.ended = stopped_at[-1]  # the last replica's sockets closed here
    recoveries = [run.load.recovery_after(moment) for moment in stopped_at]
    assert_nothing_lost_and_recovered(run, ROLLING_RECOVERY_BOUND_SECONDS)
    assert max(recoveries) <= ROLLING_RECOVERY_BOUND_SECONDS, (
        f"recovery after each replica stopped: {recoveries}"
    )
    draining = [
        s
        for s in run.probe.between(run.started, stopped_at[0], path="/healthz", replica="r1")
        if s.status == 503
    ]
    assert draining and all(s.body == {"status": "draining"} for s in draining), "/healthz must say it drains"
    assert haproxy.server_states(healthy.layout) == {"r1": "UP", "r2": "UP"}


def assert_dependency_reported(run, dependency: str) -> None:
    """While `dependency` is down, /readyz names it on every replica and /healthz stays 200 (a
    dependency blip must not drain every pod); the test waited for /readyz 200 again (wait_ready)."""
    down = [
        s for s in run.probe.between(run.started + 1.5, run.restoring, path="/readyz") if s.status is not None
    ]
    assert down, f"no /readyz answers while {dependency} was down"
    assert all(s.status == 503 and dependency in s.failing for s in down), (
        f"/readyz did not name {dependency}: {[(s.status, s.failing) for s in down][:4]}"
    )
    shallow = run.probe.between(run.started, run.ended, path="/healthz")
    assert shallow and all(s.status == 200 for s in shallow), f"/healthz left rotation over {dependency}"
