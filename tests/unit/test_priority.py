"""Interactive requests go before background reviews in the concurrency cap (pre-empting a
running one when every slot is taken) and in the rate."""

from __future__ import annotations

import asyncio

import pytest

from lspilot.assistant.errors import PreemptedError
from lspilot.assistant.limits import BACKGROUND, INTERACTIVE, PrioritySemaphore, RateLimiter


async def test_waiters_are_served_interactive_first_then_in_order() -> None:
    gate = PrioritySemaphore(1)
    held = await gate.acquire(INTERACTIVE)  # an interactive holder is never pre-empted
    order: list[str] = []

    async def wait(name: str, priority: int) -> None:
        async with gate.slot(priority):
            order.append(name)

    tasks = [asyncio.create_task(wait(f"review{i}", BACKGROUND)) for i in range(3)]
    tasks.append(asyncio.create_task(wait("hover", INTERACTIVE)))
    await asyncio.sleep(0)  # one turn of the loop: every task runs up to its wait
    assert gate.waiting == 4
    gate.release(held)
    await asyncio.gather(*tasks)
    assert order == ["hover", "review0", "review1", "review2"]


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    gate = PrioritySemaphore(1)
    held = await gate.acquire()
    gone = asyncio.create_task(gate.acquire(BACKGROUND))
    later = asyncio.create_task(gate.acquire(BACKGROUND))
    await asyncio.sleep(0)
    assert gate.waiting == 2
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert gate.waiting == 1
    gate.release(held)
    # hang guard: the slot went to the one still waiting
    gate.release(await asyncio.wait_for(later, 5))
    await gate.acquire(BACKGROUND)  # and the pool is whole again


async def _hold(gate: PrioritySemaphore, priority: int, started: asyncio.Event) -> None:
    async with gate.slot(priority):
        started.set()
        await asyncio.Event().wait()  # a request streaming until it is stopped


async def test_a_hover_preempts_the_newest_running_review_when_every_slot_is_taken() -> None:
    gate = PrioritySemaphore(2)
    first, second = asyncio.Event(), asyncio.Event()
    older = asyncio.create_task(_hold(gate, BACKGROUND, first))
    await first.wait()
    newer = asyncio.create_task(_hold(gate, BACKGROUND, second))
    await second.wait()
    queued = asyncio.create_task(gate.acquire(BACKGROUND))
    hover = asyncio.create_task(gate.acquire(INTERACTIVE))
    with pytest.raises(PreemptedError):
        await asyncio.wait_for(newer, 5)  # hang guard
    held = await asyncio.wait_for(hover, 5)  # the freed slot went to the hover
    assert not older.done() and not queued.done()
    gate.release(held)
    gate.release(await asyncio.wait_for(queued, 5))  # then the review waiting in the queue
    older.cancel()
    with pytest.raises(asyncio.CancelledError):
        await older


async def test_an_interactive_holder_is_never_preempted() -> None:
    gate = PrioritySemaphore(1)
    started = asyncio.Event()
    running = asyncio.create_task(_hold(gate, INTERACTIVE, started))
    await started.wait()
    hover = asyncio.create_task(gate.acquire(INTERACTIVE))
    await asyncio.sleep(0)
    assert gate.waiting == 1 and not running.done()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    gate.release(await asyncio.wait_for(hover, 5))


async def test_a_preempted_review_that_is_also_cancelled_stays_cancelled() -> None:
    gate = PrioritySemaphore(1)
    started = asyncio.Event()
    review = asyncio.create_task(_hold(gate, BACKGROUND, started))
    await started.wait()
    hover = asyncio.create_task(gate.acquire(INTERACTIVE))
    await asyncio.sleep(0)  # the hover queues and pre-empts the review
    assert gate.preempted == 1 and not review.done()
    review.cancel()  # and its document is closed before it has stopped
    with pytest.raises(asyncio.CancelledError):
        await review
    gate.release(await asyncio.wait_for(hover, 5))


def test_background_requests_leave_a_reserve_for_interactive_ones() -> None:
    now = [0.0]
    limiter = RateLimiter(10, clock=lambda: now[0])
    taken = 0
    while limiter.try_acquire(BACKGROUND) == 0.0:
        taken += 1
    assert taken == 8  # 20% of the bucket is kept
    assert limiter.try_acquire(INTERACTIVE) == 0.0
    assert limiter.try_acquire(INTERACTIVE) == 0.0
    assert limiter.try_acquire(INTERACTIVE) > 0
