"""What the `doctor`, `check` and `cache` commands share: settings as the server reads them,
terminal detection, and small formatting helpers.

Not a subcommand itself (`lspilot.cli` lists its subcommands by name).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lspilot.settings import LoadedSettings


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    """`--root DIR`: the workspace folder whose settings apply (default: the current one)."""
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="DIR",
        help="workspace folder whose settings apply, as an editor would open it"
        " (default: the current folder)",
    )


def workspace_root(args: argparse.Namespace) -> Path:
    """The folder the settings are read from, absolute."""
    root = getattr(args, "root", None) or Path.cwd()
    return Path(root).expanduser().resolve()


def load(root: Path) -> LoadedSettings:
    """The settings exactly as the server loads them for a workspace opened at `root`.

    An editor adds `initializationOptions` and `workspace/configuration` on top; the command
    line has neither, so what is shown is the workspace files plus the environment.
    """
    from lspilot.settings import load_settings

    return load_settings(root, environ=os.environ)


def cli_logging(command: str, verbose: int, log_file: str | None = None) -> None:
    """Library log lines on stderr: warnings as `lspilot CMD: warning: ...`, all with -v."""
    import logging

    if verbose or log_file:
        from lspilot.logs import configure_logging

        configure_logging("debug" if verbose else "info", log_file)
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(f"lspilot {command}: %(message)s"))
    handler.setLevel(logging.WARNING)
    logger = logging.getLogger("lspilot")
    logger.addHandler(handler)
    logger.propagate = False


def is_terminal(stream: IO[Any]) -> bool:
    """Whether `stream` is an interactive terminal that wants decoration (NO_COLOR honoured)."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def human_size(size: int) -> str:
    """`size` bytes as `12.3 KiB`."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def epilog(text: str) -> str:
    """An epilog block, dedented, for RawDescriptionHelpFormatter."""
    import textwrap

    return textwrap.dedent(text).strip("\n") + "\n"
