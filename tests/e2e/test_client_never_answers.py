"""A client that never answers what the server asks (applyEdit, showDocument, configuration,
window/workDoneProgress/create, registerCapability) costs the user nothing but that answer:
each request has a time limit (shortened here through ``LSPILOT_CLIENT_REPLY_TIMEOUT_MS``) and
a sensible outcome after it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.e2e.raw_lsp import RawClient, open_text, raw_session
from tests.e2e.test_never_waits import DOCSTRING, SAMPLE, is_review, menu
from tests.fakes.model_server import FakeModelServer

# Short so each outcome comes soon; the client never answers, so no answer can be "late".
REPLY_LIMIT_MS = "300"
CAPABILITIES: dict[str, Any] = {
    "workspace": {
        "applyEdit": True,
        "configuration": True,
        "didChangeWatchedFiles": {"dynamicRegistration": True},
    },
    "window": {"workDoneProgress": True, "showDocument": {"support": True}},
    "textDocument": {
        "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": []}}}
    },
}


#: Review diagnostics off: the only model request is the one the test makes.
QUIET = {"diagnostics": {"enabled": False}}


@contextlib.asynccontextmanager
async def silent_client(
    model_env: dict[str, str], workspace: Path, init_options: Any = QUIET, sample: bool = True
) -> AsyncIterator[tuple[RawClient, str]]:
    """A session of the client that never answers (short reply limit), and the URI of
    ``a.py`` (opened with ``SAMPLE`` unless `sample` is False)."""
    env = {**model_env, "LSPILOT_CLIENT_REPLY_TIMEOUT_MS": REPLY_LIMIT_MS}
    async with raw_session(
        env, workspace, capabilities=CAPABILITIES, init_options=init_options
    ) as client:
        uri = (workspace / "a.py").as_uri()
        if sample:
            open_text(client, uri, SAMPLE)
        yield client, uri


def messages(client: RawClient) -> list[str]:
    return [m["params"]["message"] for m in client.sent("window/showMessage")]


def statuses(client: RawClient) -> list[dict[str, Any]]:
    return [m["params"] for m in client.sent("lspilot/status")]


async def run(client: RawClient, uri: str, title: str) -> None:
    action = next(a for a in await menu(client, uri, 1, 11) if a["title"] == title)
    ran = await client.call("workspace/executeCommand", action["command"])
    assert "result" in ran, ran


async def test_an_unconfirmed_edit_warns_the_user(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.script(DOCSTRING)
    async with silent_client(model_env, workspace) as (client, uri):
        await run(client, uri, "Document add")
        await client.wait_for(lambda: client.sent("workspace/applyEdit"), "applyEdit")
        warning = await client.wait_for(
            lambda: [m for m in messages(client) if "did not confirm" in m],
            f"the warning (messages: {messages(client)})",
        )
        assert "Document add" in warning[0]
        assert await client.exit() == 0


async def test_an_explanation_not_shown_by_the_editor_comes_as_a_message(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.script("`add` **adds** two numbers.")
    async with silent_client(model_env, workspace) as (client, uri):
        await run(client, uri, "Explain add")
        await client.wait_for(lambda: client.sent("window/showDocument"), "showDocument")
        await client.wait_for(
            lambda: [m for m in messages(client) if "adds** two numbers" in m],
            f"the explanation as a message (messages: {messages(client)})",
        )
        assert await client.exit() == 0


async def test_settings_unanswered_use_the_defaults_and_requests_are_answered(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: (
        json.dumps({"issues": []}) if is_review(body) else "`add` adds two numbers."
    )
    async with silent_client(model_env, workspace, init_options=None, sample=False) as (
        client,
        uri,
    ):
        await client.wait_for(lambda: client.sent("workspace/configuration"), "configuration")
        open_text(client, uri, SAMPLE)
        shown = await client.call(
            "textDocument/hover",
            {"textDocument": {"uri": uri}, "position": {"line": 0, "character": 5}},
        )
        assert "adds two numbers" in str(shown.get("result")), shown
        # The engine was chosen from the defaults and the environment.
        await client.wait_for(
            lambda: [s for s in statuses(client) if s.get("engine") == "openai"],
            f"the openai engine in a status (statuses: {statuses(client)[-1:]})",
        )
        await client.wait_for(
            lambda: "workspace/configuration: no answer from the client" in client.log,
            "the warning in the log",
        )
        assert await client.exit() == 0


async def test_the_index_is_built_when_progress_is_never_granted(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    (workspace / "helpers.py").write_text("def helper(x):\n    return x * 2\n")
    async with silent_client(model_env, workspace, sample=False) as (client, _):
        await client.wait_for(
            lambda: client.sent("window/workDoneProgress/create"), "the progress token request"
        )
        ready = await client.wait_for(
            lambda: [s["context"] for s in statuses(client) if s.get("context", {}).get("ready")],
            f"the index ready in a status (statuses: {statuses(client)[-1:]})",
        )
        assert ready[0]["files"] >= 1
        assert client.sent("$/progress") == []  # no progress without a token
        assert await client.exit() == 0
