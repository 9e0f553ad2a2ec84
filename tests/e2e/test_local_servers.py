"""Local model servers end to end: the real server over stdio against the fake model server
behaving like llama.cpp (500 on `json_schema`, no usage, role-only first chunks, streams cut
without a `finish_reason`), and `lspilot check` when nothing could be reviewed."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from pathlib import Path
from typing import Any

from lsprotocol import types
from tests.e2e.conftest import (
    MODEL_TIMEOUT,
    action_session,
    actions_at,
    hover_text,
    lsp_session,
    perform,
    pick,
    run_lspilot,
)
from tests.fakes.model_server import FakeModelServer, Reply

SOURCE = '''def total(prices):
    """Add up the prices."""
    result = 0
    for price in prices:
        result = result - price
    return result
'''
QUOTE = "result = result - price"


def review_or_explain(body: dict[str, Any]) -> Reply | str:
    """A review flags the subtraction; anything else is explained."""
    prompt = "\n".join(str(m.get("content")) for m in body.get("messages", []))
    if prompt.startswith("You review code"):
        issue = {"quote": QUOTE, "message": "Subtracts instead of adding.", "severity": "error"}
        return json.dumps({"issues": [{**issue, "fix": "result = result + price"}]})
    return "`total` adds up the prices."


async def test_review_and_hover_work_against_a_llama_cpp_like_server(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    """json_schema refused with a 500: the review still arrives, the engine is never paused,
    and tokens are counted by estimate (the stream has no usage)."""
    model_server.mimic_llama_cpp = True
    model_server.responder = review_or_explain
    env = {**model_env, "LSPILOT_LIMITS__BREAKER_THRESHOLD": "1"}
    del env["LSPILOT_LIMITS__MAX_CONCURRENT"]  # the local default: one at a time
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "prices.py", SOURCE)
        published = await client.wait_for_diagnostics(uri, lambda p: bool(p.diagnostics))
        assert [d.message for d in published.diagnostics] == ["Subtracts instead of adding."]
        assert "adds up the prices" in await hover_text(client, uri, "total")
        status = await client.wait_for_status(
            lambda s: s.get("tokensCounted") == "estimated" and not s.get("busy")
        )
        assert status["breaker"] == "closed" and status["errors"] == 0
        assert status["tokensIn"] > 0 and status["concurrency"] == 1
    kinds = [
        ((r.body or {}).get("response_format") or {}).get("type")
        for r in model_server.chat_requests()
        if "response_format" in (r.body or {})
    ]
    assert kinds == ["json_schema", "json_object"]  # refused once, then JSON mode + schema


async def test_a_hover_cut_short_is_marked_and_asked_again(
    quiet_model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.mimic_llama_cpp = True
    model_server.script(Reply(content="`total` adds", finish_reason=None), "`total` adds up.")
    async with lsp_session(env=quiet_model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "prices.py", SOURCE)
        first = await hover_text(client, uri, "total")
        assert "`total` adds" in first and "cut short" in first
        second = await hover_text(client, uri, "total")
        assert "`total` adds up." in second and "cut short" not in second
        assert len(model_server.chat_requests()) == 2  # the cut answer was not cached


async def test_a_hover_cut_short_after_the_placeholder_is_shown_once_then_asked_again(
    quiet_model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    """An explanation cut short that lands after the hover answered the placeholder is
    kept by that server's hover (never by the cache): the next hover shows it, once; the one
    after asks the model again."""
    release = threading.Event()
    answers = iter(
        [Reply(content="`total` adds", finish_reason="length"), Reply(content="`total` adds up.")]
    )

    def answer(body: dict[str, Any]) -> Reply:
        release.wait(MODEL_TIMEOUT)  # held until the placeholder is shown (a hang guard)
        return next(answers)

    model_server.responder = answer
    options = {"hover": {"timeoutMs": 200}}
    async with lsp_session(
        env=quiet_model_env, workspace=workspace, init_options=options
    ) as client:
        uri = client.open_doc(workspace / "prices.py", SOURCE)
        try:
            assert "generating an explanation" in await hover_text(client, uri, "total")
        finally:
            release.set()
        # Hover until the answer that came in the background shows (each try is a real
        # hover that joins the request in flight; the deadline is a hang guard).
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MODEL_TIMEOUT
        while "cut short" not in (shown := await hover_text(client, uri, "total")):
            assert "generating an explanation" in shown, shown
            assert loop.time() < deadline, "the answer cut short was never shown"
            await asyncio.sleep(0.1)  # it is on its way; ask again
        assert "`total` adds" in shown
        assert len(model_server.chat_requests()) == 1
        # Shown once: the next hover asks the model again, and its whole answer comes.
        while "`total` adds up." not in (shown := await hover_text(client, uri, "total")):
            assert "cut short" not in shown, shown
            assert loop.time() < deadline, "the model was never asked again"
            await asyncio.sleep(0.1)
        assert len(model_server.chat_requests()) == 2


def max_tokens_sent(model_server: FakeModelServer) -> list[Any]:
    return [(r.body or {}).get("max_tokens") for r in model_server.chat_requests()]


async def test_a_hover_on_a_local_endpoint_asks_for_a_short_answer(
    quiet_model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    """The fake serves on 127.0.0.1: a hover asks for 256 tokens at most (a CPU model writes
    a few a second), other tasks for `maxOutputTokens`."""
    model_server.responder = lambda body: "`total` adds up the prices."
    async with action_session(
        "visual-studio-code", quiet_model_env, workspace, resolve=True
    ) as client:
        uri = client.open_doc(workspace / "prices.py", SOURCE)
        assert "adds up the prices" in await hover_text(client, uri, "total")
        assert max_tokens_sent(model_server) == [256]
        actions = await actions_at(client, uri, client.find(uri, "result = 0"))
        await perform(client, uri, pick(actions, "Explain total"))
        assert await model_server.await_requests(2, timeout=MODEL_TIMEOUT)
        assert max_tokens_sent(model_server) == [256, 1024]


async def test_hover_max_output_tokens_is_the_hover_limit(
    quiet_model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: "`total` adds up the prices."
    options = {"hover": {"maxOutputTokens": 64}}
    async with lsp_session(env=quiet_model_env, workspace=workspace, init_options=options) as c:
        uri = c.open_doc(workspace / "prices.py", SOURCE)
        assert "adds up the prices" in await hover_text(c, uri, "total")
        assert max_tokens_sent(model_server) == [64]


async def test_a_docstring_cut_short_changes_nothing_and_says_so(
    quiet_model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: Reply(content="Add up the", finish_reason="length")
    async with lsp_session(env=quiet_model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "prices.py", SOURCE)
        before = client.text(uri)
        offset = client.find(uri, "total") + 1
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(
                    start=client.position(uri, offset), end=client.position(uri, offset)
                ),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        document = next(
            a
            for a in actions or []
            if isinstance(a, types.CodeAction) and a.title.startswith(("Document", "Update doc"))
        )
        if document.edit is None and document.data is not None:
            with contextlib.suppress(Exception):  # an error answer is fine; a message must come
                document = await client.code_action_resolve_async(document)
        if document.edit is None and document.command is not None:
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(
                    command=document.command.command, arguments=document.command.arguments
                )
            )
        assert "cut short" in (await client.wait_for_message("cut short")).message
        assert client.text(uri) == before  # never a broken buffer
        assert len(model_server.chat_requests()) == 1  # not retried


def test_check_fails_when_no_chunk_got_a_usable_answer(
    model_env: dict[str, str], tmp_path: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: "I cannot review this, sorry."
    (tmp_path / "prices.py").write_text(SOURCE, encoding="utf-8")
    result = run_lspilot(model_env, tmp_path, "check", "prices.py", "--format", "sarif")
    assert result.returncode == 2, result.stdout + result.stderr
    run = json.loads(result.stdout)["runs"][0]
    assert run["invocations"][0]["executionSuccessful"] is False
    assert "Traceback" not in result.stderr
    text = run_lspilot(model_env, tmp_path, "check", "prices.py")
    assert text.returncode == 2
    assert "got a usable answer" in text.stdout


def test_doctor_says_what_a_llama_cpp_like_server_supports(
    model_env: dict[str, str], tmp_path: Path, model_server: FakeModelServer
) -> None:
    model_server.mimic_llama_cpp = True
    result = run_lspilot(model_env, tmp_path, "doctor")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "ok    streaming: answers stream and say when they are finished" in out
    assert "warn  usage: the endpoint sends no usage; lspilot estimates tokens" in out
    assert (
        "warn  review JSON: lspilot will use JSON mode with the schema (`response_format` "
        "json_object + schema); refused: json_schema (500)"
    ) in out
    assert "Traceback" not in out + result.stderr


def test_doctor_on_a_full_featured_endpoint_warns_of_nothing(
    model_env: dict[str, str], tmp_path: Path, model_server: FakeModelServer
) -> None:
    result = run_lspilot(model_env, tmp_path, "doctor")
    assert "ok    usage: reported in the stream" in result.stdout
    assert "ok    review JSON: lspilot will use a JSON schema" in result.stdout
