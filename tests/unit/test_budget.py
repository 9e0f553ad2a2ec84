"""The shared daily token budget: reserved before, settled after, across processes."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.model_server import FakeModelServer, Reply

from lspilot.assistant import create_assistant
from lspilot.assistant.budget import SharedTokenBudget, estimate_tokens
from lspilot.assistant.errors import BudgetExceededError
from lspilot.assistant.metering import input_chars
from lspilot.assistant.tasks import ExplainInput
from lspilot.settings import CacheSettings, LimitSettings, Settings


def test_reservations_count_until_settled_and_the_day_resets(tmp_path: Path) -> None:
    day = [dt.date(2026, 1, 1)]
    budget = SharedTokenBudget(1000, tmp_path, today=lambda: day[0])
    first = budget.reserve(300, 200)  # holds 500
    second = budget.reserve(300, 200)  # holds 500: 1000 in all
    with pytest.raises(BudgetExceededError) as raised:
        budget.reserve(1, 0)
    assert "limits.dailyTokenBudget" in raised.value.user_message
    budget.settle(first, 100)  # used 100, 500 held
    budget.reserve(200, 200)  # 100 + 500 + 400 = 1000: fits
    budget.settle(second, 0)
    assert budget.used_today() == 100
    day[0] = dt.date(2026, 1, 2)
    assert budget.used_today() == 0
    budget.reserve(500, 500)
    budget.close()


def test_a_second_store_on_the_same_folder_sees_the_first(tmp_path: Path) -> None:
    one = SharedTokenBudget(1000, tmp_path)
    two = SharedTokenBudget(1000, tmp_path)
    one.settle(one.reserve(100, 100), 900)
    with pytest.raises(BudgetExceededError):
        two.reserve(100, 100)
    assert two.used_today() == 900
    one.close()
    two.close()


def test_stale_reservations_of_a_dead_process_expire(tmp_path: Path) -> None:
    now = [1000.0]
    budget = SharedTokenBudget(1000, tmp_path, clock=lambda: now[0])
    budget.reserve(500, 500)  # never settled: the process died
    with pytest.raises(BudgetExceededError):
        budget.reserve(10, 0)
    now[0] += 16 * 60
    budget.reserve(10, 0)
    budget.close()


def test_the_per_request_limit_refuses_big_prompts_with_a_clear_message(tmp_path: Path) -> None:
    budget = SharedTokenBudget(0, tmp_path, per_request=500)
    with pytest.raises(BudgetExceededError) as raised:
        budget.reserve(600, 100)
    assert "limits.maxTokensPerRequest (500)" in raised.value.user_message
    allowed = budget.reserve(400, 1000)
    assert allowed.tokens == 0  # no daily budget: nothing to hold
    assert allowed.output_tokens == 100  # but the answer may only take what is left of 500
    with pytest.raises(BudgetExceededError) as raised:
        budget.reserve(450, 1000)  # 50 tokens of answer are not worth asking for
    assert "limits.maxTokensPerRequest (500)" in raised.value.user_message
    budget.close()


def test_what_is_left_of_the_day_shrinks_the_output_allowance(tmp_path: Path) -> None:
    budget = SharedTokenBudget(1000, tmp_path)
    first = budget.reserve(300, 400)
    assert (first.tokens, first.output_tokens) == (700, 400)
    second = budget.reserve(100, 400)  # 300 left: 100 of prompt, 200 of answer
    assert (second.tokens, second.output_tokens) == (300, 200)
    budget.settle(first, 700)
    budget.settle(second, 300)
    with pytest.raises(BudgetExceededError):
        budget.reserve(1, 400)
    budget.close()


def _capped_settings(url: str, cache: Path, *, per_request: int, daily: int) -> Settings:
    return Settings(
        provider="openai",
        base_url=url,
        model="test-model",
        api_key=SecretStr("sk-test-" + "0" * 32),
        max_output_tokens=1000,
        cache=CacheSettings(dir=str(cache)),
        limits=LimitSettings(max_tokens_per_request=per_request, daily_token_budget=daily),
    )


async def test_the_model_is_asked_for_no_more_than_the_limits_leave(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    # The model would answer at length (20,000 characters): only the allowance comes back.
    model_server.honor_max_tokens = True
    model_server.responder = lambda body: Reply(content="word " * 4000)
    requests = [ExplainInput(code=f"def f{i}():\n    return {i}\n") for i in range(3)]
    prompt = estimate_tokens(input_chars(requests[0]))
    cache = tmp_path / "cache"

    # Per request: prompt and answer within prompt + 200, whatever maxOutputTokens says.
    capped = await create_assistant(
        _capped_settings(model_server.url, cache, per_request=prompt + 200, daily=100_000),
        tmp_path,
    )
    await capped.run(requests[0])
    await capped.meter.drain()
    [sent] = model_server.chat_requests()
    assert sent.body is not None and sent.body["max_tokens"] == 200
    used = capped.meter.budget.used_today()
    assert used <= prompt + 200
    await capped.aclose()

    # The day (shared with the process above): 100 tokens of answer left after the prompt.
    daily = used + prompt + 100
    tight = await create_assistant(
        _capped_settings(model_server.url, cache, per_request=0, daily=daily), tmp_path
    )
    await tight.run(requests[1])
    await tight.meter.drain()
    sent = model_server.chat_requests()[1]
    assert sent.body is not None and sent.body["max_tokens"] == 100
    # Less than a useful answer left: refused with the budget's message, nothing sent.
    with pytest.raises(BudgetExceededError) as raised:
        await tight.run(requests[2])
    assert "limits.dailyTokenBudget" in raised.value.user_message
    assert len(model_server.chat_requests()) == 2
    assert tight.meter.budget.used_today() <= daily
    await tight.aclose()


def _reserve_and_settle(directory: str, start: Any, results: Any) -> None:
    budget = SharedTokenBudget(1000, Path(directory))
    start.wait()
    try:
        held = budget.reserve(100, 100)
    except BudgetExceededError:
        results.put(0)
        return
    budget.settle(held, 200)  # the whole reservation used
    results.put(200)
    budget.close()


def test_eight_processes_at_once_cannot_overshoot(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [
        context.Process(target=_reserve_and_settle, args=(str(tmp_path), start, results))
        for _ in range(8)
    ]
    for worker in workers:
        worker.start()
    start.set()
    spent = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert sorted(spent) == [0, 0, 0, 200, 200, 200, 200, 200]
    assert SharedTokenBudget(1000, tmp_path).used_today() == 1000


async def test_eight_concurrent_requests_cannot_overshoot(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    requests = [ExplainInput(code=f"def f{i}():\n    return {i}\n") for i in range(8)]
    reserved = estimate_tokens(input_chars(requests[0])) + 100
    settings = Settings(
        provider="openai",
        base_url=model_server.url,
        model="test-model",
        api_key=SecretStr("sk-test-" + "0" * 32),
        max_output_tokens=100,
        cache=CacheSettings(dir=str(tmp_path / "cache")),
        limits=LimitSettings(daily_token_budget=3 * reserved + reserved // 2, max_concurrent=8),
    )
    # Each answer uses exactly what it reserved: the worst case for overshooting.
    model_server.responder = lambda body: Reply(content="ok", usage=(reserved - 100, 100))
    assistant = await create_assistant(settings, tmp_path)
    outcomes = await asyncio.gather(*(assistant.run(r) for r in requests), return_exceptions=True)
    await assistant.meter.drain()
    refused = [o for o in outcomes if isinstance(o, BudgetExceededError)]
    answered = [o for o in outcomes if not isinstance(o, BaseException)]
    assert (len(answered), len(refused)) == (3, 5)
    assert len(model_server.chat_requests()) == 3
    used = assistant.meter.budget.used_today()
    assert used == 3 * reserved <= settings.limits.daily_token_budget
    assert assistant.stats()["budget_exhausted"]
    await assistant.aclose()


def test_settling_from_many_threads_leaves_no_write_ahead_log(tmp_path: Path) -> None:
    # Metering settles from whichever worker thread runs it; the store is touched from its
    # own thread only, so closing it closes its one connection and the WAL goes away.
    from concurrent.futures import ThreadPoolExecutor

    budget = SharedTokenBudget(0, tmp_path)
    reservation = budget.reserve(10, 10)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: budget.settle(reservation, 5), range(40)))
    assert budget.used_today() == 200
    assert (tmp_path / "budget" / "cache.db-wal").exists()
    budget.close()
    assert not (tmp_path / "budget" / "cache.db-wal").exists()
    assert SharedTokenBudget(0, tmp_path).used_today() == 200
