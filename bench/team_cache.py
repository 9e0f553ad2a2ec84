"""Benchmark: hover served from each cache level, beside a model miss, in the same run.

    .venv/bin/python bench/team_cache.py [--functions N]

A real `redis-server` (Debian's package; `make test-apt`) on a free port and the fake model
server (tests/fakes) on 127.0.0.1; lspilot over stdio, hover round trips timed at the client:

- miss: the first hover of each function (the fake model answers at once, so this is
  lspilot's own path plus one loopback HTTP request; a real model adds seconds);
- L1 memory: the same hovers again in that process;
- L2 disk: a new process on the same disk cache;
- L3 team: a new process with an empty disk cache of its own, sharing the Redis.

Each phase checks the status's per-level hit counters, so a figure is never the wrong level's.
This machine is shared and noisy: compare the levels with each other, not across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.model_server import FakeModelServer  # noqa: E402
from tests.fakes.redis_server import RedisServer, redis_server_binary  # noqa: E402

logging.getLogger("pygls").setLevel(logging.ERROR)

SERVER = [sys.executable, "-m", "lspilot", "serve"]
NAMESPACE = "bench"


def source(functions: int) -> str:
    """A module of small distinct functions, each used once at the bottom."""
    defs = [f"def step_{i}(x):\n    return x * {i} + {i + 1}\n\n" for i in range(functions)]
    uses = [f"value_{i} = step_{i}({i})\n" for i in range(functions)]
    return "\n".join(defs) + "\n" + "".join(uses)


async def session(
    env: dict[str, str], folder: Path, text: str, functions: int, rounds: int
) -> tuple[list[float], dict[str, Any]]:
    """Hover on every function's use `rounds` times; (seconds per hover, cache status)."""
    client = LanguageClient("bench", "1")
    await client.start_io(*SERVER, env=env, cwd=str(folder))
    await client.initialize_async(
        types.InitializeParams(capabilities=types.ClientCapabilities(), root_uri=folder.as_uri())
    )
    client.initialized(types.InitializedParams())
    uri = (folder / "steps.py").as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=uri, language_id="python", version=1, text=text
            )
        )
    )
    lines = text.splitlines()
    times: list[float] = []
    for _ in range(rounds):
        for i in range(functions):
            line = lines.index(f"value_{i} = step_{i}({i})")
            params = types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=line, character=len(f"value_{i} = s")),
            )
            start = time.perf_counter()
            await client.text_document_hover_async(params)
            times.append(time.perf_counter() - start)
    status = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="lspilot.status")
    )
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    cache = status["cache"] if isinstance(status, dict) else status.cache
    return times, cache if isinstance(cache, dict) else dict(cache._asdict())


def levels(cache: dict[str, Any]) -> dict[str, int]:
    raw = cache["levels"]
    return dict(raw) if isinstance(raw, dict) else dict(raw._asdict())


async def run(functions: int) -> None:
    text = source(functions)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        (base / "work").mkdir()
        model = FakeModelServer().start()
        redis = RedisServer(base / "redis").start()
        try:
            model.responder = lambda body: "Multiplies *x* and adds a constant."
            env = {
                **{
                    k: v for k, v in os.environ.items() if not k.startswith(("LSPILOT_", "OPENAI_"))
                },
                "LSPILOT_PROVIDER": "openai",
                "LSPILOT_BASE_URL": model.url,
                "LSPILOT_MODEL": "bench-model",
                "OPENAI_API_KEY": "bench-" + "k" * 20,
                "LSPILOT_DIAGNOSTICS__ENABLED": "false",
                "LSPILOT_CACHE__SHARED_URL": redis.url,
                "LSPILOT_CACHE__SHARED_NAMESPACE": NAMESPACE,
                # Generous: the point is the level's cost, not a read timing out under load.
                "LSPILOT_CACHE__SHARED_TIMEOUT_MS": "1000",
                "LSPILOT_LOG_LEVEL": "warning",
            }
            first = {**env, "LSPILOT_CACHE__DIR": str(base / "cache-a")}
            # One process: the first round is the miss, the next two come from memory.
            times, cache = await session(first, base / "work", text, functions, rounds=3)
            assert len(model.chat_requests()) == functions, "every miss asks the model once"
            assert levels(cache)["memory"] == 2 * functions, cache
            miss, memory = times[:functions], times[functions:]
            # Wait for the background writes to land before reading them elsewhere.
            deadline = time.monotonic() + 60
            while len(list(redis.client().scan_iter(match=f"lspilot:{NAMESPACE}:*"))) < functions:
                assert time.monotonic() < deadline, "the team cache never got the entries"
                await asyncio.sleep(0.05)
            disk, cache = await session(first, base / "work", text, functions, rounds=1)
            assert levels(cache)["disk"] == functions, cache
            second = {**env, "LSPILOT_CACHE__DIR": str(base / "cache-b")}
            shared, cache = await session(second, base / "work", text, functions, rounds=1)
            assert levels(cache)["shared"] == functions, cache
            assert len(model.chat_requests()) == functions, "no level asked the model"
        finally:
            redis.stop()
            model.stop()

    rows = [
        ("model miss (fake model)", miss),
        ("L1 memory", memory),
        ("L2 disk", disk),
        ("L3 team Redis", shared),
    ]
    print(f"hover, end to end, {functions} functions (ms)")
    print(f"{'served from':<26}{'n':>5}{'p50':>9}{'p90':>9}")
    for name, samples in rows:
        ms = sorted(s * 1000 for s in samples)
        p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
        print(f"{name:<26}{len(ms):>5}{statistics.median(ms):>9.2f}{p90:>9.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--functions", type=int, default=30, help="hovers per level")
    args = parser.parse_args()
    if redis_server_binary() is None:
        print("redis-server is not installed: run `make test-apt`", file=sys.stderr)
        return 2
    asyncio.run(run(args.functions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
