"""Start-up: `initialize` is answered before the heavy imports, and nothing suffers for it.

The server answers `initialize` with only pygls, lsprotocol and the features' registration
loaded (tests/unit/test_cli_lazy_imports.py checks the modules); pydantic, the settings model
and the rest come after `initialized`. Here, over stdio: the capabilities are complete, the
settings from initializationOptions are validated (same messages) before any request is
served, even one that comes while the client's configuration is still on its way, and the
warm-up finishes while the client is quiet.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
from tests.e2e.conftest import SERVER_CMD, STARTUP_TIMEOUT, WAIT_TIMEOUT

from lspilot.settings import load_settings

SOURCE = 'def area(width, height):\n    """The area."""\n    return width * height\n'
# Hover is off and one value is bad: both must hold before the client's configuration comes.
INIT_OPTIONS = {"hover": {"enabled": False, "timeoutMs": "soon"}}


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Wait until `predicate()` holds (re-checked every 50 ms; a hang guard, not a timing)."""
    deadline = asyncio.get_running_loop().time() + WAIT_TIMEOUT
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def held_configuration_session(
    env: dict[str, str], workspace: Path, init_options: Any
) -> AsyncIterator[tuple[LanguageClient, list[Any], asyncio.Event, asyncio.Event]]:
    """A VS Code-like session whose `workspace/configuration` answer waits for an event.

    Yields (client, statuses, asked, answer): the `lspilot/status` notifications; `asked` is
    set when the server asks for its configuration; the client answers (with nothing) once
    the test sets `answer`.
    """
    asked, answer = asyncio.Event(), asyncio.Event()

    async def configuration(client: LanguageClient, params: types.ConfigurationParams) -> Any:
        asked.set()
        await answer.wait()
        return [None for _ in params.items]

    client = LanguageClient()
    register_lsp_features(
        client, {**DEFAULT_CLIENT_FEATURES, types.WORKSPACE_CONFIGURATION: configuration}
    )
    statuses: list[Any] = []
    client.feature("lspilot/status")(lambda params: statuses.append(params))
    await client.start_io(*SERVER_CMD, env=env, cwd=str(workspace))
    try:
        uri = workspace.as_uri()
        await asyncio.wait_for(
            client.initialize_session(
                types.InitializeParams(
                    capabilities=client_capabilities("visual-studio-code"),
                    root_uri=uri,
                    workspace_folders=[types.WorkspaceFolder(uri=uri, name=workspace.name)],
                    initialization_options=init_options,
                )
            ),
            STARTUP_TIMEOUT,
        )
        yield client, statuses, asked, answer
    finally:
        answer.set()
        await asyncio.wait_for(client.shutdown_session(), WAIT_TIMEOUT)
        await client.stop()


async def test_a_request_before_the_client_configuration_gets_validated_settings(
    workspace: Path, offline_env: dict[str, str]
) -> None:
    expected = [
        f"lspilot: {problem.message}"
        for problem in load_settings(
            workspace, init_options=INIT_OPTIONS, environ=offline_env
        ).problems
    ]
    assert expected and "timeoutMs" in expected[0]  # the bad value is reported
    path = workspace / "area.py"
    path.write_text(SOURCE)
    async with held_configuration_session(offline_env, workspace, INIT_OPTIONS) as session:
        client, statuses, asked, answer = session
        await asyncio.wait_for(asked.wait(), WAIT_TIMEOUT)
        # The server waits for the client's configuration; a request now gets the settings
        # validated from initializationOptions (hover off), not unvalidated defaults.
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=path.as_uri(), language_id="python", version=1, text=SOURCE
                )
            )
        )
        hover = await asyncio.wait_for(
            client.text_document_hover_async(
                types.HoverParams(
                    text_document=types.TextDocumentIdentifier(uri=path.as_uri()),
                    position=types.Position(line=0, character=5),
                )
            ),
            WAIT_TIMEOUT,
        )
        assert hover is None
        assert [m.message for m in client.messages] == expected
        answer.set()
        # The engine starts once the settings are read again, with the client's (empty)
        # configuration: the same problem, told once.
        await until(
            lambda: any(getattr(s, "engine", "starting") != "starting" for s in statuses),
            "the engine to start",
        )
        assert [m.message for m in client.messages] == expected


async def test_initialize_announces_every_feature(
    open_session: Any, offline_env: dict[str, str]
) -> None:
    async with open_session(env=offline_env, pull_diagnostics=True) as client:
        caps = client.server_capabilities
    assert caps.hover_provider
    assert isinstance(caps.code_action_provider, types.CodeActionOptions)
    assert caps.code_action_provider.resolve_provider
    assert types.CodeActionKind.QuickFix in (caps.code_action_provider.code_action_kinds or [])
    assert caps.execute_command_provider is not None
    assert {"lspilot.runAction", "lspilot.status"} <= set(caps.execute_command_provider.commands)
    assert isinstance(caps.diagnostic_provider, types.DiagnosticOptions)
    assert caps.diagnostic_provider.identifier == "lspilot"
    assert isinstance(caps.text_document_sync, types.TextDocumentSyncOptions)
    assert caps.text_document_sync.change == types.TextDocumentSyncKind.Incremental
    assert caps.text_document_sync.save
    file_operations = caps.workspace and caps.workspace.file_operations
    assert file_operations and file_operations.did_rename


async def test_the_warm_up_finishes_while_the_client_is_quiet(
    open_session: Any, offline_env: dict[str, str], tmp_path: Path
) -> None:
    log_file = tmp_path / "server.log"
    cmd = [*SERVER_CMD, "-v", "--log-file", str(log_file)]

    def log() -> str:
        return log_file.read_text() if log_file.exists() else ""

    async with open_session(env=offline_env, cmd=cmd) as client:
        done = await client.wait_for(
            lambda: next((ln for ln in log().splitlines() if "warm-up done" in ln), None),
            STARTUP_TIMEOUT,
            "the warm-up to finish",
        )
        uri = client.open_doc(client.workspace / "area.py", SOURCE)
        hover = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=types.Position(line=0, character=5),
            )
        )
    assert hover is not None and "area" in str(hover.contents)
    lines = log().splitlines()
    initialize = next(i for i, ln in enumerate(lines) if "initialize:" in ln)
    assert lines.index(done) > initialize
    assert "deferred among them: none" in lines[initialize]
    assert "not imported" not in log()  # every module of the warm-up list exists
