"""Local model servers' quirks, against the fake model server over real HTTP: llama.cpp's 500
on `json_schema`, streams without usage, role-only first chunks, streams cut without a
`finish_reason` or by `length`, slow streams and stalls, one-slot concurrency."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.model_server import FakeModelServer, Reply

from lspilot.assistant import Assistant, create_assistant
from lspilot.assistant.engines.capabilities import (
    endpoint_failed,
    hover_output_tokens,
    is_local,
    refused_field,
)
from lspilot.assistant.engines.openai_engine import OpenAIEngine
from lspilot.assistant.errors import (
    FirstTokenTimeoutError,
    IncompleteAnswerError,
    ModelTimeoutError,
)
from lspilot.assistant.tasks import (
    DocumentInput,
    ExplainInput,
    ExplainResult,
    GenerateInput,
    ReviewInput,
    ReviewResult,
)
from lspilot.settings import CacheSettings, HoverSettings, LimitSettings, Settings

KEY = "sk-test-" + "0123456789abcdef" * 2
CODE = "def add(a, b):\n    return a + b\n"
ISSUE = {"quote": "a + b", "message": "Should subtract.", "severity": "error", "fix": "a - b"}


def settings_for(server: FakeModelServer, tmp_path: Path, **overrides: Any) -> Settings:
    fields: dict[str, Any] = {
        "provider": "openai",
        "base_url": server.url,
        "model": "test-model",
        "api_key": SecretStr(KEY),
        "cache": CacheSettings(dir=str(tmp_path / "cache")),
    }
    return Settings(**{**fields, **overrides})


async def assistant_for(server: FakeModelServer, tmp_path: Path, **overrides: Any) -> Assistant:
    return await create_assistant(settings_for(server, tmp_path, **overrides), tmp_path)


def formats(server: FakeModelServer) -> list[str | None]:
    """The `response_format` type of every chat request (None: not sent)."""
    found: list[str | None] = []
    for request in server.chat_requests():
        response_format = (request.body or {}).get("response_format")
        kind = response_format.get("type") if response_format else None
        found.append(f"{kind}+schema" if response_format and "schema" in response_format else kind)
    return found


# ---- structured output ----


async def test_llama_cpp_500_on_json_schema_falls_back_to_json_mode_with_the_schema(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    model_server.mimic_llama_cpp = True
    model_server.responder = lambda body: json.dumps({"issues": [ISSUE]})
    assistant = await assistant_for(model_server, tmp_path)
    first = await assistant.run(ReviewInput(code=CODE))
    second = await assistant.run(ReviewInput(code="x = a + b\n"))
    assert isinstance(first, ReviewResult) and first.issues[0].message == "Should subtract."
    assert isinstance(second, ReviewResult)
    # Refused once, asked again at once with JSON mode + schema; remembered for the next one.
    assert formats(model_server) == ["json_schema", "json_object+schema", "json_object+schema"]
    stats = assistant.stats()
    assert stats["breaker"] == "closed" and stats["errors"] == 0 and stats["failures"] == {}
    assert assistant.engine.describe()["structured_output"] == "json_object_schema"
    await assistant.aclose()


async def test_a_refusal_never_opens_the_breaker(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    """More refused reviews than the breaker threshold: hover keeps working."""
    model_server.mimic_llama_cpp = True
    model_server.responder = lambda body: '{"issues": []}'
    assistant = await assistant_for(
        model_server, tmp_path, limits=LimitSettings(breaker_threshold=1)
    )
    for n in range(3):
        await assistant.run(ReviewInput(code=f"x = {n}\n"))
    result = await assistant.run(ExplainInput(code=CODE))
    assert isinstance(result, ExplainResult)
    assert assistant.stats()["breaker"] == "closed"
    await assistant.aclose()


def test_a_500_that_does_not_name_a_field_is_an_outage() -> None:
    sent = {"response_format": {"type": "json_schema"}, "stream_options": {}}
    assert refused_field(500, "Internal Server Error", sent) is None
    assert refused_field(503, "response_format", sent) is None
    assert refused_field(500, "bad 'response_format'", sent) == "response_format"
    assert refused_field(422, "stream_options: extra fields not permitted", sent) == (
        "stream_options"
    )


def test_a_400_that_names_none_of_the_fields_sent_is_no_refusal() -> None:
    """An unrelated 400 (a wrong model name) is the request's own fault: it must not be
    answered by asking again without each optional field in turn."""
    sent = {"response_format": {"type": "json_schema"}, "stream_options": {}, "tools": []}
    assert refused_field(400, "Bad Request", sent) is None
    assert refused_field(400, "", sent) is None
    assert refused_field(400, "The model `nope` does not exist", sent) is None
    # A field named but not sent is not what was refused either.
    assert refused_field(400, "tools are not supported", {"stream_options": {}}) is None
    assert refused_field(400, "Unrecognized request argument: stream_options", sent) == (
        "stream_options"
    )


@pytest.mark.parametrize(
    ("base_url", "hover", "max_output", "expected"),
    [
        ("http://127.0.0.1:8080/v1", None, 1024, 256),  # a local CPU model: short hovers
        ("http://localhost:11434/v1", None, 1024, 256),
        ("https://api.openai.com/v1", None, 1024, None),  # remote: `maxOutputTokens`
        ("https://api.openai.com/v1", 100, 1024, 100),  # the setting, wherever it is
        ("http://127.0.0.1:8080/v1", 600, 1024, 600),
        ("http://127.0.0.1:8080/v1", 2000, 1024, None),  # never over `maxOutputTokens`
        ("http://127.0.0.1:8080/v1", None, 128, None),
    ],
)
def test_hover_output_tokens(
    base_url: str, hover: int | None, max_output: int, expected: int | None
) -> None:
    settings = Settings(max_output_tokens=max_output, hover=HoverSettings(max_output_tokens=hover))
    engine = OpenAIEngine(settings, base_url=base_url, api_key=KEY)
    assert hover_output_tokens(settings, engine) == expected


# ---- usage ----


async def test_without_usage_tokens_are_estimated_and_spent(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    model_server.mimic_llama_cpp = True
    model_server.script("An explanation " * 10)
    assistant = await assistant_for(model_server, tmp_path)
    result = await assistant.run(ExplainInput(code=CODE * 20))
    usage = result.meta.usage
    assert usage.estimated and usage.prompt_tokens > 50 and usage.completion_tokens > 10
    await assistant.meter.drain()  # the budget is settled in a worker thread
    stats = assistant.stats()
    assert stats["tokens_counted"] == "estimated"
    assert stats["budget_used"] == usage.prompt_tokens + usage.completion_tokens
    await assistant.aclose()


async def test_reported_usage_is_said_to_be_reported(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    model_server.script(Reply(content="Fine.", usage=(40, 2)))
    assistant = await assistant_for(model_server, tmp_path)
    result = await assistant.run(ExplainInput(code=CODE))
    assert not result.meta.usage.estimated and result.meta.usage.prompt_tokens == 40
    assert assistant.stats()["tokens_counted"] == "reported"
    await assistant.aclose()


# ---- complete or not kept ----


@pytest.mark.parametrize("finish_reason", [None, "length"])
async def test_a_cut_explanation_is_shown_marked_and_not_cached(
    model_server: FakeModelServer, tmp_path: Path, finish_reason: str | None
) -> None:
    model_server.script(
        Reply(content="It adds two", finish_reason=finish_reason), Reply(content="It adds.")
    )
    assistant = await assistant_for(model_server, tmp_path)
    first = await assistant.run(ExplainInput(code=CODE))
    assert isinstance(first, ExplainResult) and not first.meta.complete
    assert first.markdown.startswith("It adds two") and "cut short" in first.markdown
    second = await assistant.run(ExplainInput(code=CODE))
    assert isinstance(second, ExplainResult) and second.markdown == "It adds."
    assert not second.meta.cached and len(model_server.chat_requests()) == 2
    third = await assistant.run(ExplainInput(code=CODE))
    assert third.meta.cached  # the whole answer is kept
    await assistant.aclose()


@pytest.mark.parametrize(
    "request_",
    [
        DocumentInput(code=CODE, name="add", kind="function", signature="def add(a, b)"),
        GenerateInput(comment="# add two numbers", before="", after=""),
    ],
    ids=["document", "generate"],
)
async def test_a_cut_docstring_or_code_is_a_clear_error_not_retried(
    model_server: FakeModelServer, tmp_path: Path, request_: Any
) -> None:
    model_server.responder = lambda body: Reply(content="Adds the two", finish_reason="length")
    assistant = await assistant_for(model_server, tmp_path)
    with pytest.raises(IncompleteAnswerError) as caught:
        await assistant.run(request_)
    assert "cut short" in caught.value.user_message
    assert len(model_server.chat_requests()) == 1  # a streaming request is not retried
    assert assistant.stats()["breaker"] == "closed"
    await assistant.aclose()


async def test_a_cut_review_keeps_issues_whose_json_closed(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    model_server.script(Reply(content=json.dumps({"issues": [ISSUE]}), finish_reason=None))
    assistant = await assistant_for(model_server, tmp_path)
    result = await assistant.run(ReviewInput(code=CODE))
    assert isinstance(result, ReviewResult) and len(result.issues) == 1
    assert not result.meta.complete
    await assistant.aclose()


# ---- CPU speed ----


async def test_a_slow_stream_still_making_progress_is_not_killed(
    model_server: FakeModelServer,
) -> None:
    """Chunks slower than the response timeout: the answer still arrives, whole."""
    engine = OpenAIEngine(
        Settings(model="test-model", request_timeout_ms=200),
        base_url=model_server.url,
        api_key=KEY,
    )
    model_server.script(Reply(content="A slow but whole answer.", chunk_delay=0.4))
    result = await engine.run(ExplainInput(code=CODE))
    assert isinstance(result, ExplainResult) and result.markdown == "A slow but whole answer."
    assert result.meta.complete
    await engine.aclose()


async def test_a_stall_mid_answer_cuts_it_and_closes_the_connection(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    model_server.script(Reply(content="The first words and then", stall_after=2))
    assistant = await assistant_for(model_server, tmp_path, stall_timeout_ms=300)
    result = await assistant.run(ExplainInput(code=CODE))
    assert isinstance(result, ExplainResult) and not result.meta.complete
    assert "stalled" in result.markdown
    assert await model_server.await_disconnect()
    assert len(model_server.chat_requests()) == 1
    await assistant.aclose()


async def test_no_first_token_in_time_is_a_timeout(model_server: FakeModelServer) -> None:
    engine = OpenAIEngine(
        Settings(model="test-model", first_token_timeout_ms=300),
        base_url=model_server.url,
        api_key=KEY,
    )
    model_server.script(Reply(content="late", stall_after=1))
    with pytest.raises(ModelTimeoutError, match="first token"):
        await engine.run(ExplainInput(code=CODE))
    assert await model_server.await_disconnect()
    await engine.aclose()


async def test_a_first_token_timeout_is_not_retried_nor_held_against_a_local_server(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    # The response began (headers and a role-only chunk), then no token: the request was
    # streaming, so it is not sent again, and a CPU slow to read a prompt is not an outage.
    model_server.responder = lambda body: Reply(content="late", stall_after=1)
    limits = LimitSettings(max_retries=4, breaker_threshold=1)
    assistant = await assistant_for(
        model_server, tmp_path, first_token_timeout_ms=300, limits=limits
    )
    for n in range(2):
        with pytest.raises(FirstTokenTimeoutError):
            await assistant.run(ExplainInput(code=f"x = {n}"))
    assert len(model_server.chat_requests()) == 2  # one each, no retry
    assert assistant.stats()["breaker"] == "closed"
    await assistant.aclose()
    remote = OpenAIEngine(
        Settings(model="test-model"), base_url="https://api.example.com/v1", api_key=KEY
    )
    assert endpoint_failed(remote, FirstTokenTimeoutError()) is True  # a remote one: it counts
    await remote.aclose()


async def test_a_local_endpoint_gets_one_request_at_a_time_unless_set(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    local = await assistant_for(model_server, tmp_path)
    assert local.stats()["concurrency"] == 1
    await local.aclose()
    chosen = await assistant_for(
        model_server, tmp_path, limits=LimitSettings.model_validate({"maxConcurrent": 3})
    )
    assert chosen.stats()["concurrency"] == 3
    await chosen.aclose()
    assert is_local("http://localhost:11434") and is_local("http://[::1]:8080/v1")
    assert not is_local("https://api.openai.com/v1")
