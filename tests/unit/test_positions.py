"""LSP positions against a reference model: lines break at \\n, \\r\\n and \\r only.

The reference is written here from the spec, independently of `lspilot.positions`: a text is a
list of lines (split by a regex of the three breaks), a column counts code units of the
encoding, a column past the end of a line is the end of it, and a line past the end is the end
of the text. Texts mix every line-break kind with the characters str.splitlines also breaks
at, emoji, CJK and lone surrogates.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import PositionCodec

from lspilot.positions import LineIndex, LspTextDocument, LspWorkspace

PIECES = ["a", "b", " ", "\t", "\n", "\r\n", "\r", "\f", "\v", "\x85", "\u2028", "\u2029",
          "😀", "模", "é", "\ud800", "\udfff"]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
ENCODINGS = ["utf-8", "utf-16", "utf-32"]

_BREAK = re.compile(r"\r\n|\r|\n")


def units(text: str, encoding: str) -> int:
    if encoding == "utf-32":
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def ref_lines(text: str) -> list[tuple[int, int]]:
    """(start, end-of-content) of every line."""
    spans, start = [], 0
    for match in _BREAK.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return spans


def ref_position(text: str, offset: int, encoding: str) -> types.Position:
    for line, (start, end) in enumerate(ref_lines(text)):
        # An offset inside a line break belongs to the end of its line.
        next_start = ref_lines(text)[line + 1][0] if line + 1 < len(ref_lines(text)) else None
        if start <= offset and (next_start is None or offset < next_start):
            return types.Position(line, units(text[start : min(offset, end)], encoding))
    raise AssertionError("offset outside the text")


def ref_offset(text: str, position: types.Position, encoding: str) -> int:
    lines = ref_lines(text)
    if position.line >= len(lines):
        return len(text)
    start, end = lines[position.line]
    for index in range(start, end + 1):
        if units(text[start:index], encoding) >= position.character:
            # Inside a character means its start.
            if units(text[start:index], encoding) > position.character:
                return index - 1
            return index
    return end


@given(texts, st.sampled_from(ENCODINGS))
def test_offset_position_offset_round_trips(text: str, encoding: str) -> None:
    index = LineIndex(text)
    assert index.line_count == len(ref_lines(text))
    for offset in range(len(text) + 1):
        position = index.position(offset, encoding)
        assert position == ref_position(text, offset, encoding)
        back = index.offset(position, encoding)
        in_break = text[back:offset] in ("\r", "\n", "\r\n", "")
        assert back == offset or (back < offset and in_break)


@given(texts, st.integers(0, 12), st.integers(0, 120), st.sampled_from(ENCODINGS))
def test_positions_clamp_like_the_spec(text: str, line: int, character: int, encoding: str) -> None:
    position = types.Position(line, character)
    assert LineIndex(text).offset(position, encoding) == ref_offset(text, position, encoding)


def document(text: str, encoding: str) -> LspTextDocument:
    workspace = LspWorkspace(None, position_encoding=encoding)
    workspace.put_text_document(
        types.TextDocumentItem(uri="file:///t.py", language_id="python", version=1, text=text)
    )
    doc = workspace.get_text_document("file:///t.py")
    assert isinstance(doc, LspTextDocument)
    return doc


@settings(max_examples=200)
@given(
    texts,
    st.integers(0, 10),
    st.integers(0, 100),
    st.integers(0, 10),
    st.integers(0, 100),
    texts,
    st.sampled_from(ENCODINGS),
)
def test_incremental_change_equals_the_reference(
    text: str, l1: int, c1: int, l2: int, c2: int, new: str, encoding: str
) -> None:
    start, end = types.Position(l1, c1), types.Position(l2, c2)
    a, b = ref_offset(text, start, encoding), ref_offset(text, end, encoding)
    if b < a:
        start, end, a, b = end, start, b, a
    doc = document(text, encoding)
    doc.apply_change(
        types.TextDocumentContentChangePartial(range=types.Range(start, end), text=new)
    )
    assert doc.source == text[:a] + new + text[b:]
    assert "".join(doc.lines) == doc.source


def test_pygls_would_drift_where_we_do_not() -> None:
    """The cases the issue names, against pygls's own document as a witness."""
    from pygls.workspace import TextDocument

    for text, position in [
        ("ab\ncd\n", types.Position(0, 99)),  # past the end of line 0
        ("x\fy\nz\n", types.Position(1, 0)),  # \f is no line break in LSP
        ("x\u2028y\nz", types.Position(1, 1)),
        ("ab\r\ncd", types.Position(0, 5)),  # never between \r and \n
    ]:
        change = types.TextDocumentContentChangePartial(
            range=types.Range(position, position), text="!"
        )
        ours = document(text, "utf-16")
        ours.apply_change(change)
        expected_at = ref_offset(text, position, "utf-16")
        assert ours.source == text[:expected_at] + "!" + text[expected_at:]
        if "\f" in text or "\u2028" in text:
            theirs = TextDocument("file:///t.py", text, position_codec=PositionCodec())
            theirs.apply_change(change)
            assert theirs.source != ours.source  # the drift this class exists for
