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


HOVER_AT = {"line": 0, "character": 5}
#: No review ends by a timeout in these tests: only pre-emption or a close frees its slot.
NO_TIMEOUT = {"LSPILOT_REQUEST_TIMEOUT_MS": "600000"}


async def test_closed_documents_reviews_make_way_for_a_hover(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: (
        Reply(stall=True) if is_review(body) else "`add` adds two numbers."
    )
    # Four slots, four stalled reviews holding them: a review leaked by the close would
    # hold its slot (and its connection) for the whole 600 s request timeout.
    env = {**model_env, **NO_TIMEOUT, "LSPILOT_LIMITS__MAX_CONCURRENT": "4"}
    options = {"hover": {"timeoutMs": 60_000}, "diagnostics": {"idleMs": 100}}
    async with raw_session(env, workspace, init_options=options) as client:
        uris = [(workspace / f"churn{i}.py").as_uri() for i in range(6)]
        for i, uri in enumerate(uris):
            open_text(client, uri, f"def f{i}(x):\n    return x + {i}\n")
        assert await model_server.await_requests(4, timeout=MODEL_TIMEOUT)
        for uri in uris:
            client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
        uri = (workspace / "a.py").as_uri()
        open_text(client, uri, SAMPLE)
        shown = await client.call(
            "textDocument/hover", {"textDocument": {"uri": uri}, "position": HOVER_AT}
        )
        assert "adds two numbers" in str(shown.get("result")), shown
        # Every running review of the closed documents was stopped, its connection closed.
        assert await model_server.await_disconnect(timeout=MODEL_TIMEOUT, n=4)
        assert await client.exit() == 0


async def test_a_hover_preempts_a_streaming_review_on_a_one_slot_server(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    reviews: list[str] = []

    def answer(body: dict[str, Any]) -> Reply | str:
        if not is_review(body):
            return "`add` adds two numbers."
        reviews.append(json.dumps(body))
        # The first review streams on and on; once pre-empted, it is asked again and answered.
        if len(reviews) == 1:
            return Reply(content=json.dumps({"issues": []}), stall_after=1)
        return json.dumps({"issues": []})

    model_server.responder = answer
    env = {**model_env, **NO_TIMEOUT}
    del env["LSPILOT_LIMITS__MAX_CONCURRENT"]  # the local default: one request at a time
    options = {"hover": {"timeoutMs": 60_000}, "diagnostics": {"idleMs": 100}}
    async with raw_session(env, workspace, init_options=options) as client:
        uri = (workspace / "a.py").as_uri()
        open_text(client, uri, SAMPLE)
        assert await model_server.await_requests(1, timeout=MODEL_TIMEOUT)  # the review
        shown = await client.call(
            "textDocument/hover", {"textDocument": {"uri": uri}, "position": HOVER_AT}
        )
        assert "adds two numbers" in str(shown.get("result")), shown
        assert await model_server.await_disconnect(timeout=MODEL_TIMEOUT)  # the review's
        # The pre-empted chunk is reviewed again after the hover: the same chunk re-sent.
        assert await model_server.await_requests(3, timeout=MODEL_TIMEOUT)
        sent = model_server.chat_requests()
        assert [is_review(r.body or {}) for r in sent[:3]] == [True, False, True]
        assert model_server.prompt_text(sent[2]) == model_server.prompt_text(sent[0])
        # Making way is not a failure: no message to the user.
        assert client.sent("window/showMessage") == []
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


async def test_the_http_client_is_built_off_the_event_loop(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    """Importing httpx and loading the CA certificates runs in a worker thread; the first
    model request waits for it without holding the loop. The -v log says it was built there,
    and the lag monitor names no part of it among the stalls it saw."""
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
    assert "built in a worker thread, off the event loop" in log, log
    stalls = [line for line in log.splitlines() if "event loop stalled" in line]
    assert not [s for s in stalls if "httpx" in s or "chat_client" in s], stalls
