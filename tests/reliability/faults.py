"""Running one fault under load: start the load, inject, wait for recovery, collect the figures,
and assert what issue 12 asks of every fault."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from tests.reliability.health import HealthProbe
from tests.reliability.load import Figures, Load
from tests.utils.resilient_member import ACK_TIMEOUT_SECONDS
from topology import Topology

WARM_UP_SECONDS = 3.0
RECOVERY_BOUND_SECONDS = 10.0


@dataclass
class FaultRun:
    name: str
    load: Load
    probe: HealthProbe
    started: float = 0.0
    restoring: float = 0.0  # when the test began to bring the broken part back
    ended: float = 0.0
    figures: Figures | None = None
    notes: list[str] = field(default_factory=list)

    def begin(self) -> None:
        self.started = time.monotonic()

    def restore(self) -> None:
        self.restoring = time.monotonic()

    def end(self) -> None:
        self.ended = time.monotonic()


async def wait_ready(topology: Topology, within: float = RECOVERY_BOUND_SECONDS) -> float:
    """Seconds until every replica's /readyz answers 200 again, with no hand on the keyboard."""
    started = time.monotonic()
    async with asyncio.timeout(within), httpx.AsyncClient(timeout=3) as client:
        for port in topology.ports.replica_ports().values():
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.2)
    return time.monotonic() - started


@asynccontextmanager
async def fault_under_load(
    name: str, topology: Topology, mint: Callable[[str], str], results: list[Figures]
) -> AsyncIterator[FaultRun]:
    """The load runs around the block; the block marks the fault with `begin()` and `end()`."""
    load = Load(topology, mint)
    await load.start()
    try:
        async with HealthProbe(topology) as probe:
            await asyncio.sleep(WARM_UP_SECONDS)
            run = FaultRun(name, load, probe)
            yield run
            await load.wait_recovered(run.ended, RECOVERY_BOUND_SECONDS)
        run.figures = await load.finish(name, run.ended)
        results.append(run.figures)
    finally:
        await load.close()


def assert_nothing_lost_and_recovered(run: FaultRun, bound: float = RECOVERY_BOUND_SECONDS) -> None:
    figures = run.figures
    assert figures is not None
    assert figures.lost == 0, f"{run.name}: {figures.lost} acknowledged messages lost"
    assert figures.duplicated == 0, f"{run.name}: {figures.duplicated} messages duplicated"
    assert figures.recovery_seconds <= bound, (
        f"{run.name}: clients delivered again only {figures.recovery_seconds} s after the fault "
        f"(bound {bound} s); late: {run.load.stragglers(run.ended, bound)}"
    )
    # An attempt is "unanswered" when the 10 s ack timeout fired (or httpx's read timeout): every
    # other wait ended with an answer, a clean refusal or a dropped connection the client saw.
    assert figures.unanswered == 0, (
        f"{run.name}: {figures.unanswered} unanswered within the {ACK_TIMEOUT_SECONDS:g} s ack timeout"
    )
    unclean = [c for c in run.load.api_calls if c.status == 500]
    assert unclean == [], f"{run.name}: the API answered 500 instead of a clean error: {unclean[:3]}"
