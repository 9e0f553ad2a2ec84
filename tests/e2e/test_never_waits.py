"""The editor never waits: a command is answered at once and its work follows in the
background; closed documents' reviews make way for a hover; a file over `maxFileLines` costs
no review and no chunking while the documents next to it are answered."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from lsprotocol import types
from tests.e2e.conftest import MODEL_TIMEOUT, SERVER_CMD, lsp_session
from tests.e2e.raw_lsp import RawClient, open_text, raw_session
from tests.e2e.test_big_files import BIG_GUARD_S, big_source, code_actions, hover
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


# ---- a big file next to small ones (no timing assertions: bench/latency.py measures)

SMALL = "def greet(name):\n    return 'hi ' + nam\n"


def _reviews(body: dict[str, Any]) -> str:
    return json.dumps({"issues": []})


async def test_a_big_file_is_not_chunked_until_reviewed_and_the_rest_is_answered(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = _reviews
    options = {"hover": {"timeoutMs": 60_000}}
    async with lsp_session(
        "visual-studio-code", env=model_env, workspace=workspace, init_options=options
    ) as client:
        big = client.open_doc("big.py", big_source(2_000_000))
        small = client.open_doc("small.py", SMALL)
        # The small file is reviewed; the big one (over maxFileLines) is not.
        await model_server.await_requests(1, timeout=BIG_GUARD_S)
        # Typing in the big file publishes its (empty) diagnostics for each version without
        # a review or a re-chunking of megabytes.
        for i in range(5):
            version = client.edit_doc(big, 0, 0, f"# {i}\n")
        published = await client.wait_for_diagnostics(
            big, lambda p: p.version == version, timeout=BIG_GUARD_S
        )
        assert list(published.diagnostics) == []
        # Still answered: the small document, then the big one itself.
        actions = await asyncio.wait_for(code_actions(client, small, "return"), BIG_GUARD_S)
        assert actions, "the small file's menu"
        shown = await asyncio.wait_for(hover(client, big, "f700("), BIG_GUARD_S)
        assert isinstance(shown, types.Hover)
        assert "def f700(a, b)" in shown.contents.value  # type: ignore[union-attr]
        prompts = "".join(model_server.prompt_text(r) for r in model_server.chat_requests())
        assert "f1999" not in prompts, "no chunk of the big file was reviewed"
        assert "greet" in prompts


async def test_the_openai_sdk_is_imported_off_the_event_loop(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    """`import openai` (a second of CPU) runs in a worker thread; the first model request
    waits for it without holding the loop. The -v log says which thread imported it, and the
    lag monitor names no import of it among the stalls it saw."""
    model_server.responder = lambda body: "It adds two numbers."
    log_file = workspace.parent / "server.log"
    env = {**model_env, "LSPILOT_DIAGNOSTICS__ENABLED": "false"}
    cmd = [*SERVER_CMD, "-v", "--log-file", str(log_file)]
    async with lsp_session(env=env, workspace=workspace, cmd=cmd) as client:
        uri = client.open_doc(workspace / "a.py", SAMPLE)
        result = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=5),
            )
        )
        assert result is not None and "It adds two numbers." in str(result.contents)
    log = log_file.read_text(encoding="utf-8")
    assert "openai imported in a worker thread, off the event loop" in log, log
    assert "openai was imported already" not in log, log
    stalls = [line for line in log.splitlines() if "event loop stalled" in line]
    assert not [s for s in stalls if "openai" in s or "sdk.py" in s], stalls
