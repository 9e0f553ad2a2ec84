"""The event-loop lag monitor counts a stall and logs what the loop was running."""

from __future__ import annotations

import asyncio
import logging

import pytest

from lspilot.features.loop_lag import LagMonitor

# A hang guard, not a timing assertion.
WAIT_S = 30.0


def block_the_loop_until_sampled(monitor: LagMonitor) -> None:
    """Hold the loop until the watchdog has seen the stall (however long that takes)."""
    assert monitor.sampled.wait(WAIT_S), "the watchdog never sampled the stall"


async def test_a_stall_is_counted_and_logged_with_what_ran(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="lspilot.lag")
    loop = asyncio.get_running_loop()
    monitor = LagMonitor(loop)
    monitor.start()
    try:
        loop.call_soon(block_the_loop_until_sampled, monitor)
        async with asyncio.timeout(WAIT_S):
            await monitor.stalled.wait()  # the beat after the stall counts it
    finally:
        monitor.stop()
    assert monitor.counters()["stalls"] >= 1
    assert monitor.counters()["worst_ms"] > monitor.stall_s * 1000
    stalls = [r.getMessage() for r in caplog.records if "stalled" in r.getMessage()]
    assert any("block_the_loop_until_sampled" in m for m in stalls), stalls
