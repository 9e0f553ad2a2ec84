"""Hover, end to end: the real server over stdio, a real LSP client, the fake model server."""

from __future__ import annotations

import asyncio
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.e2e.conftest import (
    MODEL_TIMEOUT,
    SHARED,
    LspilotClient,
    SharedSessions,
    encodings_for,
    lsp_session,
    wait_for,
)
from tests.fakes.model_server import FakeModelServer, Reply

SOURCE = '''import os


def greet(name: str, punctuation: str = "!") -> str:
    """Say hello to someone."""
    # build the greeting
    return f"Hello {name}{punctuation}"


message = greet("world")  # say it
'''

EXPLANATION = "`greet` returns a greeting for *name*."


@pytest.fixture
def model_env(model_env: dict[str, str]) -> dict[str, str]:
    """Review diagnostics off: every model request these tests count is hover's."""
    return {**model_env, "LSPILOT_DIAGNOSTICS__ENABLED": "false"}


def hover_params(client: LspilotClient, uri: str, needle: str, occurrence: int = 0, shift: int = 1):
    """Hover params with the cursor `shift` characters into the `occurrence`-th `needle`."""
    offset = client.find(uri, needle, occurrence) + shift
    return types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=uri), position=client.position(uri, offset)
    )


async def hover(client: LspilotClient, uri: str, needle: str, occurrence: int = 0) -> Any:
    return await client.text_document_hover_async(hover_params(client, uri, needle, occurrence))


def hover_text(result: types.Hover | None) -> str:
    assert result is not None
    assert isinstance(result.contents, types.MarkupContent)
    return result.contents.value


async def test_hover_explains_through_the_model_and_caches_on_disk(
    client_name: str, model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: EXPLANATION
    async with lsp_session(client_name, env=model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "greet.py", SOURCE)
        result = await hover(client, uri, 'greet("world")')  # the use in `message = ...`
        text = hover_text(result)
        assert EXPLANATION in text
        assert 'def greet(name: str, punctuation: str = "!") -> str' in text  # signature
        assert "Say hello to someone." in text  # docstring, from the syntax tree
        assert result is not None and result.range is not None
        assert client.text_in(uri, result.range) == "greet"
        requests = model_server.chat_requests()
        assert len(requests) == 1
        sent = model_server.prompt_text(requests[0])
        assert 'def greet(name: str, punctuation: str = "!") -> str:' in sent
        assert requests[0].body["model"] == "test-model"

        again = await hover(client, uri, "greet(name")  # the definition itself
        assert EXPLANATION in hover_text(again)
        assert len(model_server.chat_requests()) == 1  # served from the cache

    # A new server process, the same cache dir: the disk cache answers.
    async with lsp_session(client_name, env=model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "greet.py", SOURCE)
        assert EXPLANATION in hover_text(await hover(client, uri, 'greet("world")'))
        assert len(model_server.chat_requests()) == 1


@pytest.mark.parametrize(
    ("needle", "shift"),
    [("import", 2), ("return", 1), ('"world"', 2), ("# build", 3), ("# say it", 4), ("\n\n\n", 1)],
    ids=["keyword-import", "keyword-return", "string", "comment", "trailing-comment", "blank"],
)
@SHARED
async def test_no_model_call_on_keywords_literals_comments_whitespace(
    client_name: str,
    shared_sessions: SharedSessions,
    shared_model_server: FakeModelServer,
    needle: str,
    shift: int,
) -> None:
    # Read-only: one server per client for every case (the file is opened once).
    client = await shared_sessions.get(client_name)
    uri = client.uri_of("greet.py")
    if uri not in client.documents:
        client.open_doc(uri, SOURCE)
    asked = len(shared_model_server.chat_requests())
    offset = client.find(uri, needle) + shift
    result = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client.position(uri, offset),
        )
    )
    assert result is None
    assert len(shared_model_server.chat_requests()) == asked


async def test_rate_limit_retry_after_is_honoured(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.script(
        Reply(status=429, headers={"Retry-After": "1"}, error_message="slow down"),
        Reply(content=EXPLANATION),
    )
    # model_env's hover timeout is a hang guard: the hover waits for the retried answer
    # however long a loaded machine takes, instead of a placeholder after the 4 s default.
    assert int(model_env["LSPILOT_HOVER__TIMEOUT_MS"]) >= 60_000
    async with lsp_session("neovim", env=model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "greet.py", SOURCE)
        assert EXPLANATION in hover_text(await hover(client, uri, 'greet("world")'))
        first, second = model_server.chat_requests()
        # The retry waited for Retry-After: a lower bound (load only adds to it), with room for
        # the clocks' resolution; no upper bound.
        assert second.at - first.at >= 0.9
        assert client.messages == []  # a retried 429 is not the user's problem


async def test_server_errors_are_retried(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.script(
        Reply(status=500, error_message="boom"),
        Reply(status=500, error_message="boom"),
        Reply(content=EXPLANATION),
    )
    async with lsp_session("visual-studio-code", env=model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "greet.py", SOURCE)
        assert EXPLANATION in hover_text(await hover(client, uri, 'greet("world")'))
        assert len(model_server.chat_requests()) == 3


async def test_auth_error_is_not_retried_and_reported_once(
    client_name: str, model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: Reply(status=401, error_message="invalid api key")
    async with lsp_session(client_name, env=model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "greet.py", SOURCE)
        text = hover_text(await hover(client, uri, 'greet("world")'))
        assert "API key" in text  # the user-facing sentence, in the hover itself
        assert len(model_server.chat_requests()) == 1  # no retry on 401
        await wait_for(lambda: client.messages, client=client, what="showMessage")
        hover_text(await hover(client, uri, "os"))
        hover_text(await hover(client, uri, "greet(name"))
        errors = [m for m in client.messages if m.type == types.MessageType.Error]
        assert len(errors) == 1, client.messages
        assert "API key" in errors[0].message
        assert "test-key-not-a-secret" not in errors[0].message
        status = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command="lspilot.status")
        )
        assert "test-key-not-a-secret" not in str(status)


async def test_stalled_model_gets_a_placeholder_then_the_cached_explanation(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    release = threading.Event()

    def answer(body: dict[str, Any]) -> str:
        release.wait(MODEL_TIMEOUT)  # held until the placeholder is shown (a hang guard)
        return EXPLANATION

    model_server.responder = answer
    options = {"hover": {"timeoutMs": 200}}
    async with lsp_session(
        "neovim", env=model_env, workspace=workspace, init_options=options
    ) as client:
        uri = client.open_doc(workspace / "greet.py", SOURCE)
        try:
            text = hover_text(await hover(client, uri, 'greet("world")'))
        finally:
            release.set()
        assert "generating an explanation" in text
        assert "def greet" in text  # the signature is there at once
        # The request finishes in the background and lands in the cache: hover until it
        # shows (each try is a real hover; the deadline is a hang guard).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MODEL_TIMEOUT
        while EXPLANATION not in hover_text(await hover(client, uri, 'greet("world")')):
            assert loop.time() < deadline, "the background explanation never reached the cache"
            await asyncio.sleep(0.1)  # the answer is on its way into the cache; ask again
        assert len(model_server.chat_requests()) == 1


async def test_cancel_request_closes_the_model_connection(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(stall=True))
    options = {"hover": {"timeoutMs": 60000}}
    async with lsp_session(
        "visual-studio-code", env=model_env, workspace=workspace, init_options=options
    ) as client:
        uri = client.open_doc(workspace / "greet.py", SOURCE)
        msg_id = str(uuid.uuid4())
        future = asyncio.ensure_future(
            client.protocol.send_request_async(
                types.TEXT_DOCUMENT_HOVER,
                hover_params(client, uri, 'greet("world")'),
                msg_id=msg_id,
            )
        )
        assert await model_server.await_requests(1, timeout=MODEL_TIMEOUT)
        client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
        assert await model_server.await_disconnect(timeout=MODEL_TIMEOUT)
        with pytest.raises(Exception, match="cancel"):
            await future


@pytest.mark.parametrize(("client_name", "encoding"), encodings_for())
async def test_hover_on_a_line_with_emoji_and_cjk(
    client_name: str,
    encoding: str,
    model_env: dict[str, str],
    workspace: Path,
    model_server: FakeModelServer,
) -> None:
    model_server.responder = lambda body: EXPLANATION
    text = SOURCE + 'label = "😀 数据 é"; shout = greet(label)\n'
    async with lsp_session(
        client_name, env=model_env, workspace=workspace, encoding=[encoding]
    ) as client:
        assert client.position_encoding == encoding
        uri = client.open_doc(workspace / "greet.py", text)
        result = await hover(client, uri, "greet(label)")
        assert EXPLANATION in hover_text(result)
        assert result is not None and result.range is not None
        assert client.text_in(uri, result.range) == "greet"
        assert "def greet" in model_server.prompt_text(model_server.chat_requests()[0])


async def test_bad_setting_is_reported_once_and_defaults_are_used(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: EXPLANATION
    options = {"hover": {"timeoutMs": "soon"}}
    async with lsp_session(
        "neovim", env=model_env, workspace=workspace, init_options=options
    ) as client:
        await wait_for(lambda: client.messages, client=client, what="a settings message")
        assert len(client.messages) == 1
        assert "hover.timeoutMs" in client.messages[0].message
        uri = client.open_doc(workspace / "greet.py", SOURCE)
        assert EXPLANATION in hover_text(await hover(client, uri, 'greet("world")'))
        assert len(client.messages) == 1
