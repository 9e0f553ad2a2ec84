"""Metering in the gateway: usage lines per request, estimates, the last error clearing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import SecretStr
from tests.fakes.model_server import FakeModelServer, Reply

from lspilot.assistant import create_assistant
from lspilot.assistant.errors import AuthError
from lspilot.assistant.tasks import ExplainInput
from lspilot.settings import CacheSettings, LimitSettings, Settings


def settings_for(server: FakeModelServer, tmp_path: Path) -> Settings:
    return Settings(
        provider="openai",
        base_url=server.url,
        model="test-model",
        api_key=SecretStr("sk-test-" + "1" * 32),
        cache=CacheSettings(dir=str(tmp_path / "cache")),
        limits=LimitSettings(max_retries=0),
    )


def lines(tmp_path: Path) -> list[dict[str, object]]:
    path = tmp_path / "cache" / "usage" / "usage.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_failures_are_recorded_and_the_last_error_clears_on_success(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    assistant = await create_assistant(settings_for(model_server, tmp_path), tmp_path)
    model_server.script(Reply(status=401), Reply(content="fine", usage=(12, 3)))
    with pytest.raises(AuthError):
        await assistant.run(ExplainInput(code="x = 1"))
    assert assistant.stats()["last_error"]
    await assistant.run(ExplainInput(code="y = 2"))
    assert assistant.stats()["last_error"] == ""
    await assistant.meter.drain()
    recorded = lines(tmp_path)
    assert [line["outcome"] for line in recorded] == ["AuthError", "ok"]
    assert (recorded[1]["prompt_tokens"], recorded[1]["completion_tokens"]) == (12, 3)
    await assistant.aclose()


async def test_answers_without_usage_are_estimated_and_marked_so(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    assistant = await create_assistant(settings_for(model_server, tmp_path), tmp_path)
    model_server.script(Reply(content="an answer of some length", usage=(0, 0)))
    await assistant.run(ExplainInput(code="def f():\n    return 1\n"))
    await assistant.meter.drain()
    [line] = lines(tmp_path)
    assert line["counted"] is False
    assert isinstance(line["prompt_tokens"], int) and line["prompt_tokens"] > 0
    assert isinstance(line["completion_tokens"], int) and line["completion_tokens"] > 0
    await assistant.aclose()
