"""`lspilot demo`: start the real server, talk to it as an editor would, print what it shows.

It runs the server as a subprocess over stdio with pygls's LSP client, opens the bundled
example file and prints each feature's answer. With nothing configured it uses the offline
engine, so it needs no key and no network.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lsprotocol import types

from lspilot.cli.demo.sections import SECTIONS
from lspilot.cli.demo.session import (
    EXAMPLE,
    HOVERS,
    Printer,
    example_text,
    hover_text,
    locate,
    session,
    status,
)


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


async def tour(text: str, out: Printer, *, wait_s: float = 60.0, verbose: bool = False) -> int:
    """Print every section of the demo; 0 on success."""
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


def _hover_targets(text: str) -> Iterator[tuple[str, str]]:
    for symbol, around in HOVERS:
        if around in text:
            yield symbol, around
