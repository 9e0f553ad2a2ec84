"""The language server: lifecycle handlers and the list of features. Wiring only.

The class the features share is `lspilot.session.LspilotServer`; each feature module in
``lspilot.features`` exposes ``register(ls)``.

Start-up: `initialize` is answered with only pygls, lsprotocol and the features' registration
loaded. Everything else (pydantic and the settings model, the parsers, the answers, the
review pass, the assistant) is imported after `initialized`: by the first request that needs
it, or before that by the warm-up, one module of `WARM_UP` at a time while the client is quiet.
The settings are validated before any request reads them (`LspilotServer.settings`).
"""

from __future__ import annotations

import importlib
import logging
import sys
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path

from lspilot.positions import LspWorkspace
from lspilot.session import LspilotServer

__all__ = ["FEATURES", "WARM_UP", "LspilotServer", "create_server"]

log = logging.getLogger("lspilot.server")


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
        if log.isEnabledFor(logging.DEBUG):
            _log_modules()

    @ls.feature(types.INITIALIZED)
    async def on_initialized(ls: LspilotServer, params: types.InitializedParams) -> None:
        ls.spawn(ls.warm_up(WARM_UP), name="warm-up")
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


def _log_modules() -> None:
    """What is imported when `initialize` is answered (-v: to find what slows start-up)."""
    names = list(sys.modules)
    packages = {n.partition(".")[0] for n in names} - set(sys.stdlib_module_names)
    log.debug(
        "initialize: %d modules; packages: %s; lspilot: %s; deferred among them: %s",
        len(names),
        " ".join(sorted(p for p in packages if not p.startswith("_"))),
        " ".join(sorted(n for n in names if n.startswith("lspilot."))),
        " ".join(n for n in WARM_UP if n in sys.modules) or "none",
    )


# Every feature module, registered in this order.
FEATURES = ("workspace", "hover", "status", "code_actions", "diagnostics", "loop_lag")

# What the features need and `initialize` does without, in the order the warm-up imports it:
# leaves first, so that each step is one module's own work (see `LspilotServer.warm_up`).
WARM_UP = (
    "pydantic_core",
    "pydantic",
    "pydantic._internal._generate_schema",
    "pydantic.main",
    "pydantic.types",
    "pydantic.fields",
    "importlib.metadata",
    "lspilot.redaction",
    "lspilot.model",
    "lspilot.settings.model",
    "lspilot.settings",
    "lspilot.assistant.tasks",
    "lspilot.context",
    "tenacity",
    "lspilot.assistant.gateway",
    "lspilot.answers",
    "tree_sitter",
    "lspilot.syntax",
    "lspilot.assistant.engines.offline",
    "lspilot.review.runner",
    "pathspec",
    "lspilot.privacy",
    "lspilot.syntax.python",
    "lspilot.features.code_actions.compute",
    "lspilot.features.code_actions.perform",
)
