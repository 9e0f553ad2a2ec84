"""The result cache knows its endpoint: switching `baseUrl` live asks the new server instead
of serving the old one's answers (docs/team-cache.md, "One model through different URLs")."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types
from tests.e2e.conftest import LspilotClient, lsp_session
from tests.fakes.model_server import FakeModelServer

SOURCE = "def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n"


@pytest.fixture
def second_server() -> Iterator[FakeModelServer]:
    server = FakeModelServer().start()
    try:
        yield server
    finally:
        server.stop()


async def hover_add(client: LspilotClient, uri: str) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client.position(uri, client.find(uri, "add(1") + 1),
        )
    )
    assert result is not None and isinstance(result.contents, types.MarkupContent)
    return result.contents.value


async def test_switching_base_url_gets_the_second_servers_answer(
    model_env: dict[str, str],
    workspace: Path,
    model_server: FakeModelServer,
    second_server: FakeModelServer,
) -> None:
    model_server.responder = lambda body: "First server: adds a and b."
    second_server.responder = lambda body: "Second server: returns the sum."
    env = {**model_env, "LSPILOT_DIAGNOSTICS__ENABLED": "false"}
    del env["LSPILOT_BASE_URL"]
    async with lsp_session(
        env=env, workspace=workspace, configuration={"": {"lspilot": {"baseUrl": model_server.url}}}
    ) as client:
        uri = client.open_doc(workspace / "add.py", SOURCE)
        assert "First server" in await hover_add(client, uri)
        assert "First server" in await hover_add(client, uri)  # a cache hit
        assert len(model_server.chat_requests()) == 1

        client.set_configuration({"baseUrl": second_server.url}, section="lspilot")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await client.wait_for_status(lambda s: s.get("endpoint") == second_server.url)
        assert "Second server" in await hover_add(client, uri)
        assert len(second_server.chat_requests()) == 1

        # Back to the first: its answer is still cached under its own endpoint.
        seen = len(client.statuses)
        client.set_configuration({"baseUrl": model_server.url + "/"}, section="lspilot")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await client.wait_for_status(lambda s: s.get("endpoint") == model_server.url, since=seen)
        assert "First server" in await hover_add(client, uri)
    assert len(model_server.chat_requests()) == 1
