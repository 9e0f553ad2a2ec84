"""lspilot against a real llama.cpp server (`make test-models`), driven over stdio.

The model is tiny (Gemma 3 270M) and answers whatever it answers: these tests assert on what
lspilot does with it. Every feature ends in a valid edit or a clear message, never a broken
buffer, a hang (every wait has a guard) or a paused engine.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from lsprotocol import types
from tests.e2e.conftest import LspilotClient, lsp_session

# Generous guards: a CPU model answers at a few tokens a second.
SLOW = 240.0

SOURCE = """import json


def load(path):
    with open(path) as handle:
        return json.load(handle)


def total(prices):
    result = 0
    for price in prices:
        result = result - price
    return result


def average(values):
    # return the mean of values
    pass
"""


def parses(text: str) -> bool:
    try:
        ast.parse(text)
    except SyntaxError:
        return False
    return True


def structure_actions_as_actions(client: LspilotClient) -> None:
    """lsprotocol's client hook takes any object with a "command" key for a Command; an
    Explain CodeAction carries a command object, so structure those as CodeActions."""
    converter = client.protocol._converter

    def hook(obj: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, hook)


async def actions_at(client: LspilotClient, uri: str, needle: str) -> list[types.CodeAction]:
    position = client.position(uri, client.find(uri, needle) + 1)
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=types.Range(start=position, end=position),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


async def carry_out(client: LspilotClient, uri: str, action: types.CodeAction) -> str:
    """Perform `action` as an editor would; "edit" or "message" (what the user got)."""
    before, told = client.text(uri), len(client.messages)
    edit = action.edit
    if edit is None and action.data is not None:
        with contextlib.suppress(Exception):  # an error answer must come with a message
            edit = (await client.code_action_resolve_async(action)).edit
    if edit is not None:
        client.apply_workspace_edit(edit)
    elif action.command is not None:
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command=action.command.command, arguments=action.command.arguments
            )
        )
    # The command (or resolve) returns once the model answered and the edit was applied, so
    # what the user got is known now; the wait only guards a message still in transit.
    outcome = await client.wait_for(
        lambda: (
            "edit"
            if client.text(uri) != before
            else "message"
            if len(client.messages) > told
            else None
        ),
        SLOW,
        what="an edit or a message",
    )
    if outcome == "edit":
        assert parses(client.text(uri)), client.text(uri)
        client.change_doc(uri, client.text(uri))
    else:
        assert client.text(uri) == before
        assert all(m.message.strip() for m in client.messages[told:])
    return str(outcome)


async def not_paused(client: LspilotClient) -> dict[str, Any]:
    status = await client.wait_for_status(
        lambda s: not s.get("busy") and s.get("requests", 0) > 0, SLOW
    )
    assert status["breaker"] == "closed", status
    if status["tokensIn"]:  # something was answered: its tokens were counted, somehow
        assert status["tokensCounted"] in ("reported", "tokenizer", "estimated"), status
    return status


def env_for(llama_env: dict[str, str], **more: str) -> dict[str, str]:
    return {**llama_env, **more}


async def test_hover_answers_or_says_why(llama_env: dict[str, str], workspace: Path) -> None:
    env = env_for(llama_env, LSPILOT_DIAGNOSTICS__ENABLED="false")
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "shop.py", SOURCE)
        position = client.position(uri, client.find(uri, "total") + 1)
        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=position
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "def total(prices)" in hover.contents.value
        status = await not_paused(client)
        assert status["requests"] >= 1
        # llama.cpp sends no usage: the server's own tokenizer counted the answer.
        counted = await client.wait_for_status(
            lambda s: s.get("tokensCounted") == "tokenizer", SLOW
        )
        assert "llama-cpp-python /extras/tokenize/count" in counted["tokenCounting"], counted
        assert counted["tokensIn"] > 0


async def test_document_generate_and_explain(llama_env: dict[str, str], workspace: Path) -> None:
    env = env_for(llama_env, LSPILOT_DIAGNOSTICS__ENABLED="false")
    # No window/showDocument: the explanation comes as a message.
    async with lsp_session(env=env, workspace=workspace, show_document=False) as client:
        structure_actions_as_actions(client)
        uri = client.open_doc(workspace / "shop.py", SOURCE)
        outcomes = []
        for needle, title in (
            ("with open", "Document load"),
            ("# return the mean", "Generate code from comment"),
            ("result = 0", "Explain total"),
        ):
            actions = await actions_at(client, uri, needle)
            action = next((a for a in actions if a.title == title), None)
            assert action is not None, [a.title for a in actions]
            outcomes.append(await carry_out(client, uri, action))
        assert outcomes[2] == "message"  # Explain never edits
        assert parses(client.text(uri))
        await not_paused(client)


async def test_review_on_save_reviews_and_publishes_what_it_found(
    llama_env: dict[str, str], workspace: Path
) -> None:
    env = env_for(llama_env, LSPILOT_DIAGNOSTICS__TRIGGERS='["save"]')
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "shop.py", SOURCE)
        # Reviews on save only: opening shows nothing and reviews nothing.
        opened = await client.wait_for_diagnostics(uri, timeout=SLOW)
        assert list(opened.diagnostics) == []
        ready = await client.wait_for_status(
            lambda s: s.get("engine") not in (None, "starting"), SLOW
        )
        assert ready.get("diagnostics", {}).get("passes", 0) == 0, ready
        since = len(client.notifications)
        client.save_doc(uri)
        # The save's review pass finished: it asked the model about the file's chunks.
        status = await client.wait_for_status(
            lambda s: s.get("diagnostics", {}).get("passes", 0) >= 1 and not s.get("busy"), SLOW
        )
        counters = status["diagnostics"]
        assert counters["modelCalls"] >= 1 and counters["promptTokens"] > 0, counters
        assert counters["reviewed"] + counters.get("badOutput", 0) >= 1, counters
        # Whatever it published after the save is well-formed and inside the document.
        lines = SOURCE.count("\n") + 1
        for name, params in client.notifications[since:]:
            if name == types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS and params.uri == uri:
                for diagnostic in params.diagnostics:
                    assert diagnostic.message.strip() and diagnostic.source == "lspilot"
                    assert 0 <= diagnostic.range.start.line <= diagnostic.range.end.line < lines
        await not_paused(client)


async def test_hover_with_default_settings_is_answered(
    llama_env: dict[str, str], workspace: Path
) -> None:
    """No output, retry or hover-timeout overrides: the defaults at CPU speed."""
    overrides = (
        "LSPILOT_MAX_OUTPUT_TOKENS",
        "LSPILOT_LIMITS__MAX_RETRIES",
        "LSPILOT_HOVER__TIMEOUT_MS",
    )
    env = {k: v for k, v in llama_env.items() if k not in overrides}
    env["LSPILOT_DIAGNOSTICS__ENABLED"] = "false"
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "shop.py", SOURCE)
        params = types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client.position(uri, client.find(uri, "total") + 1),
        )

        async def explained() -> str:
            hover = await asyncio.wait_for(client.text_document_hover_async(params), SLOW)
            assert hover is not None and isinstance(hover.contents, types.MarkupContent)
            value = hover.contents.value
            assert "def total(prices)" in value
            body = value.split("```", 2)[-1].strip()
            assert body, value  # an explanation, a pending or cut-short mark, or a message
            return body

        since = len(client.statuses)
        first = await explained()
        if "generating an explanation" in first:
            # Past `hover.timeoutMs` the explanation is finished in the background (up to
            # `maxOutputTokens` at CPU speed: minutes); the next hover has it or says why not.
            await client.wait_for(
                lambda: any(
                    not s.get("busy") and (s.get("tokensIn") or s.get("errors"))
                    for s in client.statuses[since:]
                ),
                SLOW * 2,
                what="the explanation finished in the background",
            )
            second = await explained()
            assert "generating an explanation" not in second, second
        await not_paused(client)


def test_check_reports_or_fails_clearly(llama_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "shop.py").write_text(SOURCE, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "lspilot", "check", "shop.py", "--format", "sarif", "--no-progress"],
        cwd=tmp_path,
        env=llama_env,
        capture_output=True,
        text=True,
        timeout=SLOW * 2,
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode in (0, 1, 2), result.stderr
    run = json.loads(result.stdout)["runs"][0]
    successful = run["invocations"][0]["executionSuccessful"]
    assert successful is (result.returncode != 2)
