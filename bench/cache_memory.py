"""Benchmarks 5 and 6: the result cache and the server's memory.

5. hover on 200 symbols cold (each one a model request into the cache) then warm: warm
   end-to-end p50 vs the bare pygls server's fixed hover; disk used per 1,000 entries by the
   result cache (its `results/` folder) and by the whole cache folder (also the token budget's
   store, the usage log, the workspace index and the hit counts), after the server exited.
6. resident memory with 50 open documents of 2,000 lines, reviewed and cached, vs the bare
   pygls server holding the same 50 documents.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from common import (
    BARE,
    OURS,
    FakeModelServer,
    Figure,
    Reply,
    disk_bytes,
    fake_model,
    is_review,
    isolated_env,
    median,
    model_env,
    ms,
    python_module,
    rss_mib,
    scratch,
    session,
    settled,
    timed,
)

SYMBOLS = 200
DOCS = 50
DOC_FUNCTIONS = 50  # x 40 lines: ~2,000 lines each
PENDING_MARK = "generating an explanation"


def _model(body: dict[str, Any]) -> Reply | str:
    if is_review(body):
        return json.dumps({"issues": []})
    return "It sums the items of its group, scaled, and returns the total."


async def _hovers(
    cmd: list[str], env: dict[str, str], root: Any
) -> tuple[list[float], list[float]]:
    text = python_module(SYMBOLS)
    defs = [i for i, line in enumerate(text.splitlines()) if line.startswith("def ")]
    async with session(cmd, env, root) as sess:
        uri = sess.open(root / "symbols.py", text)
        cold = [await timed(sess.hover(uri, line, 5)) for line in defs]
        warm = [await timed(sess.hover(uri, line, 5)) for line in defs]
        if cmd is OURS:  # every warm hover must have been a cache hit, not a pending answer
            last = await sess.hover(uri, defs[-1], 5)
            assert PENDING_MARK not in str(last.contents), "warm hover was not cached"
    return cold, warm


async def cache() -> list[Figure]:
    """Benchmark 5."""
    with fake_model(_model) as fake, scratch() as root:
        env = model_env(root.parent, fake, LSPILOT_DIAGNOSTICS__TRIGGERS="save")
        cold, warm = await _hovers(OURS, env, root)
        entries = len(fake.chat_requests())
        folder = root.parent / "cache"
        per_1000 = disk_bytes(folder / "results") / max(1, entries) * 1000
        folder_per_1000 = disk_bytes(folder) / max(1, entries) * 1000
    with scratch() as root:
        _, base_warm = await _hovers(BARE, isolated_env(root.parent), root)
    note = f"{SYMBOLS} symbols; {entries} entries cached"
    return [
        Figure(
            "cache",
            "hover cold p50 (model call)",
            ms(median(cold)),
            ms(median(base_warm)),
            "ms",
            "",
            note,
        ),
        Figure(
            "cache",
            "hover warm p50 (cache hit)",
            ms(median(warm)),
            ms(median(base_warm)),
            "ms",
            "<= 3 ms",
            note,
        ),
        Figure(
            "cache",
            "disk per 1,000 entries (result cache)",
            per_1000 / 2**20,
            None,
            "MiB",
            "",
            note,
        ),
        Figure(
            "cache",
            "disk per 1,000 entries (whole cache folder)",
            folder_per_1000 / 2**20,
            None,
            "MiB",
            "",
            f"{note}; with the budget store, usage log, workspace index",
        ),
    ]


async def _memory(
    cmd: list[str], env: dict[str, str], root: Any, fake: FakeModelServer | None
) -> float:
    async with session(cmd, env, root) as sess:
        uris = [
            sess.open(root / f"doc{i}.py", python_module(DOC_FUNCTIONS, 40, tag=f"d{i}"))
            for i in range(DOCS)
        ]
        await sess.code_actions(uris[-1], 6)
        if fake is not None:  # reviewed: every chunk answered and cached
            await settled(fake)
        else:
            await asyncio.sleep(1.0)
        return rss_mib(sess.pid)


async def memory() -> list[Figure]:
    """Benchmark 6."""
    with fake_model(_model) as fake, scratch() as root:
        ours = await _memory(OURS, model_env(root.parent, fake), root, fake)
        reviews = len(fake.chat_requests())
    with scratch() as root:
        base = await _memory(BARE, isolated_env(root.parent), root, None)
    return [
        Figure(
            "memory",
            f"RSS, {DOCS} docs of ~2,000 lines",
            ours,
            base,
            "MiB",
            "<= 100 MiB",
            f"{reviews} chunk reviews cached",
        ),
    ]
