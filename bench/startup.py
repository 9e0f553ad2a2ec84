"""Benchmark 1, start-up: process spawn to the `initialize` answer, lspilot vs bare pygls.

Rounds alternate between the two servers so drift on this shared machine hits both alike.
lspilot answers `initialize` before importing pydantic, the parsers and the rest (see
lspilot.server): the first request pays for what it needs of them, so the second figure is
spawn -> the answer to a hover sent right after `initialized` (no baseline: a bare server does
no work for a hover).
"""

from __future__ import annotations

import time

from common import BARE, OURS, Figure, isolated_env, median, ms, python_module, scratch, session


async def _start_once(cmd: list[str]) -> float:
    with scratch() as root:
        env = isolated_env(root.parent, LSPILOT_PROVIDER="offline")
        async with session(cmd, env, root) as sess:
            return sess.started_s


async def _first_hover_once(cmd: list[str]) -> float:
    """Spawn -> a hover sent right after `initialized` (and a didOpen) is answered."""
    with scratch() as root:
        env = isolated_env(root.parent, LSPILOT_PROVIDER="offline")
        start = time.perf_counter()
        async with session(cmd, env, root) as sess:
            uri = sess.open(root / "module.py", python_module(40))
            await sess.hover(uri, 5, 5)
            return time.perf_counter() - start


async def run(rounds: int) -> list[Figure]:
    """Median spawn -> initialize answered over `rounds` interleaved rounds."""
    ours: list[float] = []
    base: list[float] = []
    await _start_once(OURS)  # warm the disk cache for both, unmeasured
    await _start_once(BARE)
    for _ in range(rounds):
        ours.append(await _start_once(OURS))
        base.append(await _start_once(BARE))
    first_hover = [await _first_hover_once(OURS) for _ in range(rounds)]
    return [
        Figure(
            "startup",
            "spawn -> initialize answered (median)",
            ms(median(ours)),
            ms(median(base)),
            "ms",
            target="ratio <= 1.15",
            note=f"{rounds} interleaved rounds",
        ),
        Figure(
            "startup",
            "spawn -> first hover answered (sent right after initialized; median)",
            ms(median(first_hover)),
            None,
            "ms",
            note="what the deferred imports cost the first request; no target",
        ),
    ]
