"""Logging for the server: stderr or a file, never stdout (stdout is the LSP transport)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

LEVELS = {
    "error": logging.ERROR,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
}


_pinned = False


def configure_logging(
    level: str = "info", log_file: str | Path | None = None, *, pinned: bool = False
) -> None:
    """Send lspilot's log to stderr (and `log_file`); keep pygls's own logger quiet.

    `pinned` (the command line's `-v`) keeps `level` even when the settings name another.
    """
    global _pinned
    _pinned = pinned
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    root.setLevel(LEVELS.get(level, logging.INFO))
    for noisy in ("pygls", "httpx", "httpx2", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def set_level(level: str) -> None:
    """Change lspilot's log level at run time (settings reload), unless the CLI pinned it."""
    if _pinned:
        return
    logging.getLogger().setLevel(LEVELS.get(level, logging.INFO))
