"""Languages without a grammar: what the text alone allows, and nothing it does not.

A `TextSource` knows the language's line comment marker (from the editor's language id or the
file suffix), so *Generate from comment* works; review goes block by block (runs of lines
between blank lines, merged up to a size); there are no definitions and no identifiers, so
hover and *Document this* stay silent rather than guess. *Explain* works on a selection.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import ClassVar, cast
from urllib.parse import unquote, urlparse

from tree_sitter import Node, Tree

from lspilot.syntax.model import Chunk, Definition, Identifier
from lspilot.syntax.offsets import line_end
from lspilot.syntax.source import Source, keywords

# Language id -> line comment marker.
_MARKERS = {
    **dict.fromkeys(
        keywords(
            "ruby shellscript bash sh zsh fish perl r yaml toml makefile dockerfile elixir julia "
            "nim powershell coffeescript crystal nix terraform hcl cmake graphql starlark"
        ),
        "#",
    ),
    **dict.fromkeys(
        keywords(
            "csharp kotlin swift scala dart php groovy zig fsharp objective-c objective-cpp vala "
            "solidity d haxe proto jsonc less scss odin v"
        ),
        "//",
    ),
    **dict.fromkeys(keywords("lua sql haskell elm ada purescript plsql"), "--"),
    **dict.fromkeys(keywords("clojure lisp scheme racket commonlisp"), ";"),
    **dict.fromkeys(keywords("erlang latex tex matlab prolog"), "%"),
    "vb": "'",
}
_SUFFIXES = {
    ".rb": "ruby", ".sh": "shellscript", ".bash": "shellscript", ".zsh": "shellscript",
    ".pl": "perl", ".pm": "perl", ".r": "r", ".yaml": "yaml", ".yml": "yaml", ".toml": "toml",
    ".ex": "elixir", ".exs": "elixir", ".jl": "julia", ".ps1": "powershell", ".nix": "nix",
    ".tf": "terraform", ".cs": "csharp", ".kt": "kotlin", ".kts": "kotlin", ".swift": "swift",
    ".scala": "scala", ".dart": "dart", ".php": "php", ".groovy": "groovy", ".zig": "zig",
    ".fs": "fsharp", ".m": "objective-c", ".proto": "proto", ".lua": "lua", ".sql": "sql",
    ".hs": "haskell", ".elm": "elm", ".clj": "clojure", ".scm": "scheme", ".rkt": "racket",
    ".erl": "erlang", ".tex": "latex", ".vb": "vb",
}  # fmt: skip
# Review blocks: runs of lines between blank lines, merged while under this many lines.
BLOCK_LINES = 40

#: What each kind of support gives, for the status.
FULL_FEATURES = ("hover", "document", "generate", "explain", "fix", "review")
TEXT_FEATURES = ("generate", "explain selection", "fix", "review by blocks")
BARE_FEATURES = ("explain selection", "fix", "review by blocks")


def text_language(uri: str, language_id: str | None = None) -> str | None:
    """The language of a document lspilot has no grammar for but knows the comments of."""
    if language_id and language_id.lower() in _MARKERS:
        return language_id.lower()
    path = unquote(urlparse(uri).path) if "://" in uri else uri
    return _SUFFIXES.get(PurePosixPath(path).suffix.lower())


# Language ids that are not code: no review, no generation (explain a selection still works).
NOT_CODE = frozenset(
    {"plaintext", "markdown", "log", "json", "jsonl", "csv", "xml", "html", "text"}
)


def plain_language(uri: str, language_id: str | None = None) -> str | None:
    """The language a grammar-less document is treated as (its comments known or not);
    None for prose and data, which get no review."""
    known = text_language(uri, language_id)
    if known is not None:
        return known
    if language_id and language_id.lower() not in NOT_CODE:
        return language_id.lower()
    return None


def features(language: str | None, full: bool) -> tuple[str, ...]:
    """The model features a document in `language` gets (`full`: a grammar language)."""
    if full:
        return FULL_FEATURES
    if language is None:
        return ("explain selection", "fix")
    return TEXT_FEATURES if language in _MARKERS else BARE_FEATURES


class TextSource(Source):
    """A text with no syntax tree: comment lines and blocks of lines only."""

    IDENTIFIER_TYPES: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, text: str, language: str) -> None:
        # No tree: every method of Source that would read one is answered here instead.
        super().__init__(text, language, cast(Tree, None))
        self.LINE_COMMENT = _MARKERS.get(language, "\0")  # type: ignore[misc]

    @property
    def has_errors(self) -> bool:
        """Nothing to check a text against."""
        return False

    def error_count(self) -> int:
        """No parser, no errors."""
        return 0

    def identifier_at(self, offset: int) -> Identifier | None:
        """Never a guess: without a grammar a word is not known to be a name."""
        return None

    def _build_definitions(self) -> list[Definition]:
        return []

    def definition_of(self, name: str, offset: int) -> Definition | None:
        """Nothing is known to be defined."""
        return None

    def _comment_line(self, start: int) -> tuple[str, int, int] | None:
        # Without a tree a marker inside a string cannot be told apart; a line that starts
        # with the marker is a comment line.
        end = line_end(self.text, start)
        line = self.text[start:end]
        body = line.lstrip(" \t")
        if not body.startswith(self.LINE_COMMENT):
            return None
        return line[: len(line) - len(body)], start + len(line) - len(body), end

    def _comment_at(self, offset: int) -> Node:
        raise NotImplementedError("a TextSource has no tree")

    def chunks(self, max_class_lines: int = 80) -> list[Chunk]:
        """Runs of non-blank lines, merged while a chunk stays under `BLOCK_LINES` lines."""
        text = self.text
        paragraphs: list[tuple[int, int]] = []
        offset = 0
        for line in text.splitlines(keepends=True):
            end = offset + len(line.rstrip("\r\n"))
            if line.strip():
                if paragraphs and text[paragraphs[-1][1] : offset] in ("\n", "\r\n", "\r"):
                    paragraphs[-1] = (paragraphs[-1][0], end)  # the next line of a run
                else:
                    paragraphs.append((offset, end))
            offset += len(line)
        merged: list[tuple[int, int]] = []
        for start, end in paragraphs:
            if merged and text.count("\n", merged[-1][0], end) < BLOCK_LINES:
                merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        return [Chunk("<block>", "module", a, b, text[a:b]) for a, b in merged]
