"""Benchmarks 2 and 3: does the editor ever wait?

2. "never waits": a cheap request (code action listing) every 25 ms while the server does its
   first model request, opens a 2 MB file and takes a 200-keystroke burst; p95 and worst.
3. "under load": with 8 model requests in flight against a slow model (2 s per answer), code
   action listing, cache-hit hover and didChange handling (a didChange followed by a listing,
   answered) p99.

The baseline is the bare pygls server (bench/bare_server.py) given the same script.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from common import (
    BARE,
    OURS,
    Figure,
    Reply,
    Session,
    fake_model,
    is_review,
    isolated_env,
    model_env,
    ms,
    percentile,
    python_module,
    scratch,
    session,
    timed,
)

TICK_S = 0.025
KEYSTROKES = 200
KEYSTROKE_S = 0.01  # a fast typist's burst
BIG_FILE_BYTES = 2_000_000
SLOW_ANSWER_S = 2.0
IN_FLIGHT = 8
PENDING_MARK = "generating an explanation"


def _big_module() -> str:
    text = python_module(4200, tag="big")
    while len(text) < BIG_FILE_BYTES:
        text += python_module(200, tag=f"more{len(text)}")
    return text


class _Model:
    """The fake's answers: reviews find nothing; explanations after `delay` seconds."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def __call__(self, body: dict[str, Any]) -> Reply:
        if is_review(body):
            return Reply(content=json.dumps({"issues": []}), delay=self.delay)
        return Reply(content="It adds things up.", delay=self.delay)


async def _ticker(sess: Session, uri: str, stop: asyncio.Event) -> list[float]:
    """Send a listing every TICK_S (not waiting for answers); their round trips."""
    latencies: list[float] = []
    pending: list[asyncio.Task[float]] = []
    while not stop.is_set():
        pending.append(asyncio.create_task(timed(sess.code_actions(uri, 6))))
        await asyncio.sleep(TICK_S)
    for task in pending:
        latencies.append(await task)
    return latencies


async def _busy_script(sess: Session, root: Path, uri: str, big: str) -> None:
    """First model request, a 2 MB file opened, a burst of keystrokes, then a pause."""
    await asyncio.sleep(0.3)
    hover = asyncio.create_task(sess.hover(uri, 5, 5))  # first model request (f_0)
    await asyncio.sleep(0.5)
    sess.open(root / "big.py", big)
    await asyncio.sleep(0.5)
    typed = "  # "
    for i in range(KEYSTROKES):  # a comment typed at the end of `total = 0` in f_0
        char = typed[i] if i < len(typed) else "x" if i % 6 else " "
        sess.insert(uri, 7, len("    total = 0") + i, char)
        await asyncio.sleep(KEYSTROKE_S)
    await asyncio.sleep(1.5)  # the idle review after the burst and re-positioning
    await hover


async def _never_waits(cmd: list[str], env: dict[str, str], root: Path) -> list[float]:
    small = python_module(40)
    big = _big_module()
    async with session(cmd, env, root) as sess:
        uri = sess.open(root / "small.py", small)
        await sess.code_actions(uri, 6)  # ready
        stop = asyncio.Event()
        ticker = asyncio.create_task(_ticker(sess, uri, stop))
        await _busy_script(sess, root, uri, big)
        stop.set()
        return await ticker


async def never_waits() -> list[Figure]:
    """Benchmark 2."""
    with fake_model(_Model(0.3)) as fake, scratch() as root:
        ours = await _never_waits(
            OURS, model_env(root.parent, fake, LSPILOT_DIAGNOSTICS__IDLE_MS="300"), root
        )
    with scratch() as root:
        base = await _never_waits(BARE, isolated_env(root.parent), root)
    note = f"{len(ours)} listings, one per {ms(TICK_S):.0f} ms"
    return [
        Figure(
            "never waits",
            "listing p95 while busy",
            ms(percentile(ours, 95)),
            ms(percentile(base, 95)),
            "ms",
            "<= 20 ms",
            note,
        ),
        Figure(
            "never waits",
            "listing worst while busy",
            ms(max(ours)),
            ms(max(base)),
            "ms",
            "<= 100 ms",
            note,
        ),
    ]


async def _is_cached(sess: Session, uri: str, line: int) -> bool:
    hover = await sess.hover(uri, line, 5)
    text = str(getattr(hover, "contents", "")) if hover is not None else ""
    return PENDING_MARK not in text


async def _under_load(
    cmd: list[str], env: dict[str, str], root: Path, model: _Model | None, waves: int
) -> dict[str, list[float]]:
    text = python_module(80)
    lines = text.splitlines()
    defs = [i for i, line in enumerate(lines) if line.startswith("def ")]
    out: dict[str, list[float]] = {"listing": [], "hover": [], "change": []}
    async with session(cmd, env, root) as sess:
        uri = sess.open(root / "load.py", text)
        await sess.code_actions(uri, 6)
        if model is not None:  # fill the cache for the hover measured below
            for _ in range(600):  # polling the server by hovering, up to ~30 s
                if await _is_cached(sess, uri, defs[0]):
                    break
                await asyncio.sleep(0.05)
            model.delay = SLOW_ANSWER_S
        symbol = 1
        for _ in range(waves):
            if model is not None:  # 8 new explanations: 8 slow model requests in flight
                for _ in range(IN_FLIGHT):
                    await sess.hover(uri, defs[symbol], 5)
                    symbol += 1
            start = time.monotonic()
            while time.monotonic() - start < SLOW_ANSWER_S * 0.8:
                out["listing"].append(await timed(sess.code_actions(uri, defs[0] + 2)))
                out["hover"].append(await timed(sess.hover(uri, defs[0], 5)))
                sess.insert(uri, len(lines) - 1, 0, "#")
                out["change"].append(await timed(sess.code_actions(uri, defs[0] + 2)))
            await asyncio.sleep(SLOW_ANSWER_S * 0.25)  # let the wave finish
    return out


async def under_load(waves: int = 3) -> list[Figure]:
    """Benchmark 3."""
    model = _Model(0.0)
    extra = {
        "LSPILOT_LIMITS__MAX_CONCURRENT": str(IN_FLIGHT),
        "LSPILOT_HOVER__TIMEOUT_MS": "0",
        "LSPILOT_DIAGNOSTICS__TRIGGERS": "save",
    }
    with fake_model(model) as fake, scratch() as root:
        ours = await _under_load(OURS, model_env(root.parent, fake, **extra), root, model, waves)
    with scratch() as root:
        base = await _under_load(BARE, isolated_env(root.parent), root, None, waves)
    names = {
        "listing": "code action listing p99, 8 in flight",
        "hover": "cache-hit hover p99, 8 in flight",
        "change": "didChange + listing p99, 8 in flight",
    }
    return [
        Figure(
            "under load",
            names[k],
            ms(percentile(ours[k], 99)),
            ms(percentile(base[k], 99)),
            "ms",
            "<= 10 ms",
            f"{len(ours[k])} samples",
        )
        for k in names
    ]
