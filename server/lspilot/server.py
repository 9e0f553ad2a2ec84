"""The language server: lifecycle handlers and the list of features. Wiring only.

The class the features share is `lspilot.session.LspilotServer`; each feature module in
``lspilot.features`` exposes ``register(ls)``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from lspilot.positions import LspWorkspace
from lspilot.session import LspilotServer

__all__ = ["FEATURES", "LspilotServer", "create_server"]


def create_server() -> LspilotServer:
    """Build the server and register every feature."""
    ls = LspilotServer()

    @ls.feature(types.INITIALIZE)
    def on_initialize(ls: LspilotServer, params: types.InitializeParams) -> None:
        # Documents keep LSP's line breaks (pygls would use str.splitlines): see positions.
        ls.protocol._workspace = LspWorkspace.like(ls.workspace)
        if params.workspace_folders:
            ls.root = Path(to_fs_path(params.workspace_folders[0].uri) or ".")
        elif params.root_uri:
            ls.root = Path(to_fs_path(params.root_uri) or ".")
        elif params.root_path:
            ls.root = Path(params.root_path)
        options = params.initialization_options
        ls.init_options = options if isinstance(options, dict) else None

    @ls.feature(types.INITIALIZED)
    async def on_initialized(ls: LspilotServer, params: types.InitializedParams) -> None:
        await ls.reload_settings()
        await ls.start_assistant()

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def on_configuration(
        ls: LspilotServer, params: types.DidChangeConfigurationParams
    ) -> None:
        # Some clients push the settings in the notification, others want us to ask.
        if isinstance(params.settings, dict) and params.settings:
            ls.pushed_config = params.settings
        await ls.reload_settings()

    @ls.feature(types.SHUTDOWN)
    async def on_shutdown(ls: LspilotServer, params: None) -> None:
        await ls.aclose()

    for name in FEATURES:
        importlib.import_module(f"lspilot.features.{name}").register(ls)
    return ls


# Every feature module, registered in this order.
FEATURES = ("workspace", "hover", "status", "code_actions", "diagnostics", "loop_lag")
