"""JavaScript structure from tree-sitter-javascript: definitions, JSDoc, comments.

Definitions are function declarations, classes, methods and arrow functions or function
expressions assigned to a variable. The doc comment of a definition is the `/** ... */`
comment right above it.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, ClassVar

from tree_sitter import Language, Node, Query, QueryCursor, Tree

from lspilot.model import Parameter
from lspilot.syntax.model import Definition, DefinitionKind
from lspilot.syntax.offsets import indent_unit, leading_whitespace, line_start
from lspilot.syntax.source import Source, clean_block_comment, one_line

_QUERY = """
(function_declaration) @def
(generator_function_declaration) @def
(class_declaration) @def
(method_definition) @def
(variable_declarator value: [(arrow_function) (function_expression)]) @def
(call_expression function: [(identifier) (member_expression)] @call)
(throw_statement) @raise
(yield_expression) @yield
(variable_declarator name: (identifier) @binding)
(import_specifier alias: (identifier) @binding)
(import_specifier name: (identifier) @binding !alias)
(import_clause (identifier) @binding)
(namespace_import (identifier) @binding)
"""

_FUNCTIONS = frozenset(
    {"function_declaration", "generator_function_declaration", "method_definition",
     "arrow_function", "function_expression", "class_declaration"}
)  # fmt: skip
_RESERVED = frozenset(
    {
        "break",
        "case",
        "catch",
        "class",
        "const",
        "continue",
        "debugger",
        "default",
        "delete",
        "do",
        "else",
        "export",
        "extends",
        "false",
        "finally",
        "for",
        "function",
        "if",
        "import",
        "in",
        "instanceof",
        "new",
        "null",
        "return",
        "super",
        "switch",
        "this",
        "throw",
        "true",
        "try",
        "typeof",
        "var",
        "void",
        "while",
        "with",
        "yield",
        "let",
        "static",
        "await",
        "async",
        "undefined",
    }
)


@cache
def language() -> Language:
    """The tree-sitter JavaScript language (grammar imported on first use)."""
    import tree_sitter_javascript

    return Language(tree_sitter_javascript.language())


@cache
def _query() -> Query:
    return Query(language(), _QUERY)


clean_jsdoc = clean_block_comment  # the name this module always had


def _thrown_class(throw: Node) -> Node | None:
    """The class a `throw` statement visibly throws: `throw new X(...)` or `throw X(...)`
    (a capitalised callee, as `Error(...)` is called without `new`). None for `throw err`
    or `throw this.failure`: an instance whose class the tree cannot tell, so the offline
    engine writes no `@throws {err}` for it."""
    thrown = throw.named_children[0] if throw.named_children else None
    if thrown is None or thrown.type not in ("new_expression", "call_expression"):
        return None
    field = "constructor" if thrown.type == "new_expression" else "function"
    callee = thrown.child_by_field_name(field)
    if callee is None or callee.type not in ("identifier", "member_expression"):
        return None
    last = callee.child_by_field_name("property") if callee.type == "member_expression" else callee
    name = last.text.decode("utf-8", "replace") if last is not None and last.text else ""
    if thrown.type == "call_expression" and not name[:1].isupper():
        return None  # `throw makeError()`: what a factory returns is not known here
    return callee


class JavaScriptSource(Source):
    """A parsed JavaScript text."""

    IDENTIFIER_TYPES: ClassVar[frozenset[str]] = frozenset(
        {
            "identifier",
            "property_identifier",
            "shorthand_property_identifier",
            "shorthand_property_identifier_pattern",
            "private_property_identifier",
        }
    )
    KEYWORDS: ClassVar[frozenset[str]] = _RESERVED
    LINE_COMMENT: ClassVar[str] = "//"
    BLOCK_COMMENT: ClassVar[str | None] = "/*"
    ATTRIBUTE_NODE: ClassVar[str] = "member_expression"
    ATTRIBUTE_FIELD: ClassVar[str] = "property"

    #: Definition node types that are classes (TypeScript adds interfaces...).
    CLASS_TYPES: ClassVar[frozenset[str]] = frozenset({"class_declaration"})

    def __init__(self, text: str, tree: Tree, language: str = "javascript") -> None:
        super().__init__(text, language, tree)
        self._by_node: dict[int, Definition] = {}
        self._inner: dict[int, Node] = {}
        self._binding_nodes: list[Node] = []

    # ---- definitions --------------------------------------------------------------------

    def definition_at_node(self, node: Node) -> Definition | None:
        self.definitions()
        return self._by_node.get(node.id)

    def class_body_nodes(self, definition: Definition) -> list[Node]:
        """Members of a class body, comments left out."""
        node = self._inner.get(definition.start)
        body = node.child_by_field_name("body") if node is not None else None
        return [c for c in body.named_children if c.type != "comment"] if body else []

    @staticmethod
    def _function_of(node: Node) -> Node:
        """The function node of a definition (the arrow function of `const f = () => ...`)."""
        if node.type == "variable_declarator":
            return node.child_by_field_name("value") or node
        return node

    def _build_definitions(self) -> list[Definition]:
        captures = QueryCursor(self._grammar_query()).captures(self.root)
        defs = sorted(captures.get("def", []), key=lambda n: n.start_byte)
        self._binding_nodes = sorted(captures.get("binding", []), key=lambda n: n.start_byte)
        events: list[tuple[int, int, str, Node]] = [(n.start_byte, 0, "def", n) for n in defs]
        for name in ("call", "raise", "yield"):
            events.extend((n.start_byte, 1, name, n) for n in captures.get(name, []))
        events.sort(key=lambda event: (event[0], event[1]))
        found: dict[int, dict[str, Any]] = {
            n.id: {"calls": [], "raises": [], "yields": False} for n in defs
        }
        stack: list[Node] = []
        for start, _order, kind, node in events:
            while stack and stack[-1].end_byte <= start:
                stack.pop()
            if kind == "def":
                stack.append(node)
                continue
            owner = next(
                (
                    d
                    for d in reversed(stack)
                    if (body := self._function_of(d).child_by_field_name("body")) is not None
                    and body.start_byte <= start
                ),
                None,
            )
            if owner is None:
                continue
            if kind == "call":
                name = one_line(self.node_text(node))
                if "(" not in name and "[" not in name:
                    found[owner.id]["calls"].append(name)
            elif kind == "raise":
                thrown = _thrown_class(node)
                if thrown is not None:
                    found[owner.id]["raises"].append(self.node_text(thrown))
            else:
                found[owner.id]["yields"] = True
        return [self._definition(n, found[n.id]) for n in defs]

    def _grammar_query(self) -> Query:
        """The definitions query, compiled for this source's grammar."""
        return _query()

    def _returns(self, function: Node) -> str | None:
        """The declared return type (TypeScript); JavaScript declares none."""
        return None

    def _outer(self, node: Node) -> Node:
        """The statement to attach docs to: `export ...`, `const f = ...`."""
        outer = node
        # `const f = () => {}` alone in its declaration: the declaration is the definition.
        if (
            node.type == "variable_declarator"
            and node.parent is not None
            and node.parent.named_child_count == 1
        ):
            outer = node.parent
        if outer.parent is not None and outer.parent.type == "export_statement":
            outer = outer.parent
        return outer

    def _definition(self, node: Node, found: dict[str, Any]) -> Definition:
        outer = self._outer(node)
        function = self._function_of(node)
        kind: DefinitionKind = (
            "class"
            if node.type in self.CLASS_TYPES
            else "method"
            if node.type == "method_definition"
            else "function"
        )
        name_node = node.child_by_field_name("name")
        name = self.node_text(name_node) if name_node else ""
        start, end = self.start(outer), self.end(outer)
        body = function.child_by_field_name("body")
        header_end = self.start(body) + 1 if body is not None else end
        statements = [c for c in body.named_children if c.type != "comment"] if body else []
        if body is not None and body.type not in ("statement_block", "class_body"):
            statements, header_end = [body], self.start(body)
        body_start = self.start(statements[0]) if statements else header_end
        indent = leading_whitespace(self.text, start)
        if statements and line_start(self.text, body_start) > header_end:
            body_indent = leading_whitespace(self.text, body_start)
        else:
            body_indent = indent + indent_unit(self.text)
        header = self.text[start : self.start(body) if body is not None else end]
        header = re.sub(r"^export\s+(default\s+)?", "", header)
        doc = self._doc_comment(outer)
        definition = Definition(
            name=name,
            kind=kind,
            start=start,
            end=end,
            name_start=self.start(name_node) if name_node else start,
            name_end=self.end(name_node) if name_node else start,
            header_end=header_end,
            body_start=body_start,
            signature=one_line(header).removesuffix("=>").strip(),
            text=self.text[start:end],
            parameters=self._parameters(function.child_by_field_name("parameters")),
            returns=self._returns(function),
            raises=tuple(dict.fromkeys(found["raises"])),
            yields=found["yields"],
            attributes=self._attributes(node) if kind == "class" else (),
            calls=tuple(dict.fromkeys(found["calls"])),
            docstring=clean_jsdoc(self.node_text(doc)) if doc else None,
            docstring_start=self.start(doc) if doc else None,
            docstring_end=self.end(doc) if doc else None,
            is_async=any(c.type == "async" for c in function.children),
            indent=indent,
            body_indent=body_indent,
            container=self._container(outer),
        )
        self._by_node[outer.id] = definition
        self._by_node[node.id] = definition
        self._inner[start] = node
        return definition

    def _doc_comment(self, outer: Node) -> Node | None:
        previous = outer.prev_sibling
        if previous is None or previous.type != "comment":
            return None
        if not self.node_text(previous).startswith("/**"):
            return None
        between = self.text[self.end(previous) : self.start(outer)]
        return previous if not between.strip() and between.count("\n") <= 1 else None

    def _container(self, node: Node) -> str | None:
        parent = node.parent
        while parent is not None:
            if parent.type in self.CLASS_TYPES or parent.type == "class":
                name = parent.child_by_field_name("name")
                return self.node_text(name) if name else None
            parent = parent.parent
        return None

    def _parameters(self, params: Node | None) -> tuple[Parameter, ...]:
        out = []
        for item in params.named_children if params else []:
            if item.type == "identifier":
                out.append(Parameter(name=self.node_text(item)))
            elif item.type == "assignment_pattern":
                left, right = item.child_by_field_name("left"), item.child_by_field_name("right")
                out.append(
                    Parameter(
                        name=one_line(self.node_text(left)) if left else "",
                        default=one_line(self.node_text(right)) if right else None,
                    )
                )
            elif item.type == "rest_pattern":
                inner = item.named_children[0] if item.named_children else item
                out.append(Parameter(name=self.node_text(inner), kind="var_positional"))
            elif item.type in ("object_pattern", "array_pattern"):
                out.append(Parameter(name=one_line(self.node_text(item))))
        return tuple(out)

    def _attributes(self, node: Node) -> tuple[str, ...]:
        names = []
        body = node.child_by_field_name("body")
        for member in body.named_children if body else []:
            prop = member.child_by_field_name("property")
            if member.type in ("field_definition", "public_field_definition") and prop:
                names.append(self.node_text(prop))
            name = member.child_by_field_name("name")
            if (
                member.type == "method_definition"
                and name
                and self.node_text(name) == "constructor"
            ):
                stack = [member.child_by_field_name("body")]
                while stack:
                    current = stack.pop()
                    if current is None or current.type in _FUNCTIONS:
                        continue
                    left = current.child_by_field_name("left")
                    if current.type == "assignment_expression" and left is not None:
                        obj = left.child_by_field_name("object")
                        attr = left.child_by_field_name("property")
                        if obj is not None and obj.type == "this" and attr is not None:
                            names.append(self.node_text(attr))
                    stack.extend(reversed(current.named_children))
        return tuple(dict.fromkeys(names))

    # ---- name lookup --------------------------------------------------------------------

    def definition_of(self, name: str, offset: int) -> Definition | None:
        """Where `name` is defined: parameters of enclosing functions, `this.` members of
        the enclosing class, then definitions and declarations, nearest scope first."""
        definitions = self.definitions()
        identifier = self.identifier_at(offset)
        receiver = identifier.receiver if identifier and identifier.name == name else None
        scopes = [d for d in definitions if d.start <= offset <= d.end]
        if receiver is not None:
            classes = [d for d in scopes if d.kind == "class"]
            owner = classes[-1].name if receiver == "this" and classes else None
            members = [d for d in definitions if d.name == name and d.container]
            preferred = [d for d in members if d.container == owner]
            return (preferred or members)[0] if members else None
        for scope in reversed(scopes):
            if scope.kind == "class":
                continue
            for parameter in scope.parameters:
                if parameter.name == name:
                    return self._parameter_definition(scope, parameter)
        candidates: list[tuple[int, Definition]] = []
        for definition in definitions:
            if definition.name == name and definition.kind != "method":
                candidates.append((self._scope_depth(definition.start, scopes), definition))
        for node in self._binding_nodes:
            if self.node_text(node) == name and self.start(node) not in {
                d.name_start for _, d in candidates
            }:
                simple = self._simple(node)
                candidates.append((self._scope_depth(simple.start, scopes), simple))
        visible = [c for c in candidates if c[0] >= 0]
        if not visible:
            return None
        depth = max(c[0] for c in visible)
        nearest = [d for c_depth, d in visible if c_depth == depth]
        before = [d for d in nearest if d.name_start <= offset]
        return before[-1] if before else nearest[0]

    @staticmethod
    def _scope_depth(position: int, scopes: list[Definition]) -> int:
        """How deep among the offset's enclosing scopes `position` sits (-1: elsewhere)."""
        depth = 0
        for index, scope in enumerate(scopes, start=1):
            if scope.kind != "class" and scope.header_end <= position <= scope.end:
                depth = index
        return depth

    def _simple(self, name_node: Node) -> Definition:
        statement = name_node
        while statement.parent is not None and statement.type not in (
            "lexical_declaration",
            "variable_declaration",
            "import_statement",
        ):
            statement = statement.parent
        if statement.parent is None:
            statement = name_node
        kind: DefinitionKind = "import" if statement.type == "import_statement" else "variable"
        start, end = self.start(statement), self.end(statement)
        text = self.text[start:end]
        return Definition(
            name=self.node_text(name_node),
            kind=kind,
            start=start,
            end=end,
            name_start=self.start(name_node),
            name_end=self.end(name_node),
            header_end=end,
            body_start=end,
            signature=one_line(text) if len(text) < 200 else text.split("\n", 1)[0] + " …",
            text=text,
            indent=leading_whitespace(self.text, start),
            container=self._container(statement),
        )
