"""Which editor clients `lspilot doctor` can see: the command on PATH, Neovim, VS Code.

Editors start `lspilot` by name, so a missing or different `lspilot` on PATH is the most
common reason for "nothing happens". A missing plugin is only information: the user may use
another editor.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lspilot import __version__
from lspilot.cli.doctor.report import INFO, OK, WARN, Section

#: Where VS Code and its forks keep extensions, relative to the home folder.
VSCODE_EXTENSION_DIRS = (
    ".vscode/extensions",
    ".vscode-server/extensions",
    ".vscode-oss/extensions",
    ".vscode-insiders/extensions",
    ".cursor/extensions",
    ".local/share/code-server/extensions",
)


def check_clients(section: Section) -> None:
    """The `lspilot` command, the Neovim plugin and the VS Code extension."""
    check_command(section)
    check_neovim(section)
    check_vscode(section)


def check_command(section: Section) -> None:
    """`lspilot` on PATH, and whether it is this version."""
    found = shutil.which("lspilot")
    here = f"{sys.executable} -m lspilot"
    if found is None:
        section.add(
            WARN,
            "`lspilot` is not on PATH, so editors cannot start it by name",
            f"add {Path(sys.executable).parent} to PATH, or set the editor's server command"
            f" to `{here}`",
        )
        return
    try:
        answer = subprocess.run(
            [found, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
        version = answer.stdout.strip().removeprefix("lspilot ").strip()
    except (OSError, subprocess.SubprocessError) as error:
        section.add(WARN, f"`{found} --version` failed ({error})", f"reinstall, or use `{here}`")
        return
    if version and version != __version__:
        section.add(
            WARN,
            f"`lspilot` on PATH ({found}) is version {version}; this one is {__version__}",
            f"upgrade the one on PATH, or set the editor's server command to `{here}`",
        )
    else:
        section.add(OK, f"`lspilot` on PATH: {found} ({version or 'version unknown'})")


def _xdg(name: str, fallback: str) -> Path:
    return Path(os.environ.get(name) or Path.home() / fallback)


def neovim_plugin_dirs() -> list[Path]:
    """Folders on common Neovim runtimepaths that hold the lspilot plugin or config."""
    config = _xdg("XDG_CONFIG_HOME", ".config") / "nvim"
    data = _xdg("XDG_DATA_HOME", ".local/share") / "nvim"
    roots = [config, data / "site"]
    for pattern in ("site/pack/*/start/*", "site/pack/*/opt/*", "lazy/*", "plugged/*"):
        roots.extend(sorted(data.glob(pattern)))
    roots.extend(sorted(Path.home().glob(".vim/plugged/*")))
    markers = ("lua/lspilot/init.lua", "lsp/lspilot.lua")
    return [root for root in roots if any((root / m).is_file() for m in markers)]


def check_neovim(section: Section) -> None:
    """Neovim and the lspilot plugin (or an `lsp/lspilot.lua` config)."""
    nvim = shutil.which("nvim")
    plugins = neovim_plugin_dirs()
    if plugins:
        where = ", ".join(str(p) for p in plugins)
        section.add(OK, f"Neovim plugin: {where}" + ("" if nvim else " (nvim is not on PATH)"))
        return
    section.add(
        INFO,
        "no lspilot Neovim plugin in the usual runtimepaths"
        + (f" (nvim: {nvim})" if nvim else " (nvim is not on PATH)"),
        "put clients/neovim on the runtimepath, then vim.lsp.enable('lspilot')"
        " (docs/editors/neovim.md)",
    )


def vscode_extensions() -> list[Path]:
    """Installed VS Code (or fork) extension folders whose name mentions lspilot."""
    found: list[Path] = []
    for relative in VSCODE_EXTENSION_DIRS:
        folder = Path.home() / relative
        if folder.is_dir():
            found.extend(sorted(p for p in folder.iterdir() if "lspilot" in p.name.lower()))
    return found


def check_vscode(section: Section) -> None:
    """The VS Code extension, in any of the usual extension folders."""
    extensions = vscode_extensions()
    if extensions:
        section.add(OK, "VS Code extension: " + ", ".join(str(p) for p in extensions))
    else:
        section.add(
            INFO,
            "no lspilot VS Code extension installed",
            "`code --install-extension clients/vscode/out/lspilot.vsix` (built by `make vsix`)",
        )
