"""What is where in a document: definitions, comments, docstring slots, chunks, identifiers.

`parse(text, language)` returns a `Source` (tree-sitter, error tolerant, string offsets);
`reparse(source, text, edits)` the Source of an edited text, re-parsing only what the edits
touched. Grammars are imported on first use, so importing this package stays cheap.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from tree_sitter import Language, Parser, Tree

from lspilot.syntax.model import Chunk, CommentBlock, Definition, Identifier
from lspilot.syntax.offsets import encode
from lspilot.syntax.recent import Recent, tree_bytes
from lspilot.syntax.source import Source
from lspilot.syntax.text import TextSource, plain_language

if TYPE_CHECKING:
    from lspilot.positions import ByteEdit

__all__ = [
    "LANGUAGES",
    "Chunk",
    "CommentBlock",
    "Definition",
    "Identifier",
    "Recent",
    "Source",
    "file_suffixes",
    "language_of",
    "parse",
    "parse_plain",
    "plain_language",
    "reparse",
    "tree_bytes",
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

# Sources of the texts parsed, so features asking about the same text share one tree: every
# Source still alive (held by lspilot.documents for an open document, or by a feature at
# work) is found by weak reference, without being kept; only small ones (snippets the
# engines parse, fix checks) are also kept here, within `_CACHE_BYTES`. A big document's
# tree is kept only by lspilot.documents, whose budget bounds it: held here as well, one
# more 2,000-line file's tree (5 MiB) stayed alive after its document's was dropped.
_CACHE_BYTES = 2**20
_cache: Recent[tuple[str, int], Source] = Recent(_CACHE_BYTES, tree_bytes, keep=0)
_alive: weakref.WeakValueDictionary[tuple[str, int], Source] = weakref.WeakValueDictionary()
_alive_lock = threading.Lock()
# Texts longer than this are parsed one at a time, fed to the parser in slices that yield
# the GIL: tree-sitter holds it while it parses, so a big parse in a worker thread would
# otherwise stall the event loop for the whole parse (a second or more for megabytes), and
# fifty documents opened at once would each hold a tree being built.
COOPERATIVE_CHARS = 20_000
_SLICE_BYTES = 8192
_one_big_parse = threading.Lock()
# The one buffer every slice is handed to the parser in. The tree-sitter binding (0.26)
# never lets go of what the read callback returns: fresh slices leaked a copy of every big
# text at each parse (~270 MB in the memory benchmark). It leaks references to this buffer
# instead, which costs nothing; one buffer is safe because big parses run one at a time
# (`_one_big_parse`) and the parser needs each slice only until its next read.
_slice_buffer = bytearray(_SLICE_BYTES)
_slice_view = memoryview(_slice_buffer)


def file_suffixes() -> tuple[str, ...]:
    """The file name suffixes whose language a grammar parses (".py", ".go", ...)."""
    return tuple(_EXTENSIONS)


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
    source = _shared(key, text)
    if source is not None:
        return source
    source = _parse(text, language)
    _share(key, source)
    return source


def reparse(
    source: Source, text: str, edits: Sequence[ByteEdit], *, yielding: bool = True
) -> Source:
    """The Source of `text`, which `edits` made from `source.text`: tree-sitter re-parses
    only what the edits touched, reusing the rest of `source`'s tree (left unchanged).

    `yielding=False` on the event loop's thread: a big text is then not fed in slices that
    yield the GIL (which serve a worker thread; on the loop they would only hand it away)."""
    if isinstance(source, TextSource):
        return parse_plain(text, source.language)
    key = (source.language, hash(text))
    cached = _shared(key, text)
    if cached is not None:
        return cached
    tree = source.tree.copy()
    for edit in edits:
        tree.edit(*edit)
    reparsed = _parse(text, source.language, tree, yielding=yielding)
    _share(key, reparsed)
    return reparsed


def _shared(key: tuple[str, int], text: str) -> Source | None:
    """The Source of `text` if one is alive (kept here or held by anyone else)."""
    source = _cache.get(key)
    if source is None:
        with _alive_lock:  # WeakValueDictionary is not safe to read while another writes
            source = _alive.get(key)
    return source if source is not None and source.text == text else None


def _share(key: tuple[str, int], source: Source) -> None:
    with _alive_lock:
        _alive[key] = source
    _cache.put(key, source)


def parse_plain(text: str, language: str) -> Source:
    """A grammar-less `TextSource` (comment lines and blocks only), for other languages."""
    return TextSource(text, language)


def _tree(grammar: Language, text: str, old: Tree | None = None, *, yielding: bool = True) -> Tree:
    """Parse `text` (reusing `old`, edited to match, if given); a big one slice by slice,
    letting other threads run between slices (unless not `yielding`)."""
    # A parser per call: parsers are cheap, and this keeps parse() safe from any thread.
    parser = Parser(grammar)
    data = encode(text)
    if len(text) <= COOPERATIVE_CHARS or not yielding:
        return parser.parse(data) if old is None else parser.parse(data, old)

    parsing = True

    def read(offset: int, _point: tuple[int, int]) -> bytes | memoryview:
        piece = data[offset : offset + _SLICE_BYTES]
        if not parsing:  # `Node.text` of the tree calls this again: a slice of its own
            return piece
        time.sleep(0)  # releases the GIL: the event loop runs if it is waiting for it
        size = len(piece)
        _slice_buffer[:size] = piece
        # A short slice (the end of the text) is a small view of its own, a few per parse.
        return _slice_view if size == _SLICE_BYTES else _slice_view[:size]

    with _one_big_parse:
        try:
            return parser.parse(read) if old is None else parser.parse(read, old)
        finally:
            parsing = False


def _parse(text: str, language: str, old: Tree | None = None, *, yielding: bool = True) -> Source:
    if language == "python":
        from lspilot.syntax import python

        return python.PythonSource(text, _tree(python.language(), text, old, yielding=yielding))
    if language == "javascript":
        from lspilot.syntax import javascript

        return javascript.JavaScriptSource(
            text, _tree(javascript.language(), text, old, yielding=yielding)
        )
    if language in _BRACED:
        import importlib

        module_name, grammar, cls = _BRACED[language]
        module = importlib.import_module(f"lspilot.syntax.{module_name}")
        tree = _tree(getattr(module, grammar)(), text, old, yielding=yielding)
        source: Source = getattr(module, cls)(text, tree)
        return source
    if language == "tsx":
        from lspilot.syntax import typescript

        tree = _tree(typescript.language(tsx=True), text, old, yielding=yielding)
        return typescript.TypeScriptSource(text, tree, "tsx")
    raise ValueError(f"no syntax support for {language!r}")
