"""The one place where string offsets become LSP positions and back.

Inside the server every position is a Python string offset into the document text. pygls's
``TextDocument`` converts through the position codec of the negotiated encoding (utf-16 by
default, utf-8 or utf-32 when the client offers them), so emoji and CJK columns are right in
every client.
"""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import TextDocument


def offset_at(doc: TextDocument, position: types.Position) -> int:
    """The string offset of an LSP `position` (in the negotiated encoding) in `doc`."""
    return doc.offset_at_position(position)


def position_at(doc: TextDocument, offset: int) -> types.Position:
    """The LSP position (in the negotiated encoding) of string `offset` in `doc`."""
    return doc.client_position_at_offset(max(0, min(offset, len(doc.source))))


def lsp_range(doc: TextDocument, start: int, end: int) -> types.Range:
    """The LSP range of the string offsets ``[start, end)`` in `doc`."""
    return types.Range(start=position_at(doc, start), end=position_at(doc, end))
