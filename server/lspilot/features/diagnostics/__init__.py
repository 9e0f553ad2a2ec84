"""Review diagnostics while editing: the feature (`feature`) and LSP conversion (`report`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from lspilot.features.diagnostics.feature import ReviewDiagnostics

if TYPE_CHECKING:
    from lspilot.session import LspilotServer

__all__ = ["ReviewDiagnostics", "register"]


def register(ls: LspilotServer) -> None:
    """Wire review diagnostics into the server."""
    feature = ReviewDiagnostics(ls)
    ls.status_sections["diagnostics"] = lambda: dict(feature.counters)
    feature.contexts.watch(feature.opened)  # what a chunk calls changed: as if reopened
    ls.on_settings_changed.append(feature.settings_changed)
    ls.on_close.append(feature.close)

    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: LspilotServer, params: types.DidOpenTextDocumentParams) -> None:
        feature.opened(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: LspilotServer, params: types.DidChangeTextDocumentParams) -> None:
        feature.changed(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_SAVE)
    async def did_save(ls: LspilotServer, params: types.DidSaveTextDocumentParams) -> None:
        feature.saved(params.text_document.uri)

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: LspilotServer, params: types.DidCloseTextDocumentParams) -> None:
        feature.closed(params.text_document.uri)
        for listener in ls.on_document_closed:  # one didClose handler per server: shared
            listener(params.text_document.uri)

    @ls.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="lspilot", inter_file_dependencies=False, workspace_diagnostics=False
        ),
    )
    async def diagnostic(
        ls: LspilotServer, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        return await feature.diagnostic(params)
