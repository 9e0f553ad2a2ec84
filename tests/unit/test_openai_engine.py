"""The OpenAI-compatible engine against the fake model server, over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.model_server import FakeModelServer, Reply

from lspilot.assistant.engines.model_text import parse_review_json
from lspilot.assistant.engines.openai_engine import OpenAIEngine
from lspilot.assistant.engines.prompts import PROMPT_VERSION, build_messages
from lspilot.assistant.errors import (
    AuthError,
    BadOutputError,
    BadRequestError,
    ModelTimeoutError,
    RateLimitError,
    UnavailableError,
)
from lspilot.assistant.tasks import (
    DocumentInput,
    DocumentResult,
    ExplainInput,
    ExplainResult,
    GenerateInput,
    GenerateResult,
    Parameter,
    ReviewInput,
    ReviewIssue,
    ReviewResult,
    Usage,
)
from lspilot.settings import DiagnosticSettings, Settings

SECRET = "sk-test-0123456789abcdef0123456789abcdef"
CODE = "def add(a, b):\n    return a + b\n"


@pytest.fixture
async def engine(model_server: FakeModelServer) -> AsyncIterator[OpenAIEngine]:
    e = OpenAIEngine(Settings(model="test-model"), base_url=model_server.url, api_key=SECRET)
    yield e
    await e.aclose()


def make_engine(server: FakeModelServer, **settings: Any) -> OpenAIEngine:
    return OpenAIEngine(
        Settings(model="test-model", **settings), base_url=server.url, api_key=SECRET
    )


async def test_explain_streams_with_usage(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(content="Adds **two** numbers.", usage=(40, 7)))
    result = await engine.run(ExplainInput(code=CODE, name="add", kind="function"))
    assert isinstance(result, ExplainResult)
    assert result.markdown == "Adds **two** numbers."
    assert result.meta.engine == "openai"
    assert result.meta.model == "test-model"
    assert result.meta.usage == Usage(prompt_tokens=40, completion_tokens=7)
    assert not result.meta.cached
    [sent] = model_server.chat_requests()
    assert sent.body is not None
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["model"] == "test-model"
    assert "response_format" not in sent.body
    assert "return a + b" in model_server.prompt_text(sent)
    assert sent.headers["authorization"] == f"Bearer {SECRET}"


async def test_per_task_model_override(model_server: FakeModelServer) -> None:
    engine = make_engine(model_server, models={"review": "cheap-model"})
    model_server.script('{"issues": []}')
    await engine.run(ReviewInput(code=CODE))
    assert model_server.chat_requests()[0].model == "cheap-model"
    assert engine.model_for("explain") == "test-model"  # type: ignore[arg-type]
    await engine.aclose()


async def test_document_strips_quotes_and_fences(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    model_server.script('```python\n"""Add two numbers.\n\nArgs:\n    a: x\n    b: y\n"""\n```')
    request = DocumentInput(
        name="add",
        kind="function",
        code=CODE,
        signature="def add(a, b):",
        parameters=(Parameter(name="a"), Parameter(name="b")),
        style="numpy",
    )
    result = await engine.run(request)
    assert isinstance(result, DocumentResult)
    assert result.docstring.startswith("Add two numbers.")
    assert '"""' not in result.docstring and "```" not in result.docstring
    prompt = model_server.prompt_text(model_server.chat_requests()[0])
    assert "NumPy style" in prompt
    assert "Document exactly these parameters" in prompt and "`a`, `b`" in prompt


async def test_generate_keeps_the_raw_text(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    answer = "Here you go:\n```python\nprint('hi')\n```"
    model_server.script(answer)
    result = await engine.run(GenerateInput(comment="print hi", before="import os\n"))
    assert result == GenerateResult(code=answer, meta=result.meta)


async def test_review_sends_a_json_schema_and_parses_issues(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    issue = {"quote": "a + b", "message": "Should subtract.", "severity": "error", "fix": "a - b"}
    model_server.script(json.dumps({"issues": [issue]}))
    result = await engine.run(ReviewInput(code=CODE))
    assert isinstance(result, ReviewResult)
    assert result.issues == [ReviewIssue(**issue)]
    body = model_server.chat_requests()[0].body or {}
    assert body["response_format"]["type"] == "json_schema"


async def test_refused_response_format_is_dropped_at_once_and_remembered(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    model_server.reject_response_format = True
    model_server.script('{"issues": []}', '{"issues": []}')
    first = await engine.run(ReviewInput(code=CODE))
    assert isinstance(first, ReviewResult) and first.issues == []
    await engine.run(ReviewInput(code="x = 1"))
    with_format = ["response_format" in (r.body or {}) for r in model_server.chat_requests()]
    # First review: refused, then retried without; second review: not asked again.
    assert with_format == [True, False, False]
    assert engine.structured_output_rejected


async def test_structured_output_off_never_sends_a_schema(model_server: FakeModelServer) -> None:
    engine = make_engine(model_server, diagnostics=DiagnosticSettings(structured_output="off"))
    model_server.script('{"issues": []}')
    await engine.run(ReviewInput(code=CODE))
    assert "response_format" not in (model_server.chat_requests()[0].body or {})
    await engine.aclose()


async def test_refused_stream_options_fall_back_without_usage(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    def responder(body: dict[str, Any]) -> Reply:
        if "stream_options" in body:
            return Reply(status=400, error_message="Unrecognized request argument: stream_options")
        return Reply(content="fine")

    model_server.responder = responder
    result = await engine.run(ExplainInput(code=CODE))
    await engine.run(ExplainInput(code="y = 2"))
    assert isinstance(result, ExplainResult) and result.markdown == "fine"
    # No usage from the server: counted by lspilot's estimate, and said so.
    assert result.meta.usage.estimated and result.meta.usage.prompt_tokens > 0
    assert engine.describe()["tokens_counted"] == "estimated"
    sent = ["stream_options" in (r.body or {}) for r in model_server.chat_requests()]
    assert sent == [True, False, False]


async def test_feedback_is_appended_to_the_prompt(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    await engine.run(ExplainInput(code=CODE, feedback="It was too long."))
    prompt = model_server.prompt_text(model_server.chat_requests()[0])
    assert "Your previous answer was rejected: It was too long." in prompt


# ---- errors ----


async def test_429_maps_to_rate_limit_with_retry_after(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(status=429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimitError) as caught:
        await engine.run(ExplainInput(code=CODE))
    assert caught.value.retry_after == 7.0
    assert len(model_server.chat_requests()) == 1  # max_retries=0 in the SDK


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (Reply(status=401, error_message=f"Incorrect API key provided: {SECRET}"), AuthError),
        (Reply(status=403, error_message=f"key {SECRET} may not"), AuthError),
        (Reply(status=400, error_message=f"bad request for {SECRET}"), BadRequestError),
        (Reply(status=404, error_message="model not found"), BadRequestError),
        (Reply(status=422), BadRequestError),
        (Reply(status=500), UnavailableError),
        (Reply(status=503), UnavailableError),
        (Reply(drop=True), UnavailableError),
        (Reply(content=""), BadOutputError),
        (Reply(content="   \n"), BadOutputError),
        (Reply(raw_body=b"data: {not json\n\n"), BadOutputError),
    ],
)
async def test_errors_are_mapped_and_never_carry_the_key(
    engine: OpenAIEngine, model_server: FakeModelServer, reply: Reply, error: type[Exception]
) -> None:
    model_server.responder = lambda body: reply
    with pytest.raises(error) as caught:
        await engine.run(ExplainInput(code=CODE))
    assert SECRET not in str(caught.value)
    assert SECRET not in caught.value.user_message  # type: ignore[attr-defined]
    assert SECRET not in repr(caught.value.args)


async def test_a_404_says_what_the_endpoint_said(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    model_server.strict_models = True
    model_server.models = ["other-model"]
    with pytest.raises(BadRequestError, match="404: model not found"):
        await engine.run(ExplainInput(code=CODE))


async def test_unreachable_endpoint_is_unavailable() -> None:
    engine = OpenAIEngine(Settings(), base_url="http://127.0.0.1:9/v1", api_key=SECRET)
    with pytest.raises(UnavailableError):
        await engine.run(ExplainInput(code=CODE))
    await engine.aclose()


async def test_stall_times_out_and_closes_the_connection(model_server: FakeModelServer) -> None:
    engine = make_engine(model_server, request_timeout_ms=300)
    model_server.script(Reply(stall=True))
    with pytest.raises(ModelTimeoutError):
        await engine.run(ExplainInput(code=CODE))
    assert await model_server.await_disconnect()
    await engine.aclose()


async def test_cancelling_a_streaming_answer_closes_the_connection(
    engine: OpenAIEngine, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(content="a long answer " * 20, chunk_delay=5.0))
    task = asyncio.create_task(engine.run(ExplainInput(code=CODE)))
    assert await model_server.await_requests(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await model_server.await_disconnect()


async def test_describe_never_shows_the_key_or_url_credentials() -> None:
    engine = OpenAIEngine(
        Settings(api_key=SecretStr(SECRET)),
        base_url="https://user:pass@example.com/v1",
        api_key=SECRET,
    )
    described = engine.describe()
    assert described["endpoint"] == "https://example.com/v1"
    assert SECRET not in json.dumps(described) and "pass" not in json.dumps(described)


def test_an_engine_asks_its_endpoint_without_the_openai_sdk(
    model_server: FakeModelServer,
) -> None:
    """Building an engine imports no HTTP stack (that is the worker thread's, at the first
    request or the warm-up), and answering a request imports no `openai` package: its ~19
    MiB of pydantic models are not the server's to carry (lspilot.assistant.engines.chat_client).
    """
    import subprocess
    import sys

    code = (
        "import asyncio, sys\n"
        "from lspilot.settings import Settings\n"
        "from lspilot.assistant.engines.openai_engine import OpenAIEngine\n"
        "from lspilot.assistant.tasks import ExplainInput\n"
        f"e = OpenAIEngine(Settings(model='m'), base_url={model_server.url!r}, api_key=None)\n"
        "assert 'httpx' not in sys.modules, 'httpx imported by building an engine'\n"
        "async def ask():\n"
        "    try:\n"
        "        return await e.run(ExplainInput(code='x = 1', name='x', kind='variable'))\n"
        "    finally:\n"
        "        await e.aclose()\n"
        "print(asyncio.run(ask()).markdown)\n"
        "sys.exit(3 if 'openai' in sys.modules else 0)\n"
    )
    model_server.script(Reply(content="It sets x."))
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "It sets x."
    [sent] = model_server.chat_requests()
    assert "authorization" not in sent.headers  # no key: no made-up one either


# ---- review parsing and prompts ----


def test_review_json_is_found_inside_prose_and_fences() -> None:
    text = (
        "<think>hmm {not json}</think>Sure! Here it is:\n```json\n"
        '{"issues": [{"quote": "x", "message": "bad", "severity": "ERROR"},'
        ' {"quote": "", "message": "empty quote is invalid"},'
        ' {"message": "no quote"}, "junk",'
        ' {"quote": "y", "message": "ok", "severity": "nonsense"},'
        ' {"quote": "z", "message": "fine", "line": 3}]}\n```\nHope this helps.'
    )
    assert parse_review_json(text) == [
        ReviewIssue(quote="x", message="bad", severity="error"),
        ReviewIssue(quote="z", message="fine"),
    ]


def test_review_json_accepts_a_bare_array_and_an_empty_list() -> None:
    assert parse_review_json('[{"quote": "a", "message": "m"}]') == [
        ReviewIssue(quote="a", message="m")
    ]
    assert parse_review_json('{"issues": []}') == []


def test_review_without_json_is_bad_output() -> None:
    with pytest.raises(BadOutputError):
        parse_review_json("The code looks fine to me.")


def test_prompts_clip_context_to_the_input_budget() -> None:
    request = ExplainInput(code="x = 1\n", context="y = 2\n" * 10_000)
    messages = build_messages(request, 1_000)
    assert len(messages[-1]["content"]) < 1_500
    assert "x = 1" in messages[-1]["content"]
    assert PROMPT_VERSION
