"""The one place where string offsets become LSP positions and back.

Inside the server every position is a Python string offset into the document text. At the
LSP boundary a position is a line and a column in the code units of the negotiated encoding
(utf-16 by default, utf-8 or utf-32 when the client offers them), so emoji and CJK columns are
right in every client.

Lines break exactly where LSP says: at ``\\n``, ``\\r\\n`` and ``\\r`` only (not at ``\\f``,
``\\v``, ``\\x85`` or U+2028/2029, where ``str.splitlines`` would). A column past the end of a
line means the end of that line (never the next line, never between ``\\r`` and ``\\n``); a
line past the end means the end of the text. Lone surrogates (an editor may send
``"\\ud800"``) count as one code unit in utf-16 and three bytes in utf-8, as the editor
counts them.

`LineIndex` splits a text once (a regex scan in C) and finds each offset by bisection; the
index of an open document is kept with it and, on each incremental change, updated from the
index of the text before (`LineIndex.edited`): the edited lines are scanned again and the
lines after them are shifted lazily, so a keystroke in a file of 55,000 lines costs two
list copies in C (0.3 ms), not a regex scan of the whole text (22 ms).
"""

from __future__ import annotations

import itertools
import re
import weakref
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, NamedTuple

from lsprotocol import types
from pygls.workspace import TextDocument, Workspace

LINE_BREAK = re.compile(r"\r\n|\r|\n")

UTF8: str = types.PositionEncodingKind.Utf8.value
UTF16: str = types.PositionEncodingKind.Utf16.value
UTF32: str = types.PositionEncodingKind.Utf32.value


def _units(text: str, encoding: str) -> int:
    """How many code units of `encoding` `text` takes."""
    if encoding == UTF32 or text.isascii():
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def _column(line: str, units: int, encoding: str) -> int:
    """The string column of `units` code units into `line` (clamped to the line's end).

    A position inside a character (the second half of a surrogate pair, a byte inside a
    UTF-8 sequence) means the start of that character.
    """
    if units <= 0:
        return 0
    if encoding == UTF32 or line.isascii():
        return min(units, len(line))
    count = 0
    for column, ch in enumerate(line):
        code = ord(ch)
        if encoding == UTF8:
            width = 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
        else:
            width = 2 if code > 0xFFFF else 1
        if count + width > units:
            return column
        count += width
    return len(line)


class LineIndex:
    """Line starts of one text, by LSP's line breaks; converts offsets and positions.

    The starts are kept in one list, the ones after line `_split` stored less `_delta`:
    an edit shifts every later line, and adding the shift to each of them would cost a
    pass over the whole list per keystroke. `edited` instead moves the split to the edit
    and adds to the delta; only the lines between the old split and the edit are touched.
    """

    __slots__ = ("_delta", "_split", "_starts", "text")

    def __init__(
        self, text: str, starts: list[int] | None = None, split: int = -1, delta: int = 0
    ) -> None:
        self.text = text
        if starts is None:
            starts = [0]
            starts.extend(match.end() for match in LINE_BREAK.finditer(text))
            split = len(starts) - 1
        self._starts = starts
        self._split = split  # lines after this one are stored less `_delta`
        self._delta = delta

    @property
    def line_count(self) -> int:
        """How many lines the text has (a final line break starts an empty last line)."""
        return len(self._starts)

    def _start(self, line: int) -> int:
        start = self._starts[line]
        return start + self._delta if line > self._split else start

    def line_of(self, offset: int) -> int:
        """The 0-based line holding string `offset` (a line break belongs to its line)."""
        offset = max(0, offset)
        starts, split = self._starts, self._split
        if split + 1 < len(starts) and offset >= starts[split + 1] + self._delta:
            return bisect_right(starts, offset - self._delta, split + 1) - 1
        return bisect_right(starts, offset, 0, split + 1) - 1

    def line_start(self, line: int) -> int:
        """The offset of the first character of `line`."""
        return self._start(min(max(0, line), len(self._starts) - 1))

    def line_end(self, line: int) -> int:
        """The offset where the content of `line` ends (before its line break)."""
        line = min(max(0, line), len(self._starts) - 1)
        if line == len(self._starts) - 1:
            return len(self.text)
        after = self._start(line + 1)
        # A "\r\n" is always one break (the regex takes it whole), so two characters.
        return after - 2 if self.text.startswith("\r\n", after - 2) else after - 1

    def line_text(self, line: int) -> str:
        """The content of `line`, without its line break."""
        return self.text[self.line_start(line) : self.line_end(line)]

    def offset(self, position: types.Position, encoding: str = UTF16) -> int:
        """The string offset of an LSP `position` (clamped: see the module's docstring)."""
        if position.line >= len(self._starts):
            return len(self.text)
        if position.line < 0:
            return 0
        start = self._start(position.line)
        line = self.text[start : self.line_end(position.line)]
        return start + _column(line, position.character, encoding)

    def position(self, offset: int, encoding: str = UTF16) -> types.Position:
        """The LSP position of string `offset` (inside a line break: the end of that line)."""
        offset = min(max(0, offset), len(self.text))
        line = self.line_of(offset)
        start = self._start(line)
        column = min(offset, self.line_end(line)) - start
        text = self.text[start : start + column]
        return types.Position(line=line, character=_units(text, encoding))

    def range(self, start: int, end: int, encoding: str = UTF16) -> types.Range:
        """The LSP range of the string offsets ``[start, end)``."""
        return types.Range(start=self.position(start, encoding), end=self.position(end, encoding))

    def line_column(self, offset: int) -> tuple[int, int]:
        """1-based line and column (in code points) of `offset`, as compilers report them."""
        position = self.position(offset, UTF32)
        return position.line + 1, position.character + 1

    def edited(self, start: int, end: int, new_text: str, text: str) -> LineIndex:
        """The index of `text`, which is this index's text with ``[start, end)`` replaced
        by `new_text` (this index stays valid for its own text).

        Only the lines from the one before `start` to the one holding `end` are scanned
        again: the break ending before the line before `start` and the break of the line
        holding `end` cannot change (a "\r" and a "\n" that meet across the edit are
        inside the scan), and the lines after it only move by the change in length.
        """
        old, starts, split, delta = self.text, self._starts, self._split, self._delta
        start, end = min(max(0, start), len(old)), min(max(0, end), len(old))
        first = self.line_of(start - 1)  # a "\r" just before the edit may meet a "\n"
        last = self.line_of(end)
        shift = len(new_text) - (end - start)
        scan_from = self._start(first)
        tail = last + 2  # the old lines kept after the scan (shifted by `shift`)
        scan_to = self._start(last + 1) + shift if last + 1 < len(starts) else len(text)
        head = starts[: first + 1]
        if first > split:  # these lines were stored less `delta`: no longer
            head[split + 1 :] = [s + delta for s in head[split + 1 :]]
        head.extend(match.end() for match in LINE_BREAK.finditer(text, scan_from, scan_to))
        new_split = len(head) - 1
        rest = starts[tail:]
        if tail <= split:  # kept lines stored as they are: store them less `delta` too
            exact = split + 1 - tail
            rest[:exact] = [s - delta for s in rest[:exact]]
        head.extend(rest)
        return LineIndex(text, head, new_split, delta + shift)


# The index of each open document, for the text it was built from.
_INDEXES: weakref.WeakKeyDictionary[TextDocument, LineIndex] = weakref.WeakKeyDictionary()


def index_of(doc: TextDocument) -> LineIndex:
    """The line index of `doc`'s current text (built once per version of the text)."""
    text = doc.source
    index = _INDEXES.get(doc)
    if index is None or index.text is not text:
        index = LineIndex(text)
        _INDEXES[doc] = index
    return index


def line_count(doc: TextDocument) -> int:
    """How many lines `doc` has: from its kept index, else counted (in C, building no index:
    a document just opened may never need one)."""
    text = doc.source
    index = _INDEXES.get(doc)
    if index is not None and index.text is text:
        return index.line_count
    return text.count("\n") + text.count("\r") - text.count("\r\n") + 1


def encoding_of(doc: TextDocument) -> str:
    """The position encoding negotiated with the client, as `doc` knows it."""
    encoding = doc.position_codec.encoding or UTF16
    return str(getattr(encoding, "value", encoding))


def offset_at(doc: TextDocument, position: types.Position) -> int:
    """The string offset of an LSP `position` (in the negotiated encoding) in `doc`."""
    return index_of(doc).offset(position, encoding_of(doc))


def position_at(doc: TextDocument, offset: int) -> types.Position:
    """The LSP position (in the negotiated encoding) of string `offset` in `doc`."""
    return index_of(doc).position(offset, encoding_of(doc))


def lsp_range(doc: TextDocument, start: int, end: int) -> types.Range:
    """The LSP range of the string offsets ``[start, end)`` in `doc`."""
    index = index_of(doc)
    encoding = encoding_of(doc)
    return index.range(start, end, encoding)


class ByteEdit(NamedTuple):
    """One edit as tree-sitter's `Tree.edit` takes it: UTF-8 byte offsets, (row, byte) points."""

    start_byte: int
    old_end_byte: int
    new_end_byte: int
    start_point: tuple[int, int]
    old_end_point: tuple[int, int]
    new_end_point: tuple[int, int]


def _utf8_len(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _point(text: str, offset: int) -> tuple[tuple[int, int], int]:
    """The (row, byte column) point of string `offset` in `text` (rows at ``\n``, as
    tree-sitter counts them) and its byte offset."""
    line_start = text.rfind("\n", 0, offset) + 1
    column = _utf8_len(text[line_start:offset])
    line_byte = line_start if text.isascii() else _utf8_len(text[:line_start])
    return (text.count("\n", 0, offset), column), line_byte + column


def byte_edit(text: str, start: int, end: int, new_text: str) -> ByteEdit:
    """`text[start:end]` replaced by `new_text`, in tree-sitter's terms (scans `text` up to
    `end` in C: no per-line work)."""
    start_point, start_byte = _point(text, start)
    old_end_point, old_end_byte = _point(text, end)
    breaks = new_text.count("\n")
    tail = new_text[new_text.rfind("\n") + 1 :]
    column = _utf8_len(tail) + (start_point[1] if not breaks else 0)
    return ByteEdit(
        start_byte,
        old_end_byte,
        start_byte + _utf8_len(new_text),
        start_point,
        old_end_point,
        (start_point[0] + breaks, column),
    )


#: Edits kept per document for an incremental re-parse; past this a full parse is cheaper.
MAX_EDITS = 2000


class LspTextDocument(TextDocument):
    """pygls's document with LSP's line breaks, so the server's copy never drifts.

    pygls splits lines with `str.splitlines` (which also breaks at ``\\f``, ``\\v``,
    ``\\x85``, U+2028/2029) and applies a column past the end of a line on the next one; an
    incremental change here is applied through `LineIndex`, exactly as the editor applied it.

    It also records each incremental change as a `ByteEdit` since the text last parsed, so
    that a feature asking for the new tree gets an incremental re-parse of the old one (a
    keystroke costs the parser the edited region, not the whole file).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The text the recorded `edits` start from (None: not recorded).
        self.edits_from: str | None = None
        self.edits: list[ByteEdit] = []

    @property
    def lines(self) -> Sequence[str]:
        """The lines with their line breaks, split at ``\\n``, ``\\r\\n`` and ``\\r`` only."""
        index = index_of(self)
        text = index.text
        starts = [index.line_start(i) for i in range(index.line_count)]
        lines = [text[a:b] for a, b in itertools.pairwise(starts)]
        if starts[-1] < len(text):
            lines.append(text[starts[-1] :])
        return tuple(lines)

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        index = index_of(self)
        encoding = encoding_of(self)
        start = index.offset(change.range.start, encoding)
        end = index.offset(change.range.end, encoding)
        start, end = min(start, end), max(start, end)
        old = index.text
        self._source = old[:start] + change.text + old[end:]
        _INDEXES[self] = index.edited(start, end, change.text, self._source)
        if self.edits_from is None or len(self.edits) >= MAX_EDITS:
            self.edits_from, self.edits = old, []
        self.edits.append(byte_edit(old, start, end, change.text))

    def _apply_full_change(self, change: types.TextDocumentContentChangeEvent) -> None:
        super()._apply_full_change(change)
        self.edits_from, self.edits = None, []

    def edits_since(self, text: str) -> list[ByteEdit] | None:
        """The edits that turn `text` (an earlier version) into the current one, if known."""
        # (`==` on str is an identity check first: usually that is all it takes.)
        if text == self.source:
            return []
        return list(self.edits) if text == self.edits_from else None

    def parsed(self, text: str) -> None:
        """`text` was parsed: later edits are recorded from it (when it is still current)."""
        if text == self.source:
            self.edits_from, self.edits = self.source, []


class LspWorkspace(Workspace):
    """pygls's workspace whose text documents are `LspTextDocument`s."""

    @classmethod
    def like(cls, workspace: Workspace) -> LspWorkspace:
        """A workspace set up as `workspace` (created by pygls at ``initialize``)."""
        return cls(
            workspace.root_uri,
            workspace._sync_kind,
            list(workspace.folders.values()),
            workspace.position_encoding,
        )

    def _create_text_document(
        self,
        doc_uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return LspTextDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self.position_codec,
        )
