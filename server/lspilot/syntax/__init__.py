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
from lspilot.syntax.text import TextSource, plain_language

__all__ = [
    "LANGUAGES",
    "Chunk",
    "CommentBlock",
    "Definition",
    "Identifier",
    "Source",
    "language_of",
    "parse",
    "parse_plain",
    "plain_language",
]

LANGUAGES = ("python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp")

_EXTENSIONS = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".ipp": "cpp",
}
_IDS = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "tsx": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
    "cuda": "cpp",
    "objc": "c",
}

# language -> (module, grammar function, Source class): imported on first use.
_BRACED = {
    "typescript": ("typescript", "language", "TypeScriptSource"),
    "go": ("go", "language", "GoSource"),
    "rust": ("rust", "language", "RustSource"),
    "java": ("java", "language", "JavaSource"),
    "c": ("c_family", "c_language", "CSource"),
    "cpp": ("c_family", "cpp_language", "CppSource"),
}

_CACHE_SIZE = 8
# Bounded by size too: a syntax tree costs many times its text, and eight trees of a 5 MB
# file would be gigabytes. The newest tree is always kept.
_CACHE_CHARS = 4_000_000
_cache: OrderedDict[tuple[str, int], Source] = OrderedDict()
_lock = threading.Lock()


def language_of(uri: str, language_id: str | None = None) -> str | None:
    """The syntax language of a document: from the file suffix, else the client's language id.

    The file name wins: some clients (eglot) send one languageId for every buffer of a
    server, so a ``.js`` file may arrive as "python". Untitled buffers have only the id.
    """
    path = unquote(urlparse(uri).path) if "://" in uri else uri
    by_name = _EXTENSIONS.get(PurePosixPath(path).suffix.lower())
    if by_name is not None:
        return by_name
    if language_id and language_id.lower() in _IDS:
        return _IDS[language_id.lower()]
    return None


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


def parse_plain(text: str, language: str) -> Source:
    """A grammar-less `TextSource` (comment lines and blocks only), for other languages."""
    return TextSource(text, language)


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
    if language in _BRACED:
        import importlib

        module_name, grammar, cls = _BRACED[language]
        module = importlib.import_module(f"lspilot.syntax.{module_name}")
        tree = Parser(getattr(module, grammar)()).parse(encode(text))
        source: Source = getattr(module, cls)(text, tree)
        return source
    if language == "tsx":
        from lspilot.syntax import typescript

        tree = Parser(typescript.language(tsx=True)).parse(encode(text))
        return typescript.TypeScriptSource(text, tree, "tsx")
    raise ValueError(f"no syntax support for {language!r}")
