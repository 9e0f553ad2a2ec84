"""Engine selection: explicit providers, and `auto` picking OpenAI, Ollama or offline."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr
from tests.fakes.model_server import FakeModelServer

from lspilot.assistant.engines.openai_engine import DEFAULT_BASE_URL, OpenAIEngine
from lspilot.assistant.selection import ollama_answers, select_engine
from lspilot.assistant.tasks import ExplainInput
from lspilot.settings import Settings

CLOSED = "http://127.0.0.1:9"  # the discard port on loopback: connection refused at once


class _Tags(BaseHTTPRequestHandler):
    """Just enough of Ollama for its probe: GET /api/tags."""

    def do_GET(self) -> None:
        status = 200 if self.path == "/api/tags" else 404
        body = json.dumps({"models": [{"name": "qwen2.5-coder:7b"}]}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no access log in test output."""


@pytest.fixture
def ollama() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Tags)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_auto_with_a_key_is_openai(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="lspilot.assistant.selection"):
        engine, reason = await select_engine(
            Settings(api_key=SecretStr("sk-secret-value"), ollama_url=CLOSED)
        )
    assert isinstance(engine, OpenAIEngine)
    assert engine.id == "openai"
    assert engine.base_url == DEFAULT_BASE_URL
    assert reason == "an API key is set"
    assert "an API key is set" in caplog.text
    assert "sk-secret-value" not in caplog.text


async def test_auto_with_only_a_base_url_sends_a_placeholder_key(
    model_server: FakeModelServer,
) -> None:
    engine, reason = await select_engine(Settings(base_url=model_server.url, ollama_url=CLOSED))
    assert engine.id == "openai"
    assert "baseUrl is set" in reason
    await engine.run(ExplainInput(code="x = 1"))
    assert model_server.chat_requests()[0].headers["authorization"] == "Bearer not-needed"
    await engine.aclose()


async def test_auto_finds_ollama(ollama: str) -> None:
    engine, reason = await select_engine(Settings(ollama_url=ollama))
    assert isinstance(engine, OpenAIEngine)
    assert engine.id == "ollama"
    assert engine.base_url == ollama + "/v1"
    assert engine.model_for("explain") == "qwen2.5-coder:7b"  # type: ignore[arg-type]
    assert reason == f"Ollama answered at {ollama}"


async def test_explicit_ollama_talks_openai_to_its_v1_endpoint(
    model_server: FakeModelServer,
) -> None:
    root = model_server.url.removesuffix("/v1")
    engine, reason = await select_engine(
        Settings(provider="ollama", ollama_url=root, ollama_model="llama3")
    )
    assert reason.startswith("provider is ollama")
    result = await engine.run(ExplainInput(code="x = 1"))
    assert result.meta.engine == "ollama"
    assert model_server.chat_requests()[0].model == "llama3"
    await engine.aclose()


async def test_ollama_probe_fails_fast_on_a_closed_port() -> None:
    assert not await ollama_answers(CLOSED)


async def test_ollama_probe_needs_the_tags_endpoint(model_server: FakeModelServer) -> None:
    # An OpenAI-compatible server that is not Ollama answers 404 on /api/tags.
    assert not await ollama_answers(model_server.url.removesuffix("/v1"))


async def test_explicit_openai_without_key_says_requests_will_be_refused() -> None:
    engine, reason = await select_engine(Settings(provider="openai"))
    assert engine.id == "openai"
    assert "no API key" in reason


async def test_plain_http_to_another_machine_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="lspilot.assistant.selection"):
        await select_engine(Settings(base_url="http://user:pw@10.1.2.3:8000/v1"))
    assert "plain http" in caplog.text
    assert "user:pw" not in caplog.text


async def test_auto_without_anything_is_offline() -> None:
    pytest.importorskip("lspilot.assistant.engines.offline")
    engine, reason = await select_engine(Settings(ollama_url=CLOSED))
    assert engine.id == "offline"
    assert reason.startswith("no model configured")
