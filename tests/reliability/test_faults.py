"""Faults under load (issue 12): 50 socket members (half websocket, half long-polling) and API
readers through haproxy while one thing breaks. For each fault: no acknowledged message lost or
duplicated for any member, every client delivering again within the bound after the fault ends,
every request answered (or cleanly refused) within the 10 s ack timeout, recovery with no hand on
the keyboard, and /healthz and /readyz telling the truth meanwhile."""

import asyncio
import signal
import time
from collections.abc import Callable

from tests.reliability.conftest import FaultableTopology
from tests.reliability.faults import assert_nothing_lost_and_recovered, fault_under_load, wait_ready
from tests.reliability.health import PROBE_TIMEOUT_SECONDS
from tests.reliability.load import MEMBERS, Figures
from tests.utils.fault_proxy import FaultProxy, Impairment
from topology import haproxy, postgres_server, redis_server, s3
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


async def test_s3_down_for_30_s_leaves_chat_untouched_and_readyz_names_s3(
    healthy: FaultableTopology, mint: Callable[[str], str], results: list[Figures]
) -> None:
    async with fault_under_load("S3-compatible server down for 30 s", healthy, mint, results) as run:
        run.begin()
        s3.stop(healthy.layout)
        await asyncio.sleep(S3_DOWN_SECONDS)
        run.restore()
        await asyncio.to_thread(s3.start, healthy.ports, healthy.layout)
        await asyncio.to_thread(s3.ensure_bucket, healthy.ports)  # moto keeps objects in memory only
        run.end()
        await wait_ready(healthy)
    assert_nothing_lost_and_recovered(run)
    assert_dependency_reported(run, "s3")
    assert run.figures.client_errors == 0, "messages do not depend on S3"


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
