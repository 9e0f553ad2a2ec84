"""The language-neutral half of a parsed document: offsets, errors, identifiers, comments, chunks.

`PythonSource` and `JavaScriptSource` fill in what differs (definitions, scopes, comment
syntax). A Source is immutable once built and may be shared between threads and features
(it sits in the `parse` cache), so everything it memoises is computed from the text alone.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from typing import ClassVar

from tree_sitter import Node, Tree

from lspilot.model import Parameter
from lspilot.syntax.model import Chunk, ChunkKind, CommentBlock, Definition, Identifier
from lspilot.syntax.offsets import OffsetMap, leading_whitespace, line_end, line_start

_JOINT = re.compile(r"[ \t]*\r?\n\s*")


def one_line(text: str) -> str:
    """Join a multi-line fragment onto one line: `(\\n a,\\n b\\n)` -> `(a, b)`."""

    def joint(match: re.Match[str]) -> str:
        before = match.string[match.start() - 1] if match.start() else ""
        after = match.string[match.end()] if match.end() < len(match.string) else ""
        # No space just inside brackets, so a wrapped signature reads like a written one.
        return "" if before in "([{" or after in ")]}" else " "

    return _JOINT.sub(joint, text).strip()


def keywords(words: str) -> frozenset[str]:
    """A language's reserved words, written as one space-separated string."""
    return frozenset(words.split())


def clean_block_comment(comment: str) -> str:
    """The text of a `/** ... */` or `/* ... */` comment without its markers."""
    body = re.sub(r"^/\*[*!]?|\*/$", "", comment.strip())
    lines = [re.sub(r"^\s*\* ?", "", line).rstrip() for line in body.splitlines()]
    return "\n".join(lines).strip()


def _doc_start(definition: Definition) -> int:
    """Where a definition starts, counting a doc comment written above it (JSDoc)."""
    doc = definition.docstring_start
    return doc if doc is not None and doc < definition.start else definition.start


class Source:
    """A parsed text: what is where, in string offsets. See docs/architecture.md."""

    #: Node types that are names the user can hover.
    IDENTIFIER_TYPES: ClassVar[frozenset[str]] = frozenset({"identifier"})
    #: Reserved words that error recovery may still label as identifiers.
    KEYWORDS: ClassVar[frozenset[str]] = frozenset(keyword.kwlist)
    #: The line comment marker.
    LINE_COMMENT: ClassVar[str] = "#"
    #: The block comment opener (`/*`), when the language has one.
    BLOCK_COMMENT: ClassVar[str | None] = None
    # The grammar's attribute-access node and the field naming the attribute (`obj.attr`).
    ATTRIBUTE_NODE: ClassVar[str] = "attribute"
    ATTRIBUTE_FIELD: ClassVar[str] = "attribute"
    ATTRIBUTE_OBJECT: ClassVar[str] = "object"

    def __init__(self, text: str, language: str, tree: Tree) -> None:
        self.text = text
        self.language = language
        self.tree = tree
        self.offsets = OffsetMap(text)
        self._error_count: int | None = None
        self._definitions: list[Definition] | None = None

    # ---- offsets ------------------------------------------------------------------------

    @property
    def root(self) -> Node:
        """The root node of the syntax tree."""
        return self.tree.root_node

    def start(self, node: Node) -> int:
        """String offset where `node` starts."""
        return self.offsets.char(node.start_byte)

    def end(self, node: Node) -> int:
        """String offset where `node` ends."""
        return self.offsets.char(node.end_byte)

    def node_text(self, node: Node) -> str:
        """The source text of `node`."""
        return self.text[self.start(node) : self.end(node)]

    def leaf_at(self, offset: int) -> Node:
        """The smallest node covering the character at `offset`."""
        start = self.offsets.byte(offset)
        end = self.offsets.byte(min(offset + 1, len(self.text)))
        node = self.root.descendant_for_byte_range(start, max(start, end))
        return node if node is not None else self.root

    # ---- errors -------------------------------------------------------------------------

    @property
    def has_errors(self) -> bool:
        """Whether tree-sitter had to recover from a syntax error (ERROR or MISSING nodes)."""
        return self.root.has_error

    def error_count(self) -> int:
        """The number of ERROR and MISSING nodes."""
        if self._error_count is None:
            count = 0
            stack = [self.root]
            while stack:
                node = stack.pop()
                if node.is_error or node.is_missing:
                    count += 1
                if node.has_error:  # only subtrees with an error are worth descending into
                    stack.extend(node.children)
            self._error_count = count
        return self._error_count

    # ---- identifiers --------------------------------------------------------------------

    def identifier_at(self, offset: int) -> Identifier | None:
        """The identifier at `offset` or ending just before it; None on anything else."""
        text = self.text
        for probe in (offset, offset - 1):
            if 0 <= probe < len(text) and (text[probe].isalnum() or text[probe] in "_$"):
                node = self.leaf_at(probe)
                break
        else:
            return None
        if node.type not in self.IDENTIFIER_TYPES:
            return None
        name = self.node_text(node)
        if not name or name in self.KEYWORDS:
            return None
        return Identifier(name, self.start(node), self.end(node), self._receiver(node))

    def _receiver(self, node: Node) -> str | None:
        """The object of an attribute access whose attribute is `node` (`self` in `self.x`)."""
        parent = node.parent
        if parent is None or parent.type != self.ATTRIBUTE_NODE:
            return None
        obj = parent.child_by_field_name(self.ATTRIBUTE_OBJECT)
        attribute = parent.child_by_field_name(self.ATTRIBUTE_FIELD)
        if obj is not None and attribute is not None and attribute.id == node.id:
            return one_line(self.node_text(obj))
        return None

    # ---- definitions --------------------------------------------------------------------

    def definitions(self) -> list[Definition]:
        """Every function, class and method (nested ones too), in text order."""
        if self._definitions is None:
            self._definitions = self._build_definitions()
        return self._definitions

    def _build_definitions(self) -> list[Definition]:
        raise NotImplementedError

    def definition_of(self, name: str, offset: int) -> Definition | None:
        """Where `name`, used at `offset`, is defined in this text (nearest scope first)."""
        raise NotImplementedError

    def enclosing_definition(self, offset: int) -> Definition | None:
        """The innermost function, method or class containing `offset`."""
        scopes = self._scopes_at(offset)
        return scopes[-1] if scopes else None

    def _scopes_at(self, offset: int) -> list[Definition]:
        """The definitions containing `offset`, outermost first (a language may find them
        without building every definition of the text)."""
        found = []
        for definition in self.definitions():
            if definition.start > offset:
                break  # sorted by start: nothing later can contain the offset
            if offset <= definition.end:
                found.append(definition)
        return found

    def definitions_in(self, start: int, end: int) -> list[Definition]:
        """Definitions lying wholly within ``[start, end]``, in text order."""
        return [d for d in self.definitions() if start <= d.start and d.end <= end]

    def classes(self) -> list[Definition]:
        """Every class of the text, in text order."""
        return [d for d in self.definitions() if d.kind == "class"]

    def is_doc_comment(self, start: int) -> bool:
        """Whether the comment starting at `start` documents a definition (JSDoc)."""
        return any(d.docstring_start == start for d in self.definitions())

    def documented_text(self, definition: Definition) -> str:
        """The definition's code with the doc comment written above it (JSDoc, `///`): what
        an explanation of it reads (a Python docstring is inside the text already)."""
        return self.text[_doc_start(definition) : definition.end]

    def definition_at_node(self, node: Node) -> Definition | None:
        """The Definition built for a definition node (language hook)."""
        return None

    def _parameter_definition(self, scope: Definition, parameter: Parameter) -> Definition:
        """A parameter of `scope` as a Definition (for hover and lookup)."""
        at = self.text.find(parameter.name, scope.name_end, scope.header_end)
        at = at if at >= 0 else scope.start
        signature = parameter.name
        if parameter.annotation:
            signature += f": {parameter.annotation}"
        if parameter.default:
            signature += f" = {parameter.default}"
        return Definition(
            name=parameter.name,
            kind="parameter",
            start=at,
            end=at + len(parameter.name),
            name_start=at,
            name_end=at + len(parameter.name),
            header_end=at + len(parameter.name),
            body_start=at + len(parameter.name),
            signature=signature,
            text=parameter.name,
            parameters=(parameter,),
            container=scope.container,
        )

    def calls_in(self, start: int, end: int) -> list[str]:
        """Names called between two offsets, deduplicated, in order (language hook)."""
        return []

    # ---- comments -----------------------------------------------------------------------

    def _comment_at(self, offset: int) -> Node:
        """The leaf at `offset`, or the comment it is part of (Rust's comments have their
        `//` and `/*` markers as child tokens)."""
        node = self.leaf_at(offset)
        parent = node.parent
        if "comment" not in node.type and parent is not None and "comment" in parent.type:
            return parent
        return node

    def _comment_line(self, start: int) -> tuple[str, int, int] | None:
        """(indent, marker offset, line end) when the line at `start` is only a comment."""
        end = line_end(self.text, start)
        line = self.text[start:end]
        body = line.lstrip(" \t")
        if not body.startswith(self.LINE_COMMENT):
            return None
        marker = start + len(line) - len(body)
        node = self._comment_at(marker)
        # A '#' inside a multi-line string is not a comment: ask the tree.
        if "comment" not in node.type or self.start(node) != marker:
            return None
        return line[: len(line) - len(body)], marker, end

    def comment_block_at(self, offset: int) -> CommentBlock | None:
        """The block of comment lines containing `offset`'s line, or ending just above it
        when `offset` is on the blank line right after the block; else the block comment
        (`/* ... */`) there, in languages that have them."""
        found = self._line_comment_block_at(offset)
        if found is not None or self.BLOCK_COMMENT is None:
            return found
        text = self.text
        offset = max(0, min(offset, len(text)))
        probes = [offset, offset - 1]
        first = line_start(text, offset)
        if not text[first : line_end(text, first)].strip():
            probes.append(first - 2)  # blank line right after the comment: its last char
        for probe in probes:
            if probe < 0 or probe >= len(text):
                continue
            node = self._comment_at(probe)
            if "comment" in node.type and self.node_text(node).startswith(self.BLOCK_COMMENT):
                start, end = self.start(node), self.end(node)
                return CommentBlock(
                    start,
                    end,
                    clean_block_comment(self.node_text(node)),
                    leading_whitespace(text, start),
                )
        return None

    def _line_comment_block_at(self, offset: int) -> CommentBlock | None:
        text = self.text
        offset = max(0, min(offset, len(text)))
        first = line_start(text, offset)
        found = self._comment_line(first)
        if found is None:
            if text[first : line_end(text, first)].strip() or first == 0:
                return None
            first = line_start(text, first - 1)
            found = self._comment_line(first)
            if found is None:
                return None
        indent, start, end = found
        lines = [text[start:end]]
        above = first
        while above > 0:
            above = line_start(text, above - 1)
            previous = self._comment_line(above)
            if previous is None or previous[0] != indent:
                break
            start = previous[1]
            lines.insert(0, text[previous[1] : previous[2]])
        below = line_end(text, first)
        while True:
            nxt = text.find("\n", below)
            if nxt < 0:
                break
            following = self._comment_line(nxt + 1)
            if following is None or following[0] != indent:
                break
            end = following[2]
            below = end
            lines.append(text[following[1] : following[2]])
        return CommentBlock(start, end, self._strip_markers(lines), indent)

    def _strip_markers(self, lines: list[str]) -> str:
        marker = self.LINE_COMMENT
        stripped = []
        for line in lines:
            body = line[len(marker) :] if line.startswith(marker) else line
            stripped.append((body[1:] if body.startswith(" ") else body).rstrip())
        return "\n".join(stripped)

    # ---- chunks -------------------------------------------------------------------------

    def top_level_nodes(self) -> Iterator[Node]:
        """Top-level statements, comments left out (they are attached in the gaps)."""
        for node in self.root.named_children:
            if "comment" not in node.type:
                yield node

    def class_body_nodes(self, definition: Definition) -> list[Node]:
        """Statements directly in a class body, comments left out (language hook)."""
        return []

    def chunks(self, max_class_lines: int = 80) -> list[Chunk]:
        """Top-level definitions and runs of other top-level statements, in order.

        A class longer than `max_class_lines` is split: its header (with the attributes and
        docstring before the first method) is one chunk, and each method is its own. Chunks
        never overlap and together hold every non-whitespace character; comment lines right
        above a definition belong to its chunk.
        """
        pieces: list[tuple[str, ChunkKind, int, int]] = []
        run: list[Node] = []

        def flush(name: str = "<module>", kind: ChunkKind = "module") -> None:
            if run:
                pieces.append((name, kind, self.start(run[0]), self.end(run[-1])))
                run.clear()

        for node in self.top_level_nodes():
            definition = self.definition_at_node(node)
            if definition is None:
                run.append(node)
                continue
            flush()
            lines = self.text.count("\n", definition.start, definition.end) + 1
            if definition.kind == "class" and lines > max_class_lines:
                pieces.extend(self._split_class(definition))
            else:
                kind: ChunkKind = "class" if definition.kind == "class" else "function"
                pieces.append((definition.name, kind, _doc_start(definition), definition.end))
        flush()
        return self._fill_gaps(pieces)

    def _split_class(self, definition: Definition) -> list[tuple[str, ChunkKind, int, int]]:
        pieces: list[tuple[str, ChunkKind, int, int]] = []
        header_end = definition.header_end
        run: list[Node] = []
        seen_member = False
        for node in self.class_body_nodes(definition):
            member = self.definition_at_node(node)
            if member is None:
                if seen_member:
                    run.append(node)
                else:
                    header_end = self.end(node)
                continue
            if not seen_member:
                pieces.append((definition.name, "class", _doc_start(definition), header_end))
                seen_member = True
            if run:
                pieces.append(
                    (definition.name, "class body", self.start(run[0]), self.end(run[-1]))
                )
                run.clear()
            kind: ChunkKind = "method" if member.kind == "method" else "class"
            start = line_start(self.text, _doc_start(member))
            if self.text[start : _doc_start(member)].strip():
                start = _doc_start(member)
            pieces.append((f"{definition.name}.{member.name}", kind, start, member.end))
        if not seen_member:
            return [(definition.name, "class", _doc_start(definition), definition.end)]
        if run:
            pieces.append((definition.name, "class body", self.start(run[0]), self.end(run[-1])))
        return pieces

    def _fill_gaps(self, pieces: list[tuple[str, ChunkKind, int, int]]) -> list[Chunk]:
        """Give comments and stray text between pieces a home, so nothing is left out."""
        text = self.text
        out: list[tuple[str, ChunkKind, int, int]] = []
        previous_end = 0
        for name, kind, start, end in [*pieces, ("", "module", len(text), len(text))]:
            gap_start = previous_end
            if text[gap_start:start].strip():
                # Comment lines directly above the next piece (no blank line) belong to it.
                attach = line_start(text, start)
                while attach > gap_start:
                    above = line_start(text, attach - 1)
                    if above < gap_start or self._comment_line(above) is None:
                        break
                    attach = above
                if name and attach < line_start(text, start):
                    at_line_start = start == line_start(text, start)
                    start = (
                        attach if at_line_start else attach + len(leading_whitespace(text, attach))
                    )
                rest = text[gap_start:start]
                if rest.strip():
                    lead = len(rest) - len(rest.lstrip())
                    out.append(
                        ("<module>", "module", gap_start + lead, gap_start + len(rest.rstrip()))
                    )
            if name:
                out.append((name, kind, start, end))
            previous_end = max(previous_end, end)
        return [Chunk(name, kind, start, end, text[start:end]) for name, kind, start, end in out]
