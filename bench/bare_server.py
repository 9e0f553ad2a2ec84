"""A bare pygls server with one hover feature: the start-up baseline lspilot is measured against."""

from lsprotocol import types
from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "1")


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: LanguageServer, params: types.HoverParams) -> types.Hover | None:
    """Answer every hover with a fixed text."""
    return types.Hover(contents="bare")


if __name__ == "__main__":
    server.start_io()
