"""`lspilot trust [PATH]`: let a workspace's own files choose where code and the key go.

Without trust, the restricted settings (`lspilot.settings.trust.RESTRICTED_KEYS`: provider,
endpoints, privacy, cache folder) in ``.lspilot.toml`` or ``[tool.lspilot]`` are ignored, so a
cloned repository cannot send the user's code or API key anywhere. Trusting records a
fingerprint of the file's lspilot settings in the user's config folder; a change needs
trusting again.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from lspilot.cli.common import epilog

EPILOG = epilog(
    """
    examples:
      lspilot trust                  trust the lspilot settings of the workspace here
      lspilot trust ~/src/project    ... of another workspace (or name one file)
      lspilot trust --list           every trusted file, and whether it changed since
      lspilot trust --revoke         stop trusting the workspace here

    Trusted are .lspilot.toml and [tool.lspilot] in pyproject.toml, as they are now: after
    they change, their restricted settings are ignored again until you trust them again.
    """
)

#: Workspace files with lspilot settings, and the TOML table the settings are in.
WORKSPACE_FILES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("pyproject.toml", ("tool", "lspilot")),
    (".lspilot.toml", ()),
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `lspilot trust`."""
    parser.epilog = EPILOG
    parser.add_argument(
        "path",
        nargs="?",
        type=Path,
        default=None,
        help="workspace folder or settings file (default: the current folder)",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--list", action="store_true", help="list the trusted files")
    action.add_argument("--revoke", action="store_true", help="stop trusting PATH")


def workspace_settings(file: Path) -> Any:
    """The lspilot settings in a workspace file (None when it has none or cannot be read)."""
    table = dict(WORKSPACE_FILES).get(file.name, ())
    try:
        with file.open("rb") as fh:
            data: Any = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    for part in table:
        data = data.get(part) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else None


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return [path / name for name, _ in WORKSPACE_FILES]
    return [path]


def run(args: argparse.Namespace) -> int:
    """Trust, list or revoke."""
    from lspilot.settings import TrustStore, load_settings

    store = TrustStore()
    if args.list:
        return _list(store)
    path = Path(args.path or Path.cwd()).expanduser().resolve()
    if args.revoke:
        revoked = [f for f in _files(path) if store.revoke(f)]
        for file in revoked:
            print(f"no longer trusted: {file}")
        if not revoked:
            print(f"nothing was trusted at {path}")
        return 0
    # What is ignored now is what trusting will honour.
    root = path if path.is_dir() else path.parent
    ignored = {state.path.name: state.ignored for state in load_settings(root).trust}
    trusted = 0
    for file in _files(path):
        settings = workspace_settings(file) if file.is_file() else None
        if settings is None:
            continue
        store.trust(file, settings)
        trusted += 1
        keys = ignored.get(file.name, ())
        shown = f"now honoured: {', '.join(keys)}" if keys else "no restricted settings ignored"
        print(f"trusted: {file} ({shown})")
    if not trusted:
        print(f"no lspilot settings to trust at {path} (.lspilot.toml or [tool.lspilot])")
        return 1
    print(f"recorded in {store.path}; restart the language server (or save its settings)")
    return 0


def _list(store: Any) -> int:
    entries = store.entries()
    if not entries:
        print(f"no trusted workspace files ({store.path})")
        return 0
    for name in entries:
        file = Path(name)
        settings = workspace_settings(file) if file.is_file() else None
        if settings is None:
            state = "missing or without lspilot settings"
        elif store.state(file, settings).trusted:
            state = "trusted"
        else:
            state = "changed since trusted: run `lspilot trust` again after reviewing it"
        print(f"{file}  ({state})")
    return 0
