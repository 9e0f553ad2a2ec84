"""A bare pygls server: the baseline lspilot is measured against (start-up, latency, memory).

It keeps documents as pygls does (open, change, close), answers every hover with a fixed text
and every code action listing with nothing: the floor of what a pygls server can do.
"""

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "1")


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover | None:
    """Answer every hover with a fixed text."""
    return types.Hover(contents="bare")


@server.feature(types.TEXT_DOCUMENT_CODE_ACTION)
def code_action(ls: LanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Offer nothing (a round trip through pygls and nothing else)."""
    return []


if __name__ == "__main__":
    server.start_io()
