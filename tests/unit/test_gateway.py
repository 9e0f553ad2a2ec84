"""The Assistant over real HTTP to the fake model server: cache, dedupe, retry, breaker,
budget, cancellation, repair rounds and redaction."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.model_server import FakeModelServer, Reply

from lspilot.assistant import Assistant, create_assistant
from lspilot.assistant.cache import ResultCache
from lspilot.assistant.errors import (
    AuthError,
    BadOutputError,
    BudgetExceededError,
    CircuitOpenError,
    UnavailableError,
)
from lspilot.assistant.tasks import (
    DocumentInput,
    ExplainInput,
    ExplainResult,
    Parameter,
    ReviewInput,
    TaskResult,
)
from lspilot.settings import CacheSettings, LimitSettings, Settings

CODE = "def add(a, b):\n    return a + b\n"
KEY = "sk-test-0123456789abcdef0123456789abcdef"
SECRET_IN_CODE = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCD"


def make_settings(server: FakeModelServer, tmp_path: Path, **overrides: Any) -> Settings:
    limits = {"max_retries": 3, "breaker_threshold": 5, **overrides.pop("limits", {})}
    fields: dict[str, Any] = {
        "provider": "openai",
        "base_url": server.url,
        "model": "test-model",
        "api_key": SecretStr(KEY),
        "cache": CacheSettings(dir=str(tmp_path / "cache")),
        "limits": LimitSettings(**limits),
    }
    return Settings(**{**fields, **overrides})


@pytest.fixture
async def assistant(model_server: FakeModelServer, tmp_path: Path) -> AsyncIterator[Assistant]:
    a = await create_assistant(make_settings(model_server, tmp_path), tmp_path)
    yield a
    await a.aclose()


async def build(server: FakeModelServer, tmp_path: Path, **overrides: Any) -> Assistant:
    return await create_assistant(make_settings(server, tmp_path, **overrides), tmp_path)


# ---- cache ----


async def test_second_identical_run_is_a_cache_hit(
    assistant: Assistant, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(content="Adds numbers.", usage=(30, 3)))
    first = await assistant.run(ExplainInput(code=CODE))
    second = await assistant.run(ExplainInput(code=CODE.replace("\n", "  \r\n")))
    assert isinstance(second, ExplainResult) and second.markdown == "Adds numbers."
    assert not first.meta.cached and second.meta.cached
    assert second.meta.usage.prompt_tokens == 0
    assert len(model_server.chat_requests()) == 1
    stats = assistant.stats()
    assert (stats["cache_hits"], stats["cache_misses"], stats["requests"]) == (1, 1, 1)
    assert (stats["tokens_in"], stats["tokens_out"]) == (30, 3)
    assert stats["engine"] == "openai" and stats["model"] == "test-model"
    assert KEY not in repr(stats)


async def test_cached_never_calls_the_model(
    assistant: Assistant, model_server: FakeModelServer
) -> None:
    assert await assistant.cached(ExplainInput(code=CODE)) is None
    await assistant.run(ExplainInput(code=CODE))
    hit = await assistant.cached(ExplainInput(code=CODE))
    assert hit is not None and hit.meta.cached
    assert len(model_server.chat_requests()) == 1


async def test_cache_survives_a_new_assistant(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    first = await build(model_server, tmp_path)
    await first.run(ExplainInput(code=CODE))
    await first.aclose()
    second = await build(model_server, tmp_path)
    result = await second.run(ExplainInput(code=CODE))
    assert result.meta.cached
    assert len(model_server.chat_requests()) == 1
    await second.aclose()


async def test_secrets_are_redacted_before_sending_and_keying(
    assistant: Assistant, model_server: FakeModelServer, tmp_path: Path
) -> None:
    code = f'api_key = "{SECRET_IN_CODE}"\n'
    request = DocumentInput(
        name="connect",
        kind="function",
        code=f"def connect(key='{SECRET_IN_CODE}'):\n    pass\n",
        signature=f"def connect(key='{SECRET_IN_CODE}'):",
        parameters=(Parameter(name="key", default=f"'{SECRET_IN_CODE}'"),),
    )
    model_server.script("Reads a key.", "Connect with a key.")
    await assistant.run(ExplainInput(code=code, context=code))
    await assistant.run(request)
    sent = model_server.all_prompt_text()
    assert SECRET_IN_CODE not in sent
    assert "«redacted:openai-key»" in sent
    # A different secret in the same place is the same request once redacted: same key.
    other = 'api_key = "sk-proj-' + "Z7" * 20 + '"\n'
    again = await assistant.run(ExplainInput(code=other, context=other))
    assert again.meta.cached
    # Nothing on disk holds the secret.
    stored = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert SECRET_IN_CODE.encode() not in stored
    assert KEY.encode() not in stored


async def test_a_request_asked_again_is_kept_redacted_until_the_privacy_settings_change(
    assistant: Assistant, model_server: FakeModelServer
) -> None:
    code = f'api_key = "{SECRET_IN_CODE}"\n'
    request = ExplainInput(code=code)
    model_server.script("Holds a key.", "Holds the key.")
    await assistant.run(request)
    assert (await assistant.cached(request)) is not None  # the kept redaction: same key
    assert SECRET_IN_CODE not in model_server.all_prompt_text()
    privacy = assistant.settings.privacy.model_copy(update={"redact_secrets": False})
    assistant.reconfigure(assistant.settings.model_copy(update={"privacy": privacy}))
    # Not redacted any more: another request (another key), sent as it is.
    assert await assistant.cached(request) is None
    await assistant.run(request)
    assert SECRET_IN_CODE in model_server.all_prompt_text()
    assert len(model_server.chat_requests()) == 2


async def test_a_big_request_is_keyed_like_a_small_one(assistant: Assistant) -> None:
    from lspilot.assistant.prepared import BIG_REQUEST_CHARS, engine_key

    # Redacted and keyed in a worker thread: the same key the event loop would make.
    request = ReviewInput(code="x = 1  \n" * (BIG_REQUEST_CHARS // 4))
    _, sent, key = await assistant._prepare(request)
    assert key == engine_key(assistant.engine, sent, assistant.settings.cache)


# ---- dedupe and cancellation ----


def held_reply(content: str) -> tuple[threading.Event, Any]:
    """A responder that answers only once the returned event is set."""
    release = threading.Event()

    def responder(body: dict[str, Any]) -> Reply:
        release.wait(10)
        return Reply(content=content)

    return release, responder


@pytest.fixture
async def uncached(model_server: FakeModelServer, tmp_path: Path) -> AsyncIterator[Assistant]:
    """An assistant without a cache: `run` reaches the dedupe step without suspending, so
    tasks created together have all joined after one trip through the event loop."""
    settings = make_settings(model_server, tmp_path, cache=CacheSettings(enabled=False))
    a = await create_assistant(settings, tmp_path)
    yield a
    await a.aclose()


async def joined(assistant: Assistant, waiters: int) -> None:
    """Let freshly created runs reach the in-flight table, and check they share one call."""
    await asyncio.sleep(0)
    assert assistant.stats()["deduped"] == waiters - 1
    assert assistant.stats()["in_flight"] == 1


async def test_two_concurrent_identical_runs_make_one_request(
    uncached: Assistant, model_server: FakeModelServer
) -> None:
    release, model_server.responder = held_reply("shared")
    first = asyncio.create_task(uncached.run(ExplainInput(code=CODE)))
    second = asyncio.create_task(uncached.run(ExplainInput(code=CODE)))
    await joined(uncached, 2)
    release.set()
    assert await first == await second
    assert len(model_server.chat_requests()) == 1
    assert uncached.stats()["deduped"] == 1


async def test_cancelling_a_stalled_run_closes_the_connection(
    assistant: Assistant, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(stall=True))
    task = asyncio.create_task(assistant.run(ExplainInput(code=CODE)))
    assert await model_server.await_requests(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await model_server.await_disconnect()
    assert assistant.stats()["in_flight"] == 0
    assert assistant.stats()["errors"] == 0


async def test_one_waiter_cancelling_does_not_cancel_the_shared_request(
    uncached: Assistant, model_server: FakeModelServer
) -> None:
    release, model_server.responder = held_reply("still coming")
    leaving = asyncio.create_task(uncached.run(ExplainInput(code=CODE)))
    staying = asyncio.create_task(uncached.run(ExplainInput(code=CODE)))
    await joined(uncached, 2)
    assert await model_server.await_requests(1)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    release.set()
    result = await staying
    assert isinstance(result, ExplainResult) and result.markdown == "still coming"
    [request] = model_server.chat_requests()
    assert not request.disconnected


async def test_all_waiters_cancelling_cancels_the_request(
    uncached: Assistant, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(stall=True))
    tasks = [asyncio.create_task(uncached.run(ExplainInput(code=CODE))) for _ in range(2)]
    await joined(uncached, 2)
    assert await model_server.await_requests(1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert await model_server.await_disconnect()
    assert len(model_server.chat_requests()) == 1


# ---- retry, breaker, budget ----


async def test_429_with_retry_after_then_success(
    assistant: Assistant, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(status=429, headers={"Retry-After": "1"}), "after the wait")
    started = time.monotonic()
    result = await assistant.run(ExplainInput(code=CODE))
    waited = time.monotonic() - started
    assert isinstance(result, ExplainResult) and result.markdown == "after the wait"
    requests = model_server.chat_requests()
    assert len(requests) == 2
    assert requests[1].at - requests[0].at >= 0.9
    assert waited >= 0.9
    assert assistant.stats()["errors"] == 0


async def test_500_twice_then_success(assistant: Assistant, model_server: FakeModelServer) -> None:
    model_server.script(Reply(status=500), Reply(status=502), "third time lucky")
    result = await assistant.run(ExplainInput(code=CODE))
    assert isinstance(result, ExplainResult) and result.markdown == "third time lucky"
    assert len(model_server.chat_requests()) == 3
    assert assistant.stats()["requests"] == 3


async def test_401_is_not_retried(assistant: Assistant, model_server: FakeModelServer) -> None:
    model_server.responder = lambda body: Reply(status=401)
    with pytest.raises(AuthError):
        await assistant.run(ExplainInput(code=CODE))
    assert len(model_server.chat_requests()) == 1
    stats = assistant.stats()
    assert stats["failures"] == {"AuthError": 1}
    assert "API key" in stats["last_error"]
    assert stats["breaker"] == "closed"


async def test_breaker_opens_after_consecutive_failures(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    assistant = await build(
        model_server, tmp_path, limits={"max_retries": 0, "breaker_threshold": 2}
    )
    model_server.responder = lambda body: Reply(status=503)
    for n in range(2):
        with pytest.raises(UnavailableError):
            await assistant.run(ExplainInput(code=f"x = {n}"))
    with pytest.raises(CircuitOpenError):
        await assistant.run(ExplainInput(code="x = 3"))
    assert len(model_server.chat_requests()) == 2
    assert assistant.stats()["breaker"] == "open"
    assert assistant.stats()["failures"] == {"UnavailableError": 2, "CircuitOpenError": 1}
    await assistant.aclose()


async def test_bad_output_does_not_count_towards_the_breaker(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    assistant = await build(
        model_server, tmp_path, limits={"max_retries": 0, "breaker_threshold": 1}
    )
    model_server.responder = lambda body: Reply(content="no json here")
    for n in range(3):
        with pytest.raises(BadOutputError):
            await assistant.run(ReviewInput(code=f"x = {n}"))
    assert assistant.stats()["breaker"] == "closed"
    assert len(model_server.chat_requests()) == 3
    await assistant.aclose()


async def test_daily_budget_stops_requests(model_server: FakeModelServer, tmp_path: Path) -> None:
    # A request reserves its prompt (estimated generously) plus the whole output allowance.
    assistant = await build(
        model_server, tmp_path, limits={"daily_token_budget": 2000}, max_output_tokens=100
    )
    model_server.script(Reply(content="spent", usage=(1500, 400)))
    await assistant.run(ExplainInput(code=CODE))
    await assistant.meter.drain()
    with pytest.raises(BudgetExceededError):
        await assistant.run(ExplainInput(code="y = 1"))
    assert len(model_server.chat_requests()) == 1
    assert assistant.stats()["budget_used"] == 1900
    # A cached answer costs nothing and is still served.
    assert (await assistant.run(ExplainInput(code=CODE))).meta.cached
    await assistant.aclose()


# ---- repair rounds ----


def not_short(result: TaskResult) -> str | None:
    assert isinstance(result, ExplainResult)
    return None if len(result.markdown) > 10 else "The explanation is too short."


async def test_run_validated_repairs_once_with_feedback(
    assistant: Assistant, model_server: FakeModelServer
) -> None:
    model_server.script("short", "a long enough explanation")
    result = await assistant.run_validated(ExplainInput(code=CODE), not_short)
    assert isinstance(result, ExplainResult) and result.markdown == "a long enough explanation"
    first, second = model_server.chat_requests()
    assert "rejected" not in model_server.prompt_text(first)
    assert "Your previous answer was rejected: The explanation is too short." in (
        model_server.prompt_text(second)
    )


async def test_run_validated_gives_up_after_one_repair(
    assistant: Assistant, model_server: FakeModelServer
) -> None:
    model_server.script("short", "tiny", "never asked")
    with pytest.raises(BadOutputError) as caught:
        await assistant.run_validated(ExplainInput(code=CODE), not_short)
    assert "too short" in caught.value.user_message
    assert len(model_server.chat_requests()) == 2


async def test_run_validated_repairs_unparseable_output(
    assistant: Assistant, model_server: FakeModelServer
) -> None:
    model_server.script("I think the code is fine.", '{"issues": []}')
    result = await assistant.run_validated(ReviewInput(code=CODE), lambda r: None)
    assert result.model_dump()["issues"] == []
    assert "rejected" in model_server.prompt_text(model_server.chat_requests()[1])


# ---- reconfigure ----


async def test_reconfigure_switches_model_and_limits(
    assistant: Assistant, model_server: FakeModelServer, tmp_path: Path
) -> None:
    await assistant.run(ExplainInput(code=CODE))
    settings = make_settings(
        model_server, tmp_path, model="other-model", limits={"breaker_threshold": 9}
    )
    await assistant.areconfigure(settings)
    assert assistant.stats()["model"] == "other-model"
    assert assistant.breaker.threshold == 9
    # A new model is a new cache key: the model is asked again.
    result = await assistant.run(ExplainInput(code=CODE))
    assert not result.meta.cached
    assert [r.model for r in model_server.chat_requests()] == ["test-model", "other-model"]


async def test_memory_cache_when_disk_is_unusable(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    settings = make_settings(model_server, tmp_path).model_copy(
        update={"cache": CacheSettings(dir=str(blocker))}
    )
    assistant = await create_assistant(settings, tmp_path)
    await assistant.run(ExplainInput(code=CODE))
    assert (await assistant.run(ExplainInput(code=CODE))).meta.cached
    assert assistant.stats()["cache"]["mode"] == "memory"
    await assistant.aclose()


def test_assistant_constructor_matches_the_contract(tmp_path: Path) -> None:
    from lspilot.assistant.engines.openai_engine import OpenAIEngine

    settings = Settings(cache=CacheSettings(dir=str(tmp_path)))
    engine = OpenAIEngine(settings, base_url="http://127.0.0.1:9/v1", api_key=None)
    assistant = Assistant(settings, engine, ResultCache(settings.cache))
    assert assistant.engine is engine
    assert assistant.stats()["endpoint"] == "http://127.0.0.1:9/v1"


async def test_offline_engine_skips_the_cache_but_counts(tmp_path: Path) -> None:
    pytest.importorskip("lspilot.assistant.engines.offline")
    settings = Settings(provider="offline", cache=CacheSettings(dir=str(tmp_path)))
    assistant = await create_assistant(settings, tmp_path)
    assert assistant.engine.id == "offline"
    first = await assistant.run(ExplainInput(code=CODE, name="add", kind="function"))
    second = await assistant.run(ExplainInput(code=CODE, name="add", kind="function"))
    assert not first.meta.cached and not second.meta.cached
    stats = assistant.stats()
    assert stats["requests"] == 2
    assert (stats["cache_hits"], stats["cache_misses"]) == (0, 0)
    assert stats["cache"]["entries"] == 0
    await assistant.aclose()


async def test_a_run_after_everyone_left_starts_a_fresh_request(
    uncached: Assistant, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(stall=True), "fresh")
    leaving = asyncio.create_task(uncached.run(ExplainInput(code=CODE)))
    assert await model_server.await_requests(1)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    # The cancelled call may still be winding down; a new caller must not inherit it.
    result = await uncached.run(ExplainInput(code=CODE))
    assert isinstance(result, ExplainResult) and result.markdown == "fresh"
    assert len(model_server.chat_requests()) == 2
