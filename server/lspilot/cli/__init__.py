"""The `lspilot` command: serve LSP (default), and the tools around it.

Each subcommand lives in its own module, imported only when used, so that `lspilot` starting
as a language server pays for nothing else.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lspilot import __version__

# subcommand -> (module, one-line help). Each module has `add_arguments(parser)` and
# `run(args) -> int`.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("lspilot.cli.serve", "serve LSP over stdio (default) or TCP"),
    "demo": ("lspilot.cli.demo", "show what an editor would get, on a bundled example"),
    "doctor": ("lspilot.cli.doctor", "check the setup and say how to fix what is wrong"),
    "check": ("lspilot.cli.check", "review files from the command line"),
    "cache": ("lspilot.cli.cache", "show, locate or clear the result cache"),
    "usage": ("lspilot.cli.usage", "model requests, tokens and cost, per task and model"),
    "trust": ("lspilot.cli.trust", "let this workspace's files choose the endpoint and privacy"),
}

EPILOG = """examples:
  lspilot                      serve LSP over stdio (what editors run)
  lspilot --tcp 127.0.0.1:2087 serve LSP over TCP
  lspilot demo                 tour the features on a bundled example (no key needed)
  lspilot doctor               what lspilot will use here, and how to fix what is wrong
  lspilot check src/ --format sarif -o lspilot.sarif
                               review files like the editor does, for CI
  lspilot cache stats          where the cache is and how big it has grown
  lspilot usage --since 7d     tokens and cost of the last week, per task and model
  lspilot trust                honour this workspace's provider/endpoint/privacy settings
"""


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser with every subcommand.

    With `argv`, only the subcommand it names gets its options (the others are listed, not
    imported), so `lspilot serve` starts without loading the tools around it.
    """
    chosen = _subcommand_in(argv) if argv is not None else None
    parser = argparse.ArgumentParser(
        prog="lspilot",
        description="A language server that brings an LLM into every LSP editor.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"lspilot {__version__}")
    _add_common(parser)
    from lspilot.cli import serve

    serve.add_arguments(parser)  # `lspilot --tcp ...` works without `serve`
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        _add_common(sub_parser)
        if argv is None or name == chosen:
            importlib.import_module(module).add_arguments(sub_parser)
    return parser


def _subcommand_in(argv: Sequence[str]) -> str | None:
    """The subcommand `argv` names (its first word that is one, not an option's value)."""
    for before, arg in zip(["", *argv], argv, strict=False):
        if arg in SUBCOMMANDS and before not in _VALUED_OPTIONS:
            return arg
    return None


# Options before the subcommand that take a value (which could be spelled like a subcommand).
_VALUED_OPTIONS = {"--log-file", "--tcp"}


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-v", "--verbose", action="count", default=argparse.SUPPRESS, help="more log output"
    )
    parser.add_argument(
        "--log-file", default=argparse.SUPPRESS, metavar="FILE", help="also log to FILE"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `lspilot` console script."""
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(words)
    args = parser.parse_args(words)
    args.verbose = getattr(args, "verbose", 0)
    args.log_file = getattr(args, "log_file", None)
    command = args.command or "serve"
    module = importlib.import_module(SUBCOMMANDS[command][0])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line; the traceback only with -v
        if args.verbose:
            raise
        sys.stderr.write(f"lspilot {command}: error: {exc}\n")
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
