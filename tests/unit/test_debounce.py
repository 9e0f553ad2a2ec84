"""The per-key debouncer: bursts collapse to one run, keys are independent, nothing sleeps."""

from __future__ import annotations

import asyncio

import pytest

from lspilot.review.debounce import Debouncer


async def test_a_burst_for_one_key_runs_once_with_the_last_factory() -> None:
    debouncer = Debouncer()
    runs: list[int] = []

    def job(n: int):
        async def run() -> None:
            runs.append(n)

        return run

    tasks = [debouncer.schedule("doc", 0.01, job(n)) for n in range(50)]
    await tasks[-1]
    assert runs == [49]
    assert all(t.cancelled() for t in tasks[:-1])
    assert debouncer.task("doc") is None


async def test_keys_are_independent() -> None:
    debouncer = Debouncer()
    runs: list[str] = []

    def job(key: str):
        async def run() -> None:
            runs.append(key)

        return run

    a = debouncer.schedule("a", 0, job("a"))
    b = debouncer.schedule("b", 0, job("b"))
    await asyncio.gather(a, b)
    assert sorted(runs) == ["a", "b"]


async def test_a_running_task_finishes_unless_asked_to_cancel_it() -> None:
    debouncer = Debouncer()
    started = asyncio.Event()
    release = asyncio.Event()
    finished: list[str] = []

    async def slow() -> None:
        started.set()
        await release.wait()
        finished.append("slow")

    async def quick() -> None:
        finished.append("quick")

    first = debouncer.schedule("doc", 0, slow)
    await started.wait()
    second = debouncer.schedule("doc", 0, quick)  # supersedes, but `slow` keeps running
    await second
    release.set()
    await first
    assert finished == ["quick", "slow"]

    started.clear()
    release.clear()
    third = debouncer.schedule("doc", 0, slow)
    await started.wait()
    fourth = debouncer.schedule("doc", 0, quick, cancel_running=True)
    await fourth
    with pytest.raises(asyncio.CancelledError):
        await third
    assert finished == ["quick", "slow", "quick"]


async def test_cancel_stops_a_running_task() -> None:
    debouncer = Debouncer()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    task = debouncer.schedule("doc", 0, forever)
    await started.wait()
    debouncer.cancel("doc")
    with pytest.raises(asyncio.CancelledError):
        await task
    assert debouncer.task("doc") is None


async def test_a_failing_task_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    debouncer = Debouncer("review")

    async def boom() -> None:
        raise RuntimeError("boom")

    task = debouncer.schedule("doc", 0, boom)
    with pytest.raises(RuntimeError):
        await task
    await asyncio.sleep(0)  # let the done callback run (a loop turn, not a timed wait)
    assert "review:doc failed" in caplog.text


async def test_cancel_all_cancels_waiting_and_running_tasks() -> None:
    debouncer = Debouncer()
    started = asyncio.Event()

    async def forever() -> None:
        started.set()
        await asyncio.Event().wait()

    running = debouncer.schedule("a", 0, forever)
    await started.wait()
    waiting = debouncer.schedule("b", 60, forever)
    debouncer.cancel_all()
    results = await asyncio.gather(running, waiting, return_exceptions=True)
    assert all(isinstance(r, asyncio.CancelledError) for r in results)
