"""Benchmark 1, start-up: process spawn to the `initialize` answer, lspilot vs bare pygls.

Rounds alternate between the two servers so drift on this shared machine hits both alike.
"""

from __future__ import annotations

from common import BARE, OURS, Figure, isolated_env, median, ms, scratch, session


async def _start_once(cmd: list[str]) -> float:
    with scratch() as root:
        env = isolated_env(root.parent, LSPILOT_PROVIDER="offline")
        async with session(cmd, env, root) as sess:
            return sess.started_s


async def run(rounds: int) -> list[Figure]:
    """Median spawn -> initialize answered over `rounds` interleaved rounds."""
    ours: list[float] = []
    base: list[float] = []
    await _start_once(OURS)  # warm the disk cache for both, unmeasured
    await _start_once(BARE)
    for _ in range(rounds):
        ours.append(await _start_once(OURS))
        base.append(await _start_once(BARE))
    return [
        Figure(
            "startup",
            "spawn -> initialize answered (median)",
            ms(median(ours)),
            ms(median(base)),
            "ms",
            target="ratio <= 1.15",
            note=f"{rounds} interleaved rounds",
        )
    ]
