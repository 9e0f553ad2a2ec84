"""Bad input from the client: the server keeps running, answers every request, and pops up
nothing per bad message (a log line, and for requests the JSON-RPC error)."""

from __future__ import annotations

import json
from pathlib import Path

from lsprotocol import types
from tests.e2e.conftest import LspilotClient, lsp_session
from tests.e2e.raw_lsp import RawClient, open_text, raw_session

INVALID_PARAMS = types.ErrorCodes.InvalidParams
INVALID_REQUEST = types.ErrorCodes.InvalidRequest
METHOD_NOT_FOUND = types.ErrorCodes.MethodNotFound

SAMPLE = "def add(a, b):\n    return a + b\n"


async def still_serving(client: RawClient, uri: str) -> None:
    """A well-formed hover after the bad input is answered with a result."""
    answer = await client.call(
        "textDocument/hover",
        {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 5}},
    )
    assert "result" in answer, answer


def popups(client: RawClient) -> list[str]:
    return [m["params"]["message"] for m in client.sent("window/showMessage")]


async def test_malformed_messages_get_a_log_line_and_errors_for_requests(
    offline_env: dict[str, str], workspace: Path
) -> None:
    async with raw_session(offline_env, workspace) as client:
        uri = (workspace / "a.py").as_uri()
        open_text(client, uri, SAMPLE)
        client.send(b'{"jsonrpc": "2.0", "id": 99, "method": "textDocument/hover", ')  # cut off
        client.send(b"[1, 2, 3]")
        batch = [{"jsonrpc": "2.0", "id": "in-a-batch", "method": "shutdown"}]
        client.send(json.dumps(batch).encode())
        numeric = client.request("", raw={"jsonrpc": "2.0", "method": 42, "params": {}})
        no_version = client.request("", raw={"method": "textDocument/hover", "params": {}})
        client.send({"jsonrpc": "2.0", "method": 42})  # a notification: nothing to answer
        no_params = client.request("", raw={"jsonrpc": "2.0", "method": 42})
        await still_serving(client, uri)

        for msg_id, code in (
            (numeric, INVALID_REQUEST),
            (no_version, INVALID_REQUEST),
            (no_params, INVALID_REQUEST),
        ):
            answer = await client.reply(msg_id)
            assert answer["error"]["code"] == code, answer
        in_batch = await client.reply("in-a-batch")  # type: ignore[arg-type]
        assert in_batch["error"]["code"] == INVALID_REQUEST
        assert popups(client) == []
        assert "Unable to handle message" in client.log  # the invalid JSON: a log line
        assert "ignored a JSON-RPC batch" in client.log
        assert await client.exit() == 0
    assert popups(client) == []


INVALID = {
    "no position": {"textDocument": {"uri": "URI"}},
    "a string": "a string",
    "line -1": {"textDocument": {"uri": "URI"}, "position": {"line": -1, "character": 0}},
    "character -5": {"textDocument": {"uri": "URI"}, "position": {"line": 0, "character": -5}},
}


async def test_invalid_params_get_invalid_params(
    offline_env: dict[str, str], workspace: Path
) -> None:
    # Every case against one server: each is answered, and the server still serves after all.
    async with raw_session(offline_env, workspace) as client:
        uri = (workspace / "a.py").as_uri()
        open_text(client, uri, SAMPLE)
        for method in ("textDocument/hover", "textDocument/codeAction"):
            for case, params in INVALID.items():
                if isinstance(params, dict):
                    params = {**params, "textDocument": {"uri": uri}}
                answer = await client.reply(client.request(method, params))
                assert answer["error"]["code"] == INVALID_PARAMS, (method, case, answer)
                assert method in answer["error"]["message"], (method, case, answer)
                await still_serving(client, uri)
        assert popups(client) == []
        assert await client.exit() == 0


NEVER_OPENED = {
    "missing file in workspace": "MISSING",
    "untitled": "untitled:Untitled-1",
    "missing directory": "file:///nowhere/at/all.py",
}


async def test_never_opened_documents_get_empty_answers(
    offline_env: dict[str, str], workspace: Path
) -> None:
    async with lsp_session("visual-studio-code", env=offline_env, workspace=workspace) as client:
        assert isinstance(client, LspilotClient)
        for case, uri in NEVER_OPENED.items():
            if uri == "MISSING":
                uri = (workspace / "not_there.py").as_uri()
            document = types.TextDocumentIdentifier(uri=uri)
            start = types.Position(line=0, character=0)
            hover = await client.text_document_hover_async(
                types.HoverParams(text_document=document, position=start)
            )
            assert hover is None, case
            actions = await client.text_document_code_action_async(
                types.CodeActionParams(
                    text_document=document,
                    range=types.Range(start=start, end=start),
                    context=types.CodeActionContext(diagnostics=[]),
                )
            )
            assert not actions, case
        assert client.messages == []
