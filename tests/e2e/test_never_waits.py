"""The editor never waits: a command is answered at once and its work follows in the
background; closed documents' reviews make way for a hover."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tests.e2e.conftest import MODEL_TIMEOUT
from tests.e2e.raw_lsp import RawClient, open_text, raw_session
from tests.fakes.model_server import FakeModelServer, Reply, message_text

SAMPLE = "def add(a, b):\n    return a + b\n"
DOCSTRING = "Add two numbers.\n\nArgs:\n    a: The first.\n    b: The second.\n"
CAPABILITIES = {
    "workspace": {"applyEdit": True},
    "textDocument": {
        "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": []}}}
    },
}


def is_review(body: dict[str, Any]) -> bool:
    return any("You review code" in message_text(m) for m in body.get("messages", []))


async def menu(client: RawClient, uri: str, line: int, character: int) -> list[dict[str, Any]]:
    at = {"line": line, "character": character}
    answer = await client.call(
        "textDocument/codeAction",
        {
            "textDocument": {"uri": uri},
            "range": {"start": at, "end": at},
            "context": {"diagnostics": []},
        },
    )
    return list(answer["result"])


async def test_a_command_is_answered_before_the_model_and_its_edit_follows(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    release = threading.Event()

    def answer(body: dict[str, Any]) -> str:
        release.wait(MODEL_TIMEOUT)  # hang guard; the test releases it
        return DOCSTRING

    model_server.responder = answer
    options = {"diagnostics": {"enabled": False}}
    async with raw_session(
        model_env, workspace, capabilities=CAPABILITIES, init_options=options
    ) as client:
        client.answer = lambda request: (
            {"applied": True} if request["method"] == "workspace/applyEdit" else None
        )
        uri = (workspace / "a.py").as_uri()
        open_text(client, uri, SAMPLE)
        action = next(a for a in await menu(client, uri, 1, 11) if a["title"] == "Document add")
        ran = await client.call("workspace/executeCommand", action["command"])
        assert "result" in ran, ran
        assert await model_server.await_requests(1, timeout=MODEL_TIMEOUT)
        assert client.sent("workspace/applyEdit") == []  # the model has not answered yet
        release.set()
        edits = await client.wait_for(
            lambda: client.sent("workspace/applyEdit"),
            f"applyEdit (messages: {client.sent('window/showMessage')})",
        )
        assert "Add two numbers." in str(edits[0]["params"])
        assert await client.exit() == 0


async def test_closed_documents_reviews_make_way_for_a_hover(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: (
        Reply(stall=True) if is_review(body) else "`add` adds two numbers."
    )
    options = {"hover": {"timeoutMs": 60_000}, "diagnostics": {"idleMs": 0}}
    async with raw_session(model_env, workspace, init_options=options) as client:
        for i in range(100):
            uri = (workspace / f"churn{i}.py").as_uri()
            open_text(client, uri, f"def f{i}(x):\n    return x + {i}\n")
            client.notify(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": uri, "version": 2},
                    "contentChanges": [{"text": f"def f{i}(x):\n    return x - {i}\n"}],
                },
            )
            client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        uri = (workspace / "a.py").as_uri()
        open_text(client, uri, SAMPLE)
        shown = await client.call(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 5}},
        )
        assert "adds two numbers" in str(shown.get("result")), shown
        assert await client.exit() == 0
