"""An incremental re-parse after editing gives exactly the tree of a full parse.

Documents are edited through `LspTextDocument` (as `didChange` edits them), which records
each change as a tree-sitter byte edit; `reparse` re-parses the old tree with those edits.
Every node (type, bytes, points) must equal a fresh parse of the new text, for texts with
every line-break kind, non-ASCII characters and lone surrogates, over several edits.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from tree_sitter import Parser, Tree

from lspilot.positions import LineIndex, LspTextDocument, LspWorkspace
from lspilot.syntax import parse, python, reparse
from lspilot.syntax.offsets import encode

PIECES = ["def f(x):\n", "    return x\n", "class A:\n", "    '''doc'''\n", "# note\n",
          "x = [1,\n", "]\n", "(", ")", '"', " ", "\t", "\n", "\r\n", "\r", "é", "😀", "模",
          "\ud800", "if x:\n", "  pass\n", "a"]  # fmt: skip
texts = st.lists(st.sampled_from(PIECES), max_size=30).map("".join)
edits = st.lists(
    st.tuples(
        st.integers(0, 12), st.integers(0, 40), st.integers(0, 12), st.integers(0, 40), texts
    ),
    min_size=1,
    max_size=6,
)


def document(text: str, encoding: str) -> LspTextDocument:
    workspace = LspWorkspace(None, position_encoding=encoding)
    workspace.put_text_document(
        types.TextDocumentItem(uri="file:///t.py", language_id="python", version=1, text=text)
    )
    doc = workspace.get_text_document("file:///t.py")
    assert isinstance(doc, LspTextDocument)
    return doc


def nodes(tree: Tree) -> list[Any]:
    out = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        out.append((node.type, node.start_byte, node.end_byte, node.start_point, node.end_point))
        stack.extend(node.children)
    return out


def change(doc: LspTextDocument, l1: int, c1: int, l2: int, c2: int, new: str) -> None:
    start, end = types.Position(l1, c1), types.Position(l2, c2)
    doc.apply_change(
        types.TextDocumentContentChangePartial(range=types.Range(start, end), text=new)
    )


@settings(max_examples=150, deadline=None)
@given(texts, edits, st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_reparse_equals_a_full_parse(text: str, changes: list[Any], encoding: str) -> None:
    doc = document(text, encoding)
    source = parse(doc.source, "python")
    doc.parsed(doc.source)
    for step, (l1, c1, l2, c2, new) in enumerate(changes):
        change(doc, l1, c1, l2, c2, new)
        if step % 2 == 0:
            continue  # some re-parses follow two edits
        recorded = doc.edits_since(source.text)
        assert recorded is not None
        source = reparse(source, doc.source, recorded)
        doc.parsed(doc.source)
        assert source.text == doc.source
        assert nodes(source.tree) == nodes(fresh_tree(doc.source))


def fresh_tree(text: str) -> Tree:
    """A full parse, which cannot come from `parse`'s cache of recent texts."""
    return Parser(python.language()).parse(encode(text))


def test_edits_are_forgotten_on_a_full_change_and_unknown_for_other_texts() -> None:
    doc = document("a = 1\n", "utf-16")
    doc.parsed(doc.source)
    change(doc, 0, 4, 0, 5, "2")
    assert doc.edits_since("a = 1\n") is not None
    assert doc.edits_since("something else") is None
    doc.apply_change(types.TextDocumentContentChangeWholeDocument(text="b = 3\n"))
    assert doc.edits_since("a = 1\n") is None
    assert doc.edits_since(doc.source) == []


def test_a_point_counts_bytes_from_the_line_start() -> None:
    text = "é = 1\n😀x\r\ny"
    doc = document(text, "utf-16")
    doc.parsed(doc.source)
    index = LineIndex(text)
    change(doc, 1, 3, 1, 3, "z")  # after 😀 (two utf-16 units) and x
    (edit,) = doc.edits
    offset = index.offset(types.Position(1, 3), "utf-16")
    assert edit.start_byte == len(text[:offset].encode())
    assert edit.start_point == (1, len("😀x".encode()))
    assert edit.new_end_point == (1, len("😀xz".encode()))
