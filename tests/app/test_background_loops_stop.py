"""The replica's background loops end when the lifespan cancels them, even when the cancellation
arrives in the same loop pass as their wake-up. On Python 3.11 `asyncio.wait_for` returns the
wake-up and drops such a cancellation; a loop built on it went round again, and the lifespan's wait
for it kept the replica alive after SIGTERM (seen in the rolling-restart fault test)."""

import asyncio
from collections.abc import Callable

import pytest

from relay.realtime.notifier import Notifier
from relay.services.object_sweeper import ObjectSweeper


def _unreachable_database() -> None:
    raise OSError("the loop went round again after it was cancelled")


async def _nobody_online(_user_ids: list[str]) -> set[str]:
    return set()


async def _no_emit(*_args: object, **_kwargs: object) -> None:
    return None


LOOPS: dict[str, Callable[[], object]] = {
    "notification outbox": lambda: Notifier(_unreachable_database, _no_emit, _nobody_online),
    "object sweeper": lambda: ObjectSweeper(_unreachable_database, storage=None, interval=30),
}


@pytest.mark.parametrize("loop_name", sorted(LOOPS))
async def test_a_loop_cancelled_as_it_wakes_up_ends(loop_name: str) -> None:
    worker = LOOPS[loop_name]()
    task = asyncio.create_task(worker.run())
    await asyncio.sleep(0)  # the loop now waits for its wake-up
    worker._wake.set()
    task.cancel()  # in the same pass: what shutdown does while messages still arrive
    done, _ = await asyncio.wait([task], timeout=1)
    assert done == {task}, f"the {loop_name} loop did not end"
    assert task.cancelled()
