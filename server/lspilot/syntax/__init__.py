"""What is where in a document: definitions, comments, docstring slots, chunks, identifiers.

`parse(text, language)` returns a `Source` (tree-sitter, error tolerant, string offsets).
Grammars are imported on first use, so importing this package stays cheap.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import PurePosixPath
from urllib.parse import unquote, urlparse

from tree_sitter import Parser

from lspilot.syntax.model import Chunk, CommentBlock, Definition, Identifier
from lspilot.syntax.offsets import encode
from lspilot.syntax.source import Source

__all__ = [
    "LANGUAGES",
    "Chunk",
    "CommentBlock",
    "Definition",
    "Identifier",
    "Source",
    "language_of",
    "parse",
]

LANGUAGES = ("python", "javascript")

_EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
}
_IDS = {"python": "python", "javascript": "javascript", "javascriptreact": "javascript"}

_CACHE_SIZE = 8
# Bounded by size too: a syntax tree costs many times its text, and eight trees of a 5 MB
# file would be gigabytes. The newest tree is always kept.
_CACHE_CHARS = 4_000_000
_cache: OrderedDict[tuple[str, int], Source] = OrderedDict()
_lock = threading.Lock()


def language_of(uri: str, language_id: str | None = None) -> str | None:
    """The syntax language of a document, from the client's language id or the file suffix."""
    if language_id and language_id.lower() in _IDS:
        return _IDS[language_id.lower()]
    path = unquote(urlparse(uri).path) if "://" in uri else uri
    return _EXTENSIONS.get(PurePosixPath(path).suffix.lower())


def parse(text: str, language: str) -> Source:
    """Parse `text`; the last few Sources are kept, so features asking about the same
    document version share one tree. Raises ValueError for an unknown language."""
    key = (language, hash(text))
    with _lock:
        source = _cache.get(key)
        if source is not None and source.text == text:
            _cache.move_to_end(key)
            return source
    source = _parse(text, language)
    with _lock:
        _cache[key] = source
        _cache.move_to_end(key)
        total = sum(len(s.text) for s in _cache.values())
        while len(_cache) > 1 and (len(_cache) > _CACHE_SIZE or total > _CACHE_CHARS):
            _, dropped = _cache.popitem(last=False)
            total -= len(dropped.text)
    return source


def _parse(text: str, language: str) -> Source:
    # A parser per call: parsers are cheap, and this keeps parse() safe from any thread.
    if language == "python":
        from lspilot.syntax import python

        tree = Parser(python.language()).parse(encode(text))
        return python.PythonSource(text, tree)
    if language == "javascript":
        from lspilot.syntax import javascript

        tree = Parser(javascript.language()).parse(encode(text))
        return javascript.JavaScriptSource(text, tree)
    raise ValueError(f"no syntax support for {language!r}")
