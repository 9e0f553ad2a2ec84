"""Benchmarks: lspilot beside a baseline measured in the same run, printed as ratios.

    make bench            (or: .venv/bin/python bench/run.py [--rounds N])

1. import time: `import lspilot.server` + create_server() vs `import pygls.lsp.server`;
2. start-up over stdio: process start to the `initialize` answer, lspilot vs a bare pygls
   server (bench/bare_server.py);
3. hover round trip on the example (offline engine) vs the bare server's fixed hover.

This machine is shared and noisy: figures are medians of several rounds, and only the ratios
are worth comparing between runs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

logging.getLogger("pygls").setLevel(logging.ERROR)  # the bench client ignores diagnostics

HERE = Path(__file__).resolve().parent


def import_time(statement: str, rounds: int) -> float:
    """Median wall time of a fresh interpreter running `statement`, minus an empty one."""

    def once(code: str) -> float:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - start

    empty = statistics.median(once("pass") for _ in range(rounds))
    return statistics.median(once(statement) for _ in range(rounds)) - empty


async def start_and_hover(
    cmd: list[str], text: str, position: types.Position
) -> tuple[float, float]:
    """Seconds from spawn to the initialize answer, and for one hover round trip."""
    client = LanguageClient("bench", "1")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "LSPILOT_PROVIDER": "offline", "LSPILOT_CACHE__DIR": tmp}
        start = time.perf_counter()
        await client.start_io(*cmd, env=env)
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(), root_uri=Path(tmp).as_uri()
            )
        )
        started = time.perf_counter() - start
        client.initialized(types.InitializedParams())
        uri = (Path(tmp) / "example.py").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                text_document=types.TextDocumentItem(
                    uri=uri, language_id="python", version=1, text=text
                )
            )
        )
        params = types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=position
        )
        await client.text_document_hover_async(params)  # warm: parse, engine ready
        t0 = time.perf_counter()
        await client.text_document_hover_async(params)
        hovered = time.perf_counter() - t0
        await client.shutdown_async(None)
        client.exit(None)
        await client.stop()
    return started, hovered


def row(name: str, ours: float, base: float, unit: str = "ms") -> str:
    """One line: lspilot, baseline, ratio."""
    return f"{name:<34} {ours * 1000:>9.1f} {unit} {base * 1000:>9.1f} {unit} {ours / base:>7.2f}x"


def main() -> int:
    """Run every benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from lspilot.cli.demo import example_text, locate

    text = example_text()
    position = locate(text, "reserve", "def reserve(")
    assert position is not None

    ours_import = import_time("import lspilot.server as s; s.create_server()", args.rounds)
    base_import = import_time("import pygls.lsp.server", args.rounds)

    ours_cmd = [sys.executable, "-m", "lspilot", "serve"]
    base_cmd = [sys.executable, str(HERE / "bare_server.py")]
    ours, base = [], []
    for _ in range(args.rounds):  # interleaved so drift on the machine hits both alike
        ours.append(asyncio.run(start_and_hover(ours_cmd, text, position)))
        base.append(asyncio.run(start_and_hover(base_cmd, text, position)))

    title = f"benchmark (median of {args.rounds})"
    print(f"{title:<34} {'lspilot':>12} {'baseline':>12} {'ratio':>8}")
    print(row("import + create server", ours_import, base_import))
    print(
        row(
            "spawn -> initialize answered",
            statistics.median(o[0] for o in ours),
            statistics.median(b[0] for b in base),
        )
    )
    print(
        row(
            "hover round trip (offline)",
            statistics.median(o[1] for o in ours),
            statistics.median(b[1] for b in base),
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
