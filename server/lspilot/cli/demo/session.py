"""The demo's client side: a real server over stdio, spoken to with pygls's LSP client.

Also the example file, the printer and the small position helpers the sections share.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lsprotocol import types

from lspilot.positions import LineIndex

EXAMPLE = "inventory.py"
# (symbol, the text around it that locates the occurrence to hover on)
HOVERS = [
    ("reserve", "def reserve("),
    ("load_inventory", "def load_inventory("),
    ("OutOfStockError", "raise OutOfStockError("),
    ("total_value", "item.total_value()"),
]
PENDING_MARK = "generating an explanation"


def example_text() -> str:
    """The bundled example file."""
    return (
        resources.files("lspilot.cli.demo.examples").joinpath(EXAMPLE).read_text(encoding="utf-8")
    )


@dataclass
class Printer:
    """Plain, readable sections; bold headings only on a terminal."""

    stream: Any
    tty: bool = field(init=False)

    def __post_init__(self) -> None:
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def heading(self, title: str) -> None:
        line = f"== {title} =="
        self.stream.write(f"\n\033[1m{line}\033[0m\n" if self.tty else f"\n{line}\n")

    def line(self, text: str = "") -> None:
        self.stream.write(text + "\n")

    def block(self, text: str, indent: str = "    ") -> None:
        for line in text.splitlines() or [""]:
            self.stream.write(f"{indent}{line}\n")


def locate(text: str, symbol: str, around: str) -> types.Position | None:
    """The position of `symbol` inside the first occurrence of `around` in `text`."""
    at = text.find(around)
    if at < 0:
        return None
    return LineIndex(text).position(at + around.index(symbol))  # UTF-16, as the demo negotiates


@asynccontextmanager
async def session(workspace: Path, verbose: bool = False) -> AsyncIterator[Any]:
    """A started, initialized server talking to a pygls client."""
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("lspilot-demo", "1")
    messages: list[str] = []
    client.shown_messages = messages  # type: ignore[attr-defined]

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def on_message(params: types.ShowMessageParams) -> None:
        messages.append(params.message)

    @client.feature("lspilot/status")
    def on_status(params: Any) -> None:
        """The status notification (the demo asks for the status when it shows it)."""

    @client.feature(types.WINDOW_LOG_MESSAGE)
    def on_log(params: types.LogMessageParams) -> None:
        if verbose:
            sys.stderr.write(params.message + "\n")

    env = dict(os.environ)
    args = [sys.executable, "-m", "lspilot", "serve"]
    if verbose:
        args.append("-v")
    await client.start_io(*args, env=env)
    try:
        await client.initialize_async(
            types.InitializeParams(
                capabilities=demo_capabilities(),
                root_uri=workspace.as_uri(),
                workspace_folders=[types.WorkspaceFolder(uri=workspace.as_uri(), name="demo")],
            )
        )
        client.initialized(types.InitializedParams())
        yield client
        await asyncio.wait_for(client.shutdown_async(None), 10)
        client.exit(None)
    finally:
        await client.stop()


def demo_capabilities() -> types.ClientCapabilities:
    """What a modern editor declares (markdown hovers, resolve, document changes)."""
    return types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            code_action=types.CodeActionClientCapabilities(
                code_action_literal_support=types.ClientCodeActionLiteralOptions(
                    code_action_kind=types.ClientCodeActionKindOptions(
                        value_set=[k.value for k in types.CodeActionKind]
                    )
                ),
                resolve_support=types.ClientCodeActionResolveOptions(properties=["edit"]),
                data_support=True,
            ),
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True),
            # Pull without refresh support: the server answers a pull once the review pass
            # under way is done, so the demo prints the diagnostics without guessing a delay.
            diagnostic=types.DiagnosticClientCapabilities(related_document_support=False),
        ),
        workspace=types.WorkspaceClientCapabilities(
            workspace_edit=types.WorkspaceEditClientCapabilities(document_changes=True),
            apply_edit=True,
        ),
        window=types.WindowClientCapabilities(work_done_progress=False),
    )


async def status(client: Any) -> dict[str, Any]:
    """The server's `lspilot.status`."""
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="lspilot.status", arguments=[])
    )
    return dict(result or {})


async def hover_text(client: Any, uri: str, position: types.Position, wait_s: float) -> str:
    """Hover, asking again while the server says the explanation is being generated."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while True:
        result = await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri), position=position
            )
        )
        value = result.contents.value if result else "(no hover)"
        if PENDING_MARK not in value or loop.time() > deadline:
            return str(value)
        await asyncio.sleep(0.5)
