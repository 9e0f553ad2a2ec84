"""The review plan: chunk keys, and review inputs made again only when needed."""

from __future__ import annotations

from dataclasses import fields

from lspilot.assistant.cache import ResultCache
from lspilot.assistant.tasks import ReviewInput
from lspilot.context import WorkspaceContext
from lspilot.review.runner import plan, review_digest
from lspilot.settings.model import ContextSettings
from lspilot.syntax import parse

PADDING = "".join(f"        total += y * {i}\n" for i in range(80))  # a class split in methods
TEXT = (
    "import math\n\n\n"
    'def helper(a: int) -> int:\n    """Helper doc."""\n    return a\n\n\n'
    'class Shelf:\n    """A shelf of items."""\n\n'
    "    def first(self, x):\n        return helper(x)\n\n"
    "    def second(self, y):\n        total = 0\n" + PADDING + "        return total\n"
)

# What each chunk was planned as, and its cache key (engine part fixed), when the plan still
# held every chunk's ReviewInput: results cached then must still be found.
PINNED = [
    ("<module>", "", "a6042c03713cab596538a428481dbc8ab6ee63a82f44cb36ca8f62ded9e55056"),
    ("helper", "", "5fbfe8fcf57e1463ad707ecb959dc0215bd620fb3ca9ce41aba3c792ab397a0f"),
    ("Shelf", "", "b68754962ec05ed8f87bb52b100e9c28f73c5efcccecdb25158340ac86a227c9"),
    (
        "Shelf.first",
        'class Shelf:\ndef helper(a: int) -> int:\n    """Helper doc."""',
        "9ea3dbe84dac789e965e4eac15255e2fc935b8bb0731fcbf66f97e9e062bfe76",
    ),
    (
        "Shelf.second",
        "class Shelf:",
        "673db93d4afad8cd2d4da6dad9dfd7d01b68a8256f1abdc20014133874821dde",
    ),
]


def _plan() -> list:
    workspace = WorkspaceContext(None, None, lambda rel: None, ContextSettings())
    return plan(parse(TEXT, "python"), "python", workspace, None)


def test_a_chunks_review_input_and_cache_key_are_unchanged() -> None:
    chunks = _plan()
    seen = []
    for chunk in chunks:
        request = chunk.request()
        assert request.code == TEXT[chunk.start : chunk.end]
        key = ResultCache.key("openai", "m", "review", "7", request, {"temperature": 0}, "")
        seen.append((request.name, request.context, key))
    assert seen == PINNED


def test_a_plan_holds_digests_and_spans_not_copies_of_the_code() -> None:
    chunks = _plan()
    for chunk in chunks:
        assert chunk.key == review_digest(chunk.request())
        assert chunk.text is chunks[0].text  # the one document text, shared
        # The code is held once, in the document's text; no field holds a copy of it.
        code = chunk.request().code
        held = [getattr(chunk, f.name) for f in fields(chunk)]
        assert [v for v in held if isinstance(v, str) and code in v] == [TEXT]
    assert len({c.key for c in chunks}) == len(chunks)


def test_the_digest_tells_apart_every_field_of_the_input() -> None:
    base = ReviewInput(code="x = 1", name="f", context="c")
    variants = [
        base,
        ReviewInput(code="x = 2", name="f", context="c"),
        ReviewInput(code="x = 1", name=None, context="c"),
        ReviewInput(code="x = 1", name="f", context=""),
        ReviewInput(code="x = 1", name="f", context="c", language="javascript"),
        ReviewInput(code="x = 1", name="f", context="c", feedback="again"),
        # The same characters, moved from one field to the next, are a different input.
        ReviewInput(code="1", name="f", context="cx = "),
    ]
    assert len({review_digest(v) for v in variants}) == len(variants)
    assert review_digest(ReviewInput(code="x = 1", name="f", context="c")) == review_digest(base)
