"""`lspilot serve`: the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import sys
from typing import Any

TTY_HINT = """\
lspilot is a language server: it speaks LSP (JSON-RPC) on stdin/stdout, and your editor
starts it. To see what it does, try `lspilot demo`; to check your setup, `lspilot doctor`.
Waiting for an LSP client on stdin (Ctrl-C to quit).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `lspilot serve` (also accepted without the word `serve`)."""
    parser.add_argument(
        "--stdio",
        action="store_true",
        default=argparse.SUPPRESS,
        help="serve over stdio (the default; VS Code's client passes it)",
    )
    parser.add_argument(
        "--tcp", metavar="HOST:PORT", default=argparse.SUPPRESS, help="serve over TCP instead"
    )


def run(args: argparse.Namespace) -> int:
    """Serve until the client disconnects; the exit code LSP asks for."""
    import gc

    from lspilot.transport.stdio import lingering_threads, note_ctrl_c

    note_ctrl_c()
    # Start-up makes what lives as long as the process (modules, classes, the features):
    # collecting garbage meanwhile is wasted work, and a full collection falls due while the
    # features are registered. No collection until the server is built; what it is made of
    # is then frozen (never scanned again, so each later collection is that much shorter).
    gc.disable()
    try:
        server = _build_server(args)
    finally:
        gc.freeze()
        gc.enable()
    tcp = getattr(args, "tcp", None)
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--tcp wants HOST:PORT, got {tcp!r}")
        server.start_tcp(host, int(port))
        return 0
    server.start_io()
    if lingering_threads() or server.exit_code == 130:
        # Work in a worker thread (a big parse) cannot be interrupted and would keep the
        # process alive after `exit`; after Ctrl-C the stdin reader thread is still inside a
        # read of the terminal, and the interpreter's shutdown aborts on the lock that read
        # holds ("could not acquire lock for <stdin>"). Everything worth keeping is closed.
        import logging
        import os

        if server.exit_code != 130:
            logging.getLogger("lspilot.server").info("exiting without waiting for worker threads")
        logging.shutdown()
        sys.stderr.flush()
        os._exit(server.exit_code)
    return server.exit_code


def _build_server(args: argparse.Namespace) -> Any:
    """Logging configured, the server built with every feature (pygls imported here)."""
    from lspilot.logs import configure_logging
    from lspilot.server import create_server

    level = "debug" if args.verbose else "info"
    # -v wins over the `logLevel` setting the client sends later.
    configure_logging(level, args.log_file, pinned=bool(args.verbose))
    if not getattr(args, "tcp", None) and sys.stdin.isatty():
        # Started by hand in a terminal: say what this is instead of waiting silently.
        sys.stderr.write(TTY_HINT)
        sys.stderr.flush()
    return create_server()
