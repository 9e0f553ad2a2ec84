"""`lspilot demo`: start the real server, talk to it as an editor would, print what it shows.

It runs the server as a subprocess over stdio with pygls's LSP client, opens the bundled
example file and prints each feature's answer. With nothing configured it uses the offline
engine, so it needs no key and no network.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lsprotocol import types

EXAMPLE = "inventory.py"
# (symbol, the text around it that locates the occurrence to hover on)
HOVERS = [
    ("reserve", "def reserve("),
    ("load_inventory", "def load_inventory("),
    ("OutOfStockError", "raise OutOfStockError("),
    ("total_value", "item.total_value()"),
]
PENDING_MARK = "generating an explanation"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `lspilot demo`."""
    parser.epilog = (
        "examples:\n"
        "  lspilot demo                            with the engine your settings select\n"
        "  LSPILOT_PROVIDER=offline lspilot demo   no model, no network, no key\n"
        "  lspilot demo --file mymodule.py         on your own Python file\n"
        "  lspilot demo | less                     plain text when piped\n"
        "\n"
        "It starts the real server and shows, as an editor gets them: hovers, the code actions,\n"
        "the diffs of Document and Generate (Generate needs a model), the review diagnostics\n"
        "and the status.\n"
    )
    parser.add_argument("--file", type=Path, help="a Python file to use instead of the example")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for each answer"
    )


def run(args: argparse.Namespace) -> int:
    """Run the tour and print it."""
    text = args.file.read_text(encoding="utf-8") if args.file else example_text()
    out = Printer(sys.stdout)
    return asyncio.run(tour(text, out, wait_s=args.timeout, verbose=bool(args.verbose)))


def example_text() -> str:
    """The bundled example file."""
    return resources.files("lspilot.examples").joinpath(EXAMPLE).read_text(encoding="utf-8")


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
    offset = at + around.index(symbol)
    line = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    # The example is ASCII: UTF-16 columns equal string columns.
    return types.Position(line=line, character=column)


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


# Later sections (code actions, diagnostics) add themselves here: (title, coroutine function).
Section = Callable[[Any, str, str, "Printer", float], Any]
SECTIONS: list[tuple[str, Section]] = []


async def tour(text: str, out: Printer, *, wait_s: float = 60.0, verbose: bool = False) -> int:
    """Print every section of the demo; 0 on success."""
    _register_sections()
    with tempfile.TemporaryDirectory(prefix="lspilot-demo-") as tmp:
        workspace = Path(tmp)
        path = workspace / EXAMPLE
        path.write_text(text, encoding="utf-8")
        uri = path.as_uri()
        async with session(workspace, verbose) as client:
            info = await status(client)
            out.heading("Engine")
            out.line(f"engine: {info.get('engine')}  model: {info.get('model')}")
            out.line(f"why:    {info.get('engineReason') or '-'}")
            client.text_document_did_open(
                types.DidOpenTextDocumentParams(
                    text_document=types.TextDocumentItem(
                        uri=uri, language_id="python", version=1, text=text
                    )
                )
            )
            out.heading(f"Hover ({EXAMPLE})")
            for symbol, around in _hover_targets(text):
                position = locate(text, symbol, around)
                if position is None:
                    continue
                value = await hover_text(client, uri, position, wait_s)
                out.line(f"-- hover on `{symbol}` (line {position.line + 1}):")
                out.block(value)
            for title, section in SECTIONS:
                out.heading(title)
                await section(client, uri, text, out, wait_s)
            for message in getattr(client, "shown_messages", []):
                out.line(f"message from the server: {message}")
    return 0


def _register_sections() -> None:
    """Add the sections of `lspilot.demo_sections` (imported late: it imports this module)."""
    import importlib.util

    if importlib.util.find_spec("lspilot.demo_sections") is not None:
        from lspilot import demo_sections

        demo_sections.register()


def _hover_targets(text: str) -> Iterator[tuple[str, str]]:
    for symbol, around in HOVERS:
        if around in text:
            yield symbol, around
