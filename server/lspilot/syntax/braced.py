"""Structure shared by the brace languages with doc comments above definitions: Go, Rust,
Java, C and C++ (TypeScript builds on javascript.py instead).

Each language module names its node types (`DEFINITIONS`, `CALLS`...) and fills a few hooks
(name, parameters, return type, container); this module walks the tree once and builds
`Definition`s, finds their doc comments (the comment lines directly above, in the language's
doc marker) and answers name lookups.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from tree_sitter import Node, Tree

from lspilot.model import Parameter
from lspilot.syntax.model import Definition, DefinitionKind
from lspilot.syntax.offsets import indent_unit, leading_whitespace, line_start
from lspilot.syntax.source import Source, clean_block_comment, one_line


@dataclass
class _Found:
    """What the walk collected inside one definition's body."""

    calls: list[tuple[int, str]] = field(default_factory=list)  # (where, name)
    raises: list[str] = field(default_factory=list)


class BracedSource(Source):
    """A parsed text of a brace language. Subclasses set the class variables and hooks."""

    LINE_COMMENT: ClassVar[str] = "//"
    BLOCK_COMMENT: ClassVar[str | None] = "/*"
    #: Node type -> "function" or "class" (a function inside a class is a method).
    DEFINITIONS: ClassVar[dict[str, DefinitionKind]] = {}
    #: Node types that qualify the definitions inside them without being documentable.
    CONTAINERS: ClassVar[frozenset[str]] = frozenset()
    #: Call node type -> the field naming what is called.
    CALLS: ClassVar[dict[str, str]] = {"call_expression": "function"}
    #: Node types that throw (their thrown type is `raised`'s answer).
    THROWS: ClassVar[frozenset[str]] = frozenset()
    #: How a doc comment starts (a comment line directly above not starting so is not one).
    DOC_MARKERS: ClassVar[tuple[str, ...]] = ("/**", "///")
    #: Sibling nodes between a doc comment and its definition (Rust attributes).
    LEADING: ClassVar[frozenset[str]] = frozenset()
    #: Parents that wrap one definition (C++ `template <...>`): docs go above them.
    WRAPPERS: ClassVar[frozenset[str]] = frozenset()
    #: Nodes whose members are reviewed as if at top level (C++ namespaces, Rust modules).
    TRANSPARENT: ClassVar[frozenset[str]] = frozenset()
    #: The receiver words of a member access (`this.x`, `self.x`).
    SELF_WORDS: ClassVar[frozenset[str]] = frozenset({"this", "self"})

    def __init__(self, text: str, language: str, tree: Tree) -> None:
        super().__init__(text, language, tree)
        self._by_node: dict[int, Definition] = {}
        self._inner: dict[int, Node] = {}

    # ---- language hooks -----------------------------------------------------------------

    def name_node(self, node: Node) -> Node | None:
        """The node holding the definition's name."""
        return node.child_by_field_name("name")

    def body_of(self, node: Node) -> Node | None:
        """The body (a block or member list) of a definition."""
        return node.child_by_field_name("body")

    def parameters_of(self, node: Node) -> tuple[Parameter, ...]:
        """The parameters of a function definition."""
        return ()

    def returns_of(self, node: Node) -> str | None:
        """The declared return type, None when there is none (or `void`)."""
        return None

    def keep(self, node: Node) -> bool:
        """Whether a node of a DEFINITIONS type really is one (a struct with a body...)."""
        return True

    def raised(self, node: Node) -> str | None:
        """What a THROWS node throws (a type or expression), None if unclear."""
        return None

    def container_name(self, node: Node) -> str | None:
        """The name a CONTAINERS node (or class) gives its members."""
        name = self.name_node(node)
        return one_line(self.node_text(name)) if name is not None else None

    def declared_raises(self, node: Node) -> list[str]:
        """Exceptions the signature declares (Java's `throws`)."""
        return []

    # ---- definitions --------------------------------------------------------------------

    def definition_at_node(self, node: Node) -> Definition | None:
        self.definitions()
        return self._by_node.get(node.id)

    def top_level_nodes(self) -> Iterator[Node]:
        """Top-level statements (and those of namespaces), without comments and without
        attributes, which belong to the definition below them."""
        for node in super().top_level_nodes():
            if node.type in self.TRANSPARENT:
                body = node.child_by_field_name("body")
                inner = [c for c in body.named_children if "comment" not in c.type] if body else []
                if inner:
                    yield from (c for c in inner if c.type not in self.LEADING)
                    continue
            if node.type not in self.LEADING:
                yield node

    def class_body_nodes(self, definition: Definition) -> list[Node]:
        """Members of a class body, comments left out."""
        node = self._inner.get(definition.start)
        body = self.body_of(node) if node is not None else None
        if body is None:
            return []
        return [c for c in body.named_children if "comment" not in c.type and c.is_named]

    def _build_definitions(self) -> list[Definition]:
        found: dict[int, _Found] = {}
        order: list[Node] = []
        stack: list[tuple[Node, int | None]] = [(self.root, None)]
        while stack:
            node, owner = stack.pop()
            kind = self.DEFINITIONS.get(node.type)
            if kind is not None and self.keep(node):
                found[node.id] = _Found()
                order.append(node)
                owner = node.id
            elif owner is not None:
                callee = self.CALLS.get(node.type)
                if callee is not None:
                    target = node.child_by_field_name(callee)
                    name = self.callee_name(node, target) if target is not None else None
                    if target is not None and name:
                        found[owner].calls.append((target.start_byte, name))
                if node.type in self.THROWS:
                    thrown = self.raised(node)
                    if thrown:
                        found[owner].raises.append(thrown)
            stack.extend((child, owner) for child in reversed(node.named_children))
        order.sort(key=lambda n: n.start_byte)
        return [self._definition(n, found[n.id]) for n in order]

    def callee_name(self, call: Node, target: Node) -> str | None:
        """How a call names what it calls (`items.map`), or None for a computed callee."""
        name = one_line(self.node_text(target))
        return name if "(" not in name and "[" not in name else None

    def _outer(self, node: Node) -> Node:
        """The node docs are attached to: the definition, or its wrapper."""
        outer = node
        while outer.parent is not None and outer.parent.type in self.WRAPPERS:
            outer = outer.parent
        return outer

    def _leading_start(self, outer: Node) -> Node:
        """The first of the LEADING siblings (attributes) right above `outer`, or `outer`."""
        first = outer
        previous = outer.prev_named_sibling
        while previous is not None and previous.type in self.LEADING:
            first = previous
            previous = previous.prev_named_sibling
        return first

    def _container(self, outer: Node) -> str | None:
        parent = outer.parent
        while parent is not None:
            kind = self.DEFINITIONS.get(parent.type)
            if (kind == "class" and self.keep(parent)) or parent.type in self.CONTAINERS:
                return self.container_name(parent)
            if kind == "function":
                return None
            parent = parent.parent
        return None

    def _kind(self, node: Node, container: str | None) -> DefinitionKind:
        kind = self.DEFINITIONS[node.type]
        return "method" if kind == "function" and container else kind

    def _definition(self, node: Node, found: _Found) -> Definition:
        outer = self._outer(node)
        first = self._leading_start(outer)
        start, end = self.start(first), self.end(outer)
        after = outer.next_sibling
        if after is not None and after.type == ";" and after.start_byte == outer.end_byte:
            end = self.end(after)  # `struct P { ... };`: the semicolon is the struct's
        container = self._container(outer)
        name_node = self.name_node(node)
        name = one_line(self.node_text(name_node)) if name_node is not None else ""
        name = name.rsplit("::", 1)[-1]
        body = self.body_of(node)
        if body is not None and self.text[self.start(body) : self.start(body) + 1] == "{":
            header_end = self.start(body) + 1
        else:
            header_end = self.start(body) if body is not None else end
        statements = [c for c in body.named_children if "comment" not in c.type] if body else []
        if len(statements) == 1 and statements[0].type == "statement_list":  # Go blocks
            statements = [c for c in statements[0].named_children if "comment" not in c.type]
        body_start = self.start(statements[0]) if statements else header_end
        indent = leading_whitespace(self.text, start)
        if statements and line_start(self.text, body_start) > header_end:
            body_indent = leading_whitespace(self.text, body_start)
        else:
            body_indent = indent + indent_unit(self.text)
        header = self.text[self.start(outer) : self.start(body) if body is not None else end]
        doc = self._doc_comments(first)
        definition = Definition(
            name=name,
            kind=self._kind(node, container),
            start=start,
            end=end,
            name_start=self.start(name_node) if name_node is not None else start,
            name_end=self.end(name_node) if name_node is not None else start,
            header_end=header_end,
            body_start=body_start,
            signature=one_line(header).rstrip("{ ").strip(),
            text=self.text[start:end],
            parameters=self.parameters_of(node),
            returns=self.returns_of(node),
            raises=tuple(dict.fromkeys([*self.declared_raises(node), *found.raises])),
            # In source order: the walk meets `a().b()`'s outer call `b` first.
            calls=tuple(dict.fromkeys(name for _, name in sorted(found.calls))),
            docstring=self._doc_text(doc) if doc else None,
            docstring_start=self.start(doc[0]) if doc else None,
            docstring_end=self._doc_end(doc[-1]) if doc else None,
            indent=indent,
            body_indent=body_indent,
            container=container,
        )
        for key in (node.id, outer.id):
            self._by_node[key] = definition
        self._inner[start] = node
        return definition

    # ---- doc comments -------------------------------------------------------------------

    def _doc_comments(self, first: Node) -> list[Node]:
        """The doc comment nodes directly above `first` (no blank line between)."""
        nodes: list[Node] = []
        below = first
        previous = first.prev_sibling
        while previous is not None and "comment" in previous.type:
            gap = self.text[self.end(previous) : self.start(below)]
            # Rust line comments end with their line break; others leave it in the gap.
            breaks = gap.count("\n") + self.node_text(previous).endswith("\n")
            if gap.strip() or breaks > 1:
                break
            text = self.node_text(previous)
            if not text.startswith(self.DOC_MARKERS) or (text.startswith("/*") and nodes):
                break
            nodes.insert(0, previous)
            if text.startswith("/*"):
                break  # one block comment is the whole doc comment
            below = previous
            previous = previous.prev_sibling
        if (
            nodes
            and self.text[
                line_start(self.text, self.start(nodes[0])) : self.start(nodes[0])
            ].strip()
        ):
            return []  # a trailing comment of the line above is not a doc comment
        return nodes

    def _doc_end(self, node: Node) -> int:
        """Where a doc comment ends, before the line break a Rust line comment includes."""
        end = self.end(node)
        while end > self.start(node) and self.text[end - 1] in "\r\n":
            end -= 1
        return end

    def _doc_text(self, nodes: list[Node]) -> str:
        """A doc comment's text without its markers."""
        first = self.node_text(nodes[0])
        if first.startswith("/*"):
            return clean_block_comment(first)
        lines = []
        for node in nodes:
            line = self.node_text(node).rstrip("\r\n")
            for marker in ("//!", "///", "//"):
                if line.startswith(marker):
                    line = line[len(marker) :]
                    break
            lines.append(line[1:] if line.startswith(" ") else line)
        return "\n".join(line.rstrip() for line in lines).strip()

    # ---- name lookup --------------------------------------------------------------------

    def definition_of(self, name: str, offset: int) -> Definition | None:
        """Where `name` is defined: parameters of enclosing functions, members of the
        enclosing type for `this.x`/`self.x`, then definitions (nearest before first)."""
        definitions = self.definitions()
        identifier = self.identifier_at(offset)
        receiver = identifier.receiver if identifier and identifier.name == name else None
        scopes = [d for d in definitions if d.start <= offset <= d.end]
        if receiver is not None:
            members = [d for d in definitions if d.name == name and d.container]
            owners = [d.container for d in scopes if d.container]
            preferred = [d for d in members if owners and d.container == owners[-1]]
            if receiver in self.SELF_WORDS or preferred:
                return (preferred or members)[0] if members else None
            return members[0] if members else None
        for scope in reversed(scopes):
            for parameter in scope.parameters:
                if parameter.name == name:
                    return self._parameter_definition(scope, parameter)
        named = [d for d in definitions if d.name == name]
        if not named:
            return None
        before = [d for d in named if d.name_start <= offset]
        return before[-1] if before else named[0]
