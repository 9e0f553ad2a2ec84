"""Anchoring review issues by quote inside their chunk, and re-positioning chunks' issues."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.workspace import PositionCodec, TextDocument

from lspilot.assistant.tasks import ReviewIssue
from lspilot.features.diagnostics.report import to_diagnostics
from lspilot.positions import LineIndex
from lspilot.review.anchoring import (
    AnchoredIssue,
    AnchorResult,
    anchor_issues,
    find_quote,
    select_issues,
)
from lspilot.review.layout import ChunkAt, PlacedIssue, ReviewStore, place

CHUNK = 'def total(items):\n    s = 0\n    for i in items:\n        s += i\n    return "🎉" + s\n'


def issue(quote: str, message: str = "m", severity: str = "warning", fix: str | None = None):
    return ReviewIssue(quote=quote, message=message, severity=severity, fix=fix)  # type: ignore[arg-type]


# ---- find_quote ---------------------------------------------------------------------------


def test_exact_quote_is_found_at_its_offsets() -> None:
    start, end = find_quote("s += i", CHUNK) or (0, 0)
    assert CHUNK[start:end] == "s += i"


def test_first_occurrence_wins() -> None:
    assert find_quote("s", CHUNK) == (CHUNK.index("s"), CHUNK.index("s") + 1)


def test_whitespace_insensitive_match_spans_the_real_text() -> None:
    # The model re-wrapped and re-indented a two-line quote.
    span = find_quote("for i in items:  s += i", CHUNK)
    assert span is not None
    assert CHUNK[span[0] : span[1]] == "for i in items:\n        s += i"


def test_whitespace_insensitive_match_ignores_missing_spaces() -> None:
    span = find_quote("s+=i", CHUNK)
    assert span is not None and CHUNK[span[0] : span[1]] == "s += i"


def test_quote_with_surrounding_whitespace_is_trimmed_to_the_code() -> None:
    span = find_quote("\n   return  ", CHUNK)
    assert span is not None and CHUNK[span[0] : span[1]] == "return"


def test_non_ascii_quote_is_found_by_string_offsets() -> None:
    span = find_quote('"🎉" + s', CHUNK)
    assert span is not None and CHUNK[span[0] : span[1]] == '"🎉" + s'


def test_missing_or_blank_quote_is_not_found() -> None:
    assert find_quote("s -= i", CHUNK) is None
    assert find_quote("   \n", CHUNK) is None


# ---- anchor_issues ------------------------------------------------------------------------


def test_unanchorable_issues_are_dropped_and_counted() -> None:
    result = anchor_issues(CHUNK, [issue("s = 0"), issue("nowhere()"), issue("elsewhere")])
    assert result == AnchorResult(
        (AnchoredIssue(CHUNK.index("s = 0"), CHUNK.index("s = 0") + 5, "m", "warning"),),
        dropped=2,
    )


def test_duplicate_issues_are_kept_once() -> None:
    result = anchor_issues(CHUNK, [issue("s = 0"), issue("s = 0"), issue("s = 0", "other")])
    assert [i.message for i in result.issues] == ["m", "other"]


def test_fix_is_kept_unless_it_changes_nothing() -> None:
    result = anchor_issues(
        CHUNK, [issue("s = 0", fix="s = 0.0"), issue("return", "r", fix="return")]
    )
    assert [i.fix for i in result.issues] == ["s = 0.0", None]


# ---- select_issues ------------------------------------------------------------------------


def anchored(start: int, severity: str) -> AnchoredIssue:
    return AnchoredIssue(start, start + 1, f"{severity}@{start}", severity)  # type: ignore[arg-type]


def test_severity_floor_hides_less_severe_issues() -> None:
    issues = [anchored(0, "hint"), anchored(1, "information"), anchored(2, "error")]
    assert select_issues(issues, "warning", 10) == [anchored(2, "error")]
    assert select_issues(issues, "hint", 10) == issues


def test_limit_keeps_the_most_severe_in_document_order() -> None:
    issues = [anchored(0, "information"), anchored(5, "error"), anchored(3, "warning")]
    assert select_issues(issues, "hint", 2) == [anchored(3, "warning"), anchored(5, "error")]


# ---- layout: ReviewStore and place ---------------------------------------------------------


def test_reviewed_chunks_are_placed_at_their_current_offsets() -> None:
    store = ReviewStore()
    store.put("a", AnchorResult((AnchoredIssue(4, 9, "in a", "error", "fix"),)))
    store.put("b", AnchorResult((AnchoredIssue(0, 3, "in b", "warning"),)))
    # Chunk "a" moved down by 10 characters (an edit above it); "c" is new.
    chunks = [ChunkAt("b", 0, 8), ChunkAt("a", 20, 40), ChunkAt("c", 40, 50)]
    placed, missing = place(chunks, store, "hint", 5)
    assert placed == [
        PlacedIssue(0, 3, "in b", "warning"),
        PlacedIssue(24, 29, "in a", "error", "fix"),
    ]
    assert missing == [ChunkAt("c", 40, 50)]


def test_place_applies_floor_and_limit_per_chunk() -> None:
    store = ReviewStore()
    store.put("a", AnchorResult(tuple(anchored(i, "warning") for i in range(4))))
    store.put("b", AnchorResult((anchored(0, "hint"), anchored(1, "error"))))
    placed, _ = place([ChunkAt("a", 0, 10), ChunkAt("b", 10, 20)], store, "warning", 2)
    assert [(p.start, p.severity) for p in placed] == [
        (0, "warning"),
        (1, "warning"),
        (11, "error"),
    ]


def test_retain_keeps_current_chunks_and_the_most_recent_spares() -> None:
    store = ReviewStore(spare=1)
    for key in ("old", "recent", "kept"):
        store.put(key, AnchorResult(()))
    store.retain(["kept", "new"])
    assert "old" not in store and "recent" in store and "kept" in store and len(store) == 2
    store.get("kept")
    store.retain(["new"])  # "kept" was used after "recent": it is the spare that stays
    assert list(k for k in ("recent", "kept") if k in store) == ["kept"]


# ---- report: offsets to LSP positions in the negotiated encoding ---------------------------

TEXT = "a = '🎉'\r\nb = 'ключ'  # 中文\n\n    c = 1\nlast"


@pytest.mark.parametrize(
    "encoding",
    [
        types.PositionEncodingKind.Utf16,
        types.PositionEncodingKind.Utf8,
        types.PositionEncodingKind.Utf32,
    ],
)
def test_line_index_agrees_with_pygls_inside_the_text(encoding: str) -> None:
    # TEXT breaks lines at "\r\n" and "\n", where pygls's line splitting is LSP's too.
    doc = TextDocument("file:///t.py", TEXT, position_codec=PositionCodec(encoding))
    index = LineIndex(TEXT)
    between = TEXT.index("\r\n") + 1  # between \r and \n: pygls says after \r, LSP has no such
    for offset in range(len(TEXT)):
        if offset != between:
            assert index.position(offset, encoding) == doc.client_position_at_offset(offset)
    assert index.position(between, encoding) == index.position(between - 1, encoding)


def test_diagnostics_carry_source_severity_version_and_fix() -> None:
    doc = TextDocument(
        "file:///t.py",
        TEXT,
        version=7,
        position_codec=PositionCodec(types.PositionEncodingKind.Utf16),
    )
    start = TEXT.index("# 中文")
    issue = PlacedIssue(start, start + 4, "comment", "hint", fix="# zh")
    assert to_diagnostics(doc, [issue], 7) == [
        types.Diagnostic(
            range=types.Range(types.Position(1, 12), types.Position(1, 16)),
            message="comment",
            severity=types.DiagnosticSeverity.Hint,
            source="lspilot",
            data={"fix": "# zh", "version": 7},
        )
    ]
