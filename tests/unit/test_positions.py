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


# ---- the index kept across edits: `LineIndex.edited` against a full rebuild -----------------


def assert_same_index(index: LineIndex, text: str) -> None:
    """`index` is what a full scan of `text` gives, and what the reference model says."""
    full = LineIndex(text)
    assert index.text == text
    assert index.line_count == full.line_count == len(ref_lines(text))
    spans = [(index.line_start(i), index.line_end(i)) for i in range(index.line_count)]
    assert spans == [(full.line_start(i), full.line_end(i)) for i in range(full.line_count)]
    assert spans == ref_lines(text)
    for offset in range(-1, len(text) + 2):
        assert index.line_of(offset) == full.line_of(offset)
    for line in (-1, index.line_count, index.line_count + 3):  # clamped like a full index
        assert index.line_start(line) == full.line_start(line)
        assert index.line_end(line) == full.line_end(line)


# An edit: (start, end) as fractions of the text's length (any order), and the new text.
fraction = st.floats(0, 1)
edits = st.lists(st.tuples(fraction, fraction, texts), min_size=1, max_size=8)


def _offsets(text: str, a: float, b: float) -> tuple[int, int]:
    start, end = sorted((round(a * len(text)), round(b * len(text))))
    return start, end


@settings(max_examples=400)
@given(texts, edits)
def test_an_edited_index_equals_a_full_rebuild(
    text: str, steps: list[tuple[float, float, str]]
) -> None:
    """Random edits anywhere (between \\r and \\n, splitting or joining line breaks, with
    emoji, CJK and lone surrogates), one after another, forwards and backwards."""
    index = LineIndex(text)
    for a, b, new in steps:
        start, end = _offsets(text, a, b)
        before = text
        text = text[:start] + new + text[end:]
        edited = index.edited(start, end, new, text)
        assert_same_index(edited, text)
        assert_same_index(index, before)  # the old index still serves the old text
        index = edited


@settings(max_examples=200)
@given(st.lists(st.sampled_from(["x", "\n", "\r", "\r\n"]), min_size=1, max_size=30))
def test_typing_at_the_end_of_a_line_break_joins_or_splits_it(keys: list[str]) -> None:
    """A "\\r" typed before a "\\n", a "\\n" typed after a "\\r": the breaks meet."""
    text = "a\rb\nc\r\nd"
    index = LineIndex(text)
    for i, key in enumerate(keys):
        at = (i * 7) % (len(text) + 1)
        text = text[:at] + key + text[at:]
        index = index.edited(at, at, key, text)
        assert_same_index(index, text)


@settings(max_examples=200)
@given(
    texts,
    st.lists(
        st.tuples(
            st.integers(0, 10), st.integers(0, 60), st.integers(0, 10), st.integers(0, 60), texts
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from(ENCODINGS),
)
def test_a_document_keeps_its_index_across_changes(
    text: str, changes: list[tuple[int, int, int, int, str]], encoding: str
) -> None:
    """Each incremental change leaves the document with its new text's index already built
    (no rebuild at the next conversion), equal to a full rebuild."""
    from lspilot import positions

    doc = document(text, encoding)
    positions.index_of(doc)
    for l1, c1, l2, c2, new in changes:
        start, end = sorted(
            [types.Position(l1, c1), types.Position(l2, c2)], key=lambda p: (p.line, p.character)
        )
        a, b = ref_offset(doc.source, start, encoding), ref_offset(doc.source, end, encoding)
        expected = doc.source[:a] + new + doc.source[b:]
        doc.apply_change(
            types.TextDocumentContentChangePartial(range=types.Range(start, end), text=new)
        )
        assert doc.source == expected
        kept = positions._INDEXES[doc]
        assert kept.text is doc.source  # index_of will not scan the text again
        assert_same_index(kept, doc.source)
        for offset in range(len(doc.source) + 1):
            assert positions.position_at(doc, offset) == ref_position(doc.source, offset, encoding)


@given(texts)
def test_a_documents_line_count_is_its_indexs_with_or_without_one(text: str) -> None:
    from lspilot import positions

    doc = document(text, "utf-16")
    counted = positions.line_count(doc)  # no index kept yet: counted
    assert counted == LineIndex(text).line_count == len(ref_lines(text))
    positions.index_of(doc)
    assert positions.line_count(doc) == counted  # from the kept index
