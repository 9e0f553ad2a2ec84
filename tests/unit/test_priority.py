"""Interactive requests go before background reviews in the concurrency cap and the rate."""

from __future__ import annotations

import asyncio

from lspilot.assistant.limits import BACKGROUND, INTERACTIVE, PrioritySemaphore, RateLimiter


async def test_waiters_are_served_interactive_first_then_in_order() -> None:
    gate = PrioritySemaphore(1)
    await gate.acquire()
    order: list[str] = []

    async def wait(name: str, priority: int) -> None:
        async with gate.slot(priority):
            order.append(name)

    tasks = [asyncio.create_task(wait(f"review{i}", BACKGROUND)) for i in range(3)]
    tasks.append(asyncio.create_task(wait("hover", INTERACTIVE)))
    await asyncio.sleep(0)  # one turn of the loop: every task runs up to its wait
    assert gate.waiting == 4
    gate.release()
    await asyncio.gather(*tasks)
    assert order == ["hover", "review0", "review1", "review2"]


async def test_a_cancelled_waiter_leaves_the_queue() -> None:
    gate = PrioritySemaphore(1)
    await gate.acquire()
    gone = asyncio.create_task(gate.acquire(BACKGROUND))
    later = asyncio.create_task(gate.acquire(BACKGROUND))
    await asyncio.sleep(0)
    assert gate.waiting == 2
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert gate.waiting == 1
    gate.release()
    await asyncio.wait_for(later, 5)  # hang guard: the slot went to the one still waiting
    gate.release()
    await gate.acquire(BACKGROUND)  # and the pool is whole again


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
