"""`lspilot serve`: the language server over stdio (default) or TCP."""

from __future__ import annotations

import argparse


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
    """Serve until the client disconnects."""
    from lspilot.logs import configure_logging
    from lspilot.server import create_server

    level = "debug" if args.verbose else "info"
    configure_logging(level, args.log_file)
    server = create_server()
    tcp = getattr(args, "tcp", None)
    if tcp:
        host, _, port = tcp.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--tcp wants HOST:PORT, got {tcp!r}")
        server.start_tcp(host, int(port))
    else:
        server.start_io()
    return 0
