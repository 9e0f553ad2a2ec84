"""Status: the `lspilot.status` command and the `lspilot/status` notification."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types
from tests.e2e.conftest import FAKE_API_KEY, LspilotClient, lsp_session
from tests.e2e.conftest import lspilot_status as status
from tests.fakes.model_server import FakeModelServer, Reply

SOURCE = "def add(a, b):\n    return a + b\n\n\ntotal = add(1, 2)\n"


@pytest.fixture
def model_env(quiet_model_env: dict[str, str]) -> dict[str, str]:
    """Review diagnostics off: the only model requests are the hovers these tests make."""
    return quiet_model_env


async def hover_add(client: LspilotClient, uri: str) -> types.Hover | None:
    offset = client.find(uri, "add(1") + 1
    return await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client.position(uri, offset),
        )
    )


async def test_status_reports_engine_counters_and_no_secret(
    client_name: str, model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    async with lsp_session(client_name, env=model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "add.py", SOURCE)
        await hover_add(client, uri)
        await hover_add(client, uri)
        info = await status(client)
        assert info["engine"] == "openai"
        assert info["model"] == "test-model"
        assert info["endpoint"] == model_server.url
        assert info["requests"] == 1
        assert info["cacheHits"] >= 1
        assert info["breaker"] == "closed"
        assert info["tokensIn"] > 0 and info["tokensOut"] > 0
        assert info["engineReason"]
        assert set(info["tasks"].values()) == {"available"}
        assert FAKE_API_KEY not in repr(info)


async def test_status_says_why_a_file_is_excluded(
    offline_env: dict[str, str], workspace: Path
) -> None:
    async with lsp_session("neovim", env=offline_env, workspace=workspace) as client:
        info = await status(client, (workspace / ".env.local").as_uri())
        assert info["engine"] == "offline"
        assert info["tasks"]["document"] == "available"
        assert info["tasks"]["generate"].startswith("not available: the offline engine")
        assert info["file"]["excluded"]
        assert ".env" in info["file"]["excluded"]
        info = await status(client, {"uri": (workspace / "app.py").as_uri()})
        assert info["file"]["excluded"] is None


GO = "package shop\n\n// Total sums — en € 🎉.\nfunc Total(a int) int {\n\treturn a\n}\n"
RUBY = "# sum — en € 🎉\ndef total(a)\n  a\nend\n"


@pytest.mark.parametrize("engine", ["openai", "offline"])
async def test_status_lists_the_features_the_engine_can_serve(
    engine: str, request: pytest.FixtureRequest, workspace: Path
) -> None:
    """A file's features are what its syntax allows, less what the engine cannot do: the
    offline engine does not generate code, in a grammar language or a text one."""
    env = request.getfixturevalue("model_env" if engine == "openai" else "offline_env")
    async with lsp_session("neovim", env=env, workspace=workspace) as client:
        go = client.open_doc(workspace / "shop.go", GO, language_id="go")
        ruby = client.open_doc(workspace / "cart.rb", RUBY, language_id="ruby")
        info = await status(client, go)
        on_ruby = await status(client, ruby)
    assert info["engine"] == engine
    generate = ["generate"] if engine == "openai" else []
    assert info["file"] == {
        "uri": go,
        "excluded": None,
        "language": "go",
        "features": ["hover", "document", *generate, "explain", "fix", "review"],
    }
    assert on_ruby["file"]["language"] == "ruby"
    assert on_ruby["file"]["features"] == [
        *generate,
        "explain selection",
        "fix",
        "review by blocks",
    ]


async def test_status_notification_shows_busy_while_the_model_works(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(content="Adds two numbers.", delay=1.0))
    async with lsp_session("visual-studio-code", env=model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "add.py", SOURCE)
        seen = len(client.statuses)
        pending = asyncio.ensure_future(hover_add(client, uri))
        busy = await client.wait_for_status(lambda s: s.get("busy") is True, since=seen)
        assert busy["engine"] == "openai"
        await pending
        await client.wait_for_status(lambda s: s.get("busy") is False and s.get("requests") == 1)


async def test_settings_are_re_read_live(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    """didChangeConfiguration: the server asks workspace/configuration again and applies it."""
    async with lsp_session(
        "visual-studio-code",
        env=model_env,
        workspace=workspace,
        configuration={"": {"lspilot": {"model": "first-model"}}},
    ) as client:
        uri = client.open_doc(workspace / "add.py", SOURCE)
        info = await status(client)
        assert info["model"] == "first-model"
        assert await hover_add(client, uri) is not None

        client.set_configuration(
            {"model": "second-model", "hover": {"enabled": False}}, section="lspilot"
        )
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        await client.wait_for_status(lambda s: s.get("model") == "second-model")
        assert await hover_add(client, uri) is None  # hover switched off, live
        assert [r.body["model"] for r in model_server.chat_requests()] == ["first-model"]
