"""Counting tokens with the model's tokenizer when the server sends no usage: the server's
tokenize routes (llama.cpp's, llama-cpp-python's) found once, OpenAI's encodings offline,
the stream gate, and what the assistant records; against the fake model server over HTTP."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.model_server import FakeModelServer, Reply, fake_tokens

from lspilot.assistant import create_assistant
from lspilot.assistant.engines import tokenizer
from lspilot.assistant.engines.capabilities import Capabilities, server_root
from lspilot.assistant.engines.prompts import build_messages
from lspilot.assistant.engines.tokenizer import (
    PER_MESSAGE_TOKENS,
    PROBE_TEXT,
    REPLY_TOKENS,
    StreamGate,
    TokenCounter,
    encoding_for,
    local_tokenizer_available,
)
from lspilot.assistant.tasks import ExplainInput
from lspilot.assistant.usage import read_entries, summarize
from lspilot.settings import CacheSettings, Settings

CODE = "def add(a, b):\n    return a + b\n"
KEY = "sk-test-" + "0123456789abcdef" * 2


def test_the_server_root_is_the_base_url_without_its_v1() -> None:
    assert server_root("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080"
    assert server_root("http://127.0.0.1:8080/v1/") == "http://127.0.0.1:8080"
    assert server_root("http://host/llama/v1") == "http://host/llama"
    assert server_root("http://host:8080") == "http://host:8080"
    assert server_root("http://host/api/") == "http://host/api"


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("gpt-oss-20b", "o200k_harmony"),
        ("gemma3-270m", None),
        ("llama3.1:8b", None),
    ],
)
def test_openai_models_have_their_encoding(model: str, encoding: str | None) -> None:
    assert encoding_for(model) == encoding


async def test_llama_cpp_tokenize_is_found_once_with_the_probe_text(
    model_server: FakeModelServer,
) -> None:
    model_server.tokenize = "llama.cpp"
    counter = TokenCounter(model_server.url, None)
    assert counter.source("gemma") == ""  # not looked for yet
    try:
        assert await counter.count("gemma", ["a b c", "x = 1"]) == [3, 3]
        assert await counter.count("gemma", ["one"]) == [1]
    finally:
        await counter.aclose()
    assert counter.source("gemma") == "llama.cpp /tokenize"
    sent = [(r.path, (r.body or {}).get("content")) for r in model_server.tokenize_requests()]
    # The probe tokenizes a fixed text (and an empty one: what the route adds to any text);
    # code goes only to a route that proved a tokenizer.
    assert sent == [
        ("/tokenize", PROBE_TEXT),
        ("/tokenize", ""),
        ("/tokenize", "a b c"),
        ("/tokenize", "x = 1"),
        ("/tokenize", "one"),
    ]


async def test_llama_cpp_python_count_route_is_found_after_a_404(
    model_server: FakeModelServer,
) -> None:
    model_server.tokenize = "llama-cpp-python"
    counter = TokenCounter(model_server.url, KEY)
    try:
        assert await counter.count("gemma", ["def f(): pass"]) == [
            len(fake_tokens("def f(): pass"))
        ]
    finally:
        await counter.aclose()
    assert counter.source("gemma") == "llama-cpp-python /extras/tokenize/count"
    assert counter.added == 1  # its BOS, taken off every count
    requests = model_server.tokenize_requests()
    assert [r.path for r in requests] == [
        "/tokenize",  # 404 there: not llama.cpp's own server
        "/extras/tokenize/count",
        "/extras/tokenize/count",
        "/extras/tokenize/count",
    ]
    assert requests[-1].body == {"input": "def f(): pass", "model": "gemma"}
    assert requests[-1].headers["authorization"] == f"Bearer {KEY}"  # its --api_key guards it


async def test_a_server_without_tokenizer_is_probed_once_then_estimated(
    model_server: FakeModelServer,
) -> None:
    counter = TokenCounter(model_server.url, None)
    try:
        assert await counter.count("gemma", ["secret code"]) is None
        assert await counter.count("gemma", ["more code"]) is None
    finally:
        await counter.aclose()
    assert counter.source("gemma") == "none"
    requests = model_server.tokenize_requests()
    assert len(requests) == 3  # each route once, never again
    assert all(PROBE_TEXT in json.dumps(r.body) for r in requests)


async def test_a_tokenizer_that_never_answers_falls_back_and_is_given_up(
    model_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_server.tokenize = "llama.cpp"
    model_server.tokenize_stall = True
    monkeypatch.setattr(tokenizer, "TOKENIZE_TIMEOUT_S", 0.2)
    counter = TokenCounter(model_server.url, None)
    try:
        for _ in range(tokenizer.MAX_FAILURES):
            assert await counter.count("gemma", ["x"]) is None
        assert counter.source("gemma") == "none"
        assert await counter.count("gemma", ["x"]) is None
    finally:
        await counter.aclose()
    assert len(model_server.tokenize_requests()) == tokenizer.MAX_FAILURES


@pytest.mark.skipif(not local_tokenizer_available(), reason="toktok-rs is not installed")
async def test_openai_models_are_counted_offline_without_asking_the_server(
    model_server: FakeModelServer,
) -> None:
    model_server.tokenize = "llama.cpp"
    counter = TokenCounter(model_server.url, None)
    try:
        # Counts tiktoken gives for these texts (o200k_base, cl100k_base).
        assert await counter.count("gpt-4o-mini", ["hello world", "def f(x):\n    return x"]) == [
            2,
            7,
        ]
        assert await counter.count("gpt-4", ["hello world"]) == [2]
    finally:
        await counter.aclose()
    assert counter.source("gpt-4o") == "o200k_base (toktok-rs)"
    assert model_server.tokenize_requests() == []


async def test_the_gate_keeps_a_cutting_tokenize_request_off_running_streams() -> None:
    gate = StreamGate()
    entered = asyncio.Event()

    async def tokenize() -> None:
        async with gate.exclusive(30):
            entered.set()
            await release.wait()

    release = asyncio.Event()
    async with gate.stream():
        waiting = asyncio.create_task(tokenize())
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not entered.is_set()  # a stream runs: the request waits
    await asyncio.wait_for(entered.wait(), 10)
    # While it is in flight, a new stream waits for it.
    started = asyncio.Event()

    async def stream() -> None:
        async with gate.stream():
            started.set()

    later = asyncio.create_task(stream())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not started.is_set()
    release.set()
    await asyncio.wait_for(asyncio.gather(waiting, later), 10)
    assert started.is_set()


async def test_the_gate_gives_up_when_streams_run_on() -> None:
    gate = StreamGate()
    async with gate.stream():
        with pytest.raises(TimeoutError):
            async with gate.exclusive(0.01):
                pass


def settings_for(server: FakeModelServer, tmp_path: Path, **more: Any) -> Settings:
    return Settings(
        provider="openai",
        base_url=server.url,
        model="gemma3",
        api_key=SecretStr(KEY),
        cache=CacheSettings(dir=str(tmp_path / "cache")),
        **more,
    )


async def test_the_assistant_spends_and_records_the_tokenizer_count(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    model_server.mimic_llama_cpp = True  # no usage in the stream
    model_server.tokenize = "llama.cpp"
    answer = "It adds a and b, and returns the sum."
    model_server.script(answer)
    settings = settings_for(model_server, tmp_path)
    assistant = await create_assistant(settings, tmp_path)
    request = ExplainInput(code=CODE, name="add", kind="function")
    try:
        result = await assistant.run(request)
        assert result.meta.usage.estimated  # the answer is out before any counting
        await assistant.meter.drain()
        messages = build_messages(request, settings.limits.max_input_chars)
        prompt = "\n".join(m["content"] for m in messages)
        expected_in = len(fake_tokens(prompt)) + PER_MESSAGE_TOKENS * len(messages) + REPLY_TOKENS
        expected_out = len(fake_tokens(answer))
        stats = assistant.stats()
        assert stats["tokens_counted"] == "tokenizer"
        assert (stats["tokens_in"], stats["tokens_out"]) == (expected_in, expected_out)
        assert stats["budget_used"] == expected_in + expected_out
        assert assistant.engine.describe()["token_counter"] == "llama.cpp /tokenize"
    finally:
        await assistant.aclose()
    entries = read_entries(tmp_path / "cache" / "usage")
    assert [(e.token_source, e.prompt_tokens, e.completion_tokens) for e in entries] == [
        ("tokenizer", expected_in, expected_out)
    ]
    assert summarize(entries)["tokenizer"] == 1


async def test_a_failed_count_leaves_the_estimate(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    model_server.mimic_llama_cpp = True
    assistant = await create_assistant(settings_for(model_server, tmp_path), tmp_path)
    try:
        result = await assistant.run(ExplainInput(code=CODE))
        await assistant.meter.drain()
        usage = result.meta.usage
        stats = assistant.stats()
        assert stats["tokens_counted"] == "estimated"
        assert stats["budget_used"] == usage.prompt_tokens + usage.completion_tokens > 0
        # The endpoint is known to have no tokenizer now: the next answer is not counted.
        again = await assistant.run(ExplainInput(code=CODE + "\n# more\n"))
        assert again.meta.counter is None
    finally:
        await assistant.aclose()
    entries = read_entries(tmp_path / "cache" / "usage")
    assert {e.token_source for e in entries} == {"estimated"}
    assert len(model_server.tokenize_requests()) == 3


async def test_a_llama_cpp_python_count_never_cuts_the_next_stream(
    model_server: FakeModelServer, tmp_path: Path
) -> None:
    """llama-cpp-python ends a running stream when a tokenize request arrives: the count of
    one answer waits until the next stream is done."""
    model_server.mimic_llama_cpp = True
    model_server.tokenize = "llama-cpp-python"
    model_server.script("First answer.", Reply(content="Second, slower answer.", chunk_delay=0.05))
    assistant = await create_assistant(settings_for(model_server, tmp_path), tmp_path)
    try:
        first = asyncio.create_task(assistant.run(ExplainInput(code=CODE)))
        second = asyncio.create_task(assistant.run(ExplainInput(code=CODE + "# 2\n")))
        results = await asyncio.gather(first, second)
        await assistant.meter.drain()
        assert all(r.meta.complete for r in results)
        assert assistant.stats()["tokens_counted"] == "tokenizer"
    finally:
        await assistant.aclose()
    assert not any(r.interrupted for r in model_server.chat_requests())
    assert {e.token_source for e in read_entries(tmp_path / "cache" / "usage")} == {"tokenizer"}


def test_a_capability_learns_its_ratio_from_tokenizer_counts() -> None:
    caps = Capabilities()
    before = caps.chars_per_token
    caps.calibrate(1000, 500)  # 2 characters a token
    assert caps.chars_per_token < before
