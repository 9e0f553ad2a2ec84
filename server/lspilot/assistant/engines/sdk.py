"""The `openai` package, imported in a worker thread: never on the event loop.

``import openai`` builds a few thousand pydantic models (a second or more of CPU on a busy
machine). On the event loop that is a second in which no keystroke, listing or hover is
answered, so the engine awaits `sdk()` instead: the first caller starts one import in a
thread of its own (the warm-up does it early, when the client is quiet), later callers share
its future. While the import runs, the interpreter's thread switch interval is shortened so
that the loop, when it has work, gets the GIL back within a millisecond rather than five.

The import alone is not all: the SDK defers work to its first request, which would pay it on
the loop (measured: 40-60 ms more for the first streamed completion than for the second).
`_first_use` does that work in the same thread, before the future is settled.

Off the server (``lspilot check``, the doctor) nothing changes: the same future, awaited.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import sys
import threading
import time
from concurrent.futures import Future
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lspilot.settings import Settings

log = logging.getLogger(__name__)

#: The module imported.
SDK = "openai"
# The switch interval while the import runs (CPython's default is 5 ms).
IMPORT_SWITCH_INTERVAL_S = 0.001

_future: Future[ModuleType] | None = None
_lock = threading.Lock()


def import_in_background() -> Future[ModuleType]:
    """The import's future; the first call starts it (any thread, idempotent)."""
    global _future
    with _lock:
        if _future is None:
            _future = Future()
            threading.Thread(
                target=_import, args=(_future,), name="lspilot-import", daemon=True
            ).start()
        return _future


async def sdk() -> ModuleType:
    """The `openai` module, imported off the event loop (raises what the import raised)."""
    future = import_in_background()
    if future.done():
        return future.result()
    return await asyncio.wrap_future(future)


async def new_client(settings: Settings, base_url: str, api_key: str) -> tuple[ModuleType, Any]:
    """The SDK module and an `AsyncOpenAI` client for `base_url`, both made off the loop
    (building a client loads the CA certificates: tens of milliseconds)."""
    openai = await sdk()
    # The client's read timeout only backs up ours (lspilot.assistant.engines.streaming):
    # a slow local model may take minutes to its first token.
    longest = max(
        settings.request_timeout_ms, settings.first_token_timeout_ms, settings.stall_timeout_ms
    )
    client = await asyncio.to_thread(
        openai.AsyncOpenAI,
        base_url=base_url,
        api_key=api_key,
        max_retries=0,  # one retry policy: ours (lspilot.assistant.retry)
        timeout=openai.Timeout(longest / 1000, connect=settings.request_timeout_ms / 1000),
    )
    return openai, client


def _import(future: Future[ModuleType]) -> None:
    began = time.perf_counter()
    already = SDK in sys.modules  # imported by someone else (`lspilot check`, a test)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, IMPORT_SWITCH_INTERVAL_S))
    try:
        module = importlib.import_module(SDK)
    except BaseException as exc:  # an import error is the request's to report
        future.set_exception(exc)
        log.debug("%s not imported (worker thread): %r", SDK, exc)
    else:
        _first_use()
        # The SDK's classes live as long as the process: out of every later full garbage
        # collection (each would otherwise scan them all, 100 ms and more, on the loop).
        gc.freeze()
        future.set_result(module)
        if already:
            log.debug("%s was imported already (not by the worker thread)", SDK)
        else:
            log.debug(
                "%s imported in a worker thread, off the event loop, in %.0f ms",
                SDK,
                (time.perf_counter() - began) * 1e3,
            )
    finally:
        sys.setswitchinterval(previous)


# What the first request imports lazily: the chat resource and its streaming helpers (the
# client loads them on first attribute access), and anyio's asyncio backend (httpx picks it
# at the first request it sends).
FIRST_USE_MODULES = (
    "openai.resources.chat.completions.completions",
    "openai.lib.streaming.chat",
    "openai.pagination",
    "anyio._backends._asyncio",
)


def _first_use() -> None:
    """Do in this thread what the SDK leaves to its first streamed chat completion: the lazy
    imports, the type hints of the request's parameters (evaluated once, then cached) and the
    pydantic models of a stream chunk (built on first use). Private SDK helpers are used: if
    they moved, the first request does the work itself, as before."""
    try:
        for name in FIRST_USE_MODULES:
            importlib.import_module(name)
        from openai._models import construct_type
        from openai._utils._transform import maybe_transform
        from openai.types.chat import ChatCompletionChunk, completion_create_params

        schema = {"name": "review", "strict": True, "schema": {"type": "object"}}
        maybe_transform(
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "temperature": 0.0,
                "max_tokens": 1,
                "stream": True,
                "stream_options": {"include_usage": True},
                "response_format": {"type": "json_schema", "json_schema": schema},
            },
            completion_create_params.CompletionCreateParamsStreaming,
        )
        construct_type(
            type_=ChatCompletionChunk,
            value={
                "id": "x",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": "m",
                "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )
    except Exception as exc:  # a warm-up only: the first request still works without it
        log.debug("%s: first-use warm-up skipped: %r", SDK, exc)
