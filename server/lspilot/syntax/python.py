"""Python structure from tree-sitter-python: definitions, parameters, docstrings.

One query over the whole tree finds definitions, calls, raises and yields at C speed; a
sweep with a stack of open definitions gives each call/raise/yield to the innermost
definition whose body holds it. Name lookup is `python_names`, the base class.
"""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache
from typing import Any

from tree_sitter import Language, Node, Query, QueryCursor, Tree

from lspilot.model import Parameter
from lspilot.syntax.model import Definition, DefinitionKind
from lspilot.syntax.offsets import indent_unit, leading_whitespace, line_start
from lspilot.syntax.python_names import DEFINITION_NODES, SELF_NAMES, Binding, PythonNames
from lspilot.syntax.source import one_line

_QUERY = """
(function_definition) @def
(class_definition) @def
(call function: [(identifier) (attribute)] @call)
(raise_statement) @raise
(yield) @yield
"""


@cache
def language() -> Language:
    """The tree-sitter Python language (grammar imported on first use)."""
    import tree_sitter_python

    return Language(tree_sitter_python.language())


@cache
def _query() -> Query:
    return Query(language(), _QUERY)


@cache
def _definition_query() -> Query:
    return Query(language(), "(function_definition) @def (class_definition) @def @class")


# A string literal with no escapes to decode: optional r/u prefix, one quote style, no backslash.
_PLAIN_LITERAL = re.compile(
    r"""[rRuU]?(?P<quote>\"\"\"|'''|"|')(?P<body>[^\\]*)(?P=quote)""", re.DOTALL
)


class PythonSource(PythonNames):
    """A parsed Python text."""

    def __init__(self, text: str, tree: Tree) -> None:
        super().__init__(text, "python", tree)
        self._by_node: dict[int, Definition] = {}
        self._inner: dict[int, Node] = {}  # definition start -> its def/class node
        self._bindings: dict[int, list[Binding]] = {}
        self._unit: str | None = None

    @property
    def unit(self) -> str:
        """One level of indentation in this file."""
        if self._unit is None:
            self._unit = indent_unit(self.text)
        return self._unit

    # ---- identifiers --------------------------------------------------------------------

    # ---- definitions --------------------------------------------------------------------

    def definition_at_node(self, node: Node) -> Definition | None:
        self.definitions()
        return self._by_node.get(node.id)

    def _build_definitions(self) -> list[Definition]:
        captures = QueryCursor(_query()).captures(self.root)
        defs, found, _ = self._sweep(captures)
        # Definitions built one by one before (hover, listing) are kept: same objects.
        definitions = [
            self._by_node.get(node.id) or self._definition(node, found[node.id]) for node in defs
        ]
        definitions.sort(key=lambda d: d.start)
        return definitions

    def _sweep(
        self, captures: dict[str, list[Node]]
    ) -> tuple[list[Node], dict[int, dict[str, Any]], list[str]]:
        """Each call, raise and yield given to the innermost definition whose body holds it."""
        defs = captures.get("def", [])
        events: list[tuple[int, int, str, Node]] = [(n.start_byte, 0, "def", n) for n in defs]
        for name in ("call", "raise", "yield"):
            events.extend((n.start_byte, 1, name, n) for n in captures.get(name, []))
        events.sort(key=lambda event: (event[0], event[1]))
        found: dict[int, dict[str, Any]] = {n.id: {"calls": [], "raises": [], "yields": False}
                                            for n in defs}  # fmt: skip
        module_calls: list[str] = []
        stack: list[Node] = []
        for start, _order, kind, node in events:
            while stack and stack[-1].end_byte <= start:
                stack.pop()
            if kind == "def":
                stack.append(node)
                continue
            owner = self._owner(stack, start)
            if kind == "call":
                name = self.node_text(node)
                if "(" not in name and "[" not in name:
                    target = found[owner.id]["calls"] if owner else module_calls
                    target.append(one_line(name))
            elif owner is not None and kind == "raise":
                found[owner.id]["raises"].extend(self._raised(node))
            elif owner is not None:
                found[owner.id]["yields"] = True
        return defs, found, module_calls

    # ---- one definition at a time (big files: hover and listing build only what they use)

    def definition_for(self, node: Node) -> Definition:
        """The Definition of one def/class node (or its decorated wrapper), built once."""
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition") or node
        known = self._by_node.get(node.id)
        if known is not None:
            return known
        # The same sweep as for the whole text, over this definition's subtree only.
        _, found, _ = self._sweep(QueryCursor(_query()).captures(node))
        return self._definition(node, found[node.id])

    def definitions_in(self, start: int, end: int) -> list[Definition]:
        """Definitions lying wholly within ``[start, end]``, in text order."""
        if self._definitions is not None:
            return super().definitions_in(start, end)
        cursor = QueryCursor(_definition_query())
        cursor.set_byte_range(self.offsets.byte(start), self.offsets.byte(end))
        found = [self.definition_for(n) for n in cursor.captures(self.root).get("def", [])]
        found.sort(key=lambda d: d.start)
        return [d for d in found if start <= d.start and d.end <= end]

    def classes(self) -> list[Definition]:
        """Every class of the text, in text order."""
        if self._definitions is not None:
            return super().classes()
        cursor = QueryCursor(_definition_query())
        found = [self.definition_for(n) for n in cursor.captures(self.root).get("class", [])]
        return sorted(found, key=lambda d: d.start)

    def is_doc_comment(self, start: int) -> bool:
        """Python documents with strings, never with comments."""
        return False

    @staticmethod
    def _owner(stack: list[Node], start: int) -> Node | None:
        """The innermost open definition whose *body* holds `start` (defaults run outside)."""
        for node in reversed(stack):
            body = node.child_by_field_name("body")
            if body is not None and body.start_byte <= start:
                return node
        return None

    def _raised(self, node: Node) -> list[str]:
        """Exception names raised by a raise statement (an `except ... as e` alias resolved)."""
        value = next(
            (c for i, c in enumerate(node.children) if c.is_named and
             node.field_name_for_child(i) != "cause" and c.type != "comment"),
            None,
        )  # fmt: skip
        if value is None:
            return []
        if value.type == "call":
            value = value.child_by_field_name("function") or value
        name = one_line(self.node_text(value))
        if value.type == "identifier":
            aliased = self._except_alias(node, name)
            if aliased is not None:
                return aliased
        if value.type not in ("identifier", "attribute") or not name.split(".")[-1][:1].isupper():
            return []  # `raise error` re-raises an instance: its class is not known here
        return [name]

    def _except_alias(self, node: Node, name: str) -> list[str] | None:
        parent = node.parent
        while parent is not None and parent.type not in DEFINITION_NODES:
            if parent.type == "except_clause":
                pattern = next((c for c in parent.named_children if c.type == "as_pattern"), None)
                alias = pattern.child_by_field_name("alias") if pattern else None
                if pattern is not None and alias is not None and self.node_text(alias) == name:
                    caught = pattern.named_children[0]
                    if caught.type == "tuple":
                        return [self.node_text(c) for c in caught.named_children]
                    return [one_line(self.node_text(caught))]
            parent = parent.parent
        return None

    def _definition(self, node: Node, found: dict[str, Any]) -> Definition:
        outer = node.parent if node.parent and node.parent.type == "decorated_definition" else node
        is_class = node.type == "class_definition"
        container = self._container(outer)
        in_class_body = (
            outer.parent is not None
            and outer.parent.type == "block"
            and outer.parent.parent is not None
            and outer.parent.parent.type == "class_definition"
        )
        kind: DefinitionKind = "class" if is_class else "method" if in_class_body else "function"
        name_node = node.child_by_field_name("name")
        name = self.node_text(name_node) if name_node else ""
        decorators = tuple(
            one_line(self.node_text(c))[1:].strip() for c in outer.children if c.type == "decorator"
        )
        is_async = any(c.type == "async" for c in node.children)
        start = self.start(outer)
        end = self.offsets.char(self._content_end(node, node.start_point.column))
        colon = next((c for c in node.children if c.type == ":" and not c.is_missing), None)
        header_node = colon or node.child_by_field_name("parameters") or name_node or node
        header_end = self.end(header_node)
        body = node.child_by_field_name("body")
        statements = [c for c in body.named_children if c.type != "comment"] if body else []
        body_start = self.start(statements[0]) if statements else header_end
        indent = leading_whitespace(self.text, start)
        if statements and line_start(self.text, body_start) > header_end:
            body_indent = leading_whitespace(self.text, body_start)
        else:
            body_indent = indent + self.unit
        doc_node = statements[0] if statements and self._is_docstring(statements[0]) else None
        type_params = node.child_by_field_name("type_parameters")
        generic = one_line(self.node_text(type_params)) if type_params else ""
        if is_class:
            bases = node.child_by_field_name("superclasses")
            signature = f"class {name}{generic}{one_line(self.node_text(bases)) if bases else ''}"
            parameters: tuple[Parameter, ...] = ()
            returns = None
        else:
            params = node.child_by_field_name("parameters")
            items = [c for c in params.named_children if c.type != "comment"] if params else []
            returns_node = node.child_by_field_name("return_type")
            returns = one_line(self.node_text(returns_node)) if returns_node else None
            signature = (
                f"{'async ' if is_async else ''}def {name}{generic}"
                f"({', '.join(one_line(self.node_text(p)) for p in items)})"
                f"{f' -> {returns}' if returns else ''}"
            )
            parameters = self._parameters(items)
            if (
                kind == "method"
                and "staticmethod" not in decorators
                and parameters
                and parameters[0].name in SELF_NAMES
                and parameters[0].kind == "positional"
            ):
                parameters = parameters[1:]
        definition = Definition(
            name=name,
            kind=kind,
            start=start,
            end=end,
            name_start=self.start(name_node) if name_node else start,
            name_end=self.end(name_node) if name_node else start,
            header_end=header_end,
            body_start=body_start,
            signature=signature,
            text=self.text[start:end],
            parameters=parameters,
            returns=returns,
            raises=tuple(dict.fromkeys(found["raises"])),
            yields=found["yields"],
            attributes=self._attributes(node) if is_class else (),
            calls=tuple(dict.fromkeys(found["calls"])),
            docstring=self._clean_docstring(doc_node) if doc_node else None,
            docstring_start=self.start(doc_node) if doc_node else None,
            docstring_end=self.end(doc_node) if doc_node else None,
            is_async=is_async,
            decorators=decorators,
            indent=indent,
            body_indent=body_indent,
            container=container,
        )
        self._by_node[outer.id] = definition
        self._by_node[node.id] = definition
        self._inner[start] = node
        return definition

    def class_body_nodes(self, definition: Definition) -> list[Node]:
        """Statements directly in a class body, comments left out."""
        node = self._inner.get(definition.start)
        body = node.child_by_field_name("body") if node is not None else None
        return [c for c in body.named_children if c.type != "comment"] if body else []

    def _container(self, node: Node) -> str | None:
        parent = node.parent
        while parent is not None:
            if parent.type == "class_definition":
                name = parent.child_by_field_name("name")
                return self.node_text(name) if name else None
            parent = parent.parent
        return None

    @staticmethod
    def _content_end(node: Node, column: int) -> int:
        """End of `node` without trailing comments dedented to the definition's level, which
        tree-sitter may leave inside the body although they belong to what follows."""
        while node.children:
            children = [
                c
                for c in node.children
                if not (c.type == "comment" and c.start_point.column <= column)
            ]
            if not children:
                return node.start_byte
            node = children[-1]
        return node.end_byte

    def _parameters(self, items: list[Node]) -> tuple[Parameter, ...]:
        out: list[Parameter] = []
        keyword_only = False
        for item in items:
            kind = "keyword" if keyword_only else "positional"
            annotation = default = None
            node = item
            if item.type in ("typed_parameter", "typed_default_parameter", "default_parameter"):
                type_node = item.child_by_field_name("type")
                value = item.child_by_field_name("value")
                annotation = one_line(self.node_text(type_node)) if type_node else None
                default = one_line(self.node_text(value)) if value else None
                node = item.child_by_field_name("name") or item.named_children[0]
            if node.type == "list_splat_pattern":
                kind, keyword_only = "var_positional", True
                node = node.named_children[0] if node.named_children else node
            elif node.type == "dictionary_splat_pattern":
                kind = "var_keyword"
                node = node.named_children[0] if node.named_children else node
            elif item.type == "keyword_separator":
                keyword_only = True
                continue
            if node.type != "identifier":
                continue  # '/' separators, tuple patterns, error debris
            out.append(
                Parameter(
                    name=self.node_text(node),
                    annotation=annotation,
                    default=default,
                    kind=kind,  # type: ignore[arg-type]
                )
            )
        return tuple(out)

    def _is_docstring(self, statement: Node) -> bool:
        if statement.type != "expression_statement" or statement.named_child_count != 1:
            return False
        string = statement.named_children[0]
        if string.type != "string":
            return False
        # From our text, not `Node.text`: for a big text parsed in slices that would call the
        # parser's read callback again, long after the parse (see lspilot.syntax._tree).
        prefix = self.node_text(string.children[0]) if string.children else ""
        return not any(letter in prefix.lower() for letter in "fb")

    def _clean_docstring(self, statement: Node) -> str:
        literal = self.node_text(statement).strip()
        # Most docstrings are plain literals: read them without compiling (ast.literal_eval
        # per definition per version was the biggest cost of hover and listing while typing).
        plain = _PLAIN_LITERAL.fullmatch(literal)
        if plain is not None and plain["quote"] not in plain["body"]:
            body = plain["body"].replace("\r\n", "\n").replace("\r", "\n")  # as compile() reads it
            return inspect.cleandoc(body)
        try:
            value = ast.literal_eval(literal)
        except (SyntaxError, ValueError):
            # Unterminated or odd literal while typing: fall back to the raw content.
            value = "".join(
                self.node_text(c) for c in statement.named_children[0].children
                if c.type == "string_content"
            )  # fmt: skip
        return inspect.cleandoc(value) if isinstance(value, str) else ""

    def _attributes(self, node: Node) -> tuple[str, ...]:
        """Names assigned in the class body and `self.x = ...` in `__init__`."""
        names: list[str] = []
        body = node.child_by_field_name("body")
        for statement in body.named_children if body else []:
            target = self._assignment(statement)
            if target is not None:
                names.extend(self._target_names(target.child_by_field_name("left")))
            inner = statement
            if inner.type == "decorated_definition":
                inner = inner.child_by_field_name("definition") or inner
            name = inner.child_by_field_name("name")
            if inner.type == "function_definition" and name and self.node_text(name) == "__init__":
                names.extend(self._self_assignments(inner))
        return tuple(dict.fromkeys(names))

    def _self_assignments(self, function: Node) -> list[str]:
        names = []
        stack = [function.child_by_field_name("body")]
        while stack:
            node = stack.pop()
            if node is None or node.type in DEFINITION_NODES:
                continue
            if node.type == "assignment":
                left = node.child_by_field_name("left")
                targets = left.named_children if left and left.type == "pattern_list" else [left]
                for target in targets:
                    obj = target.child_by_field_name("object") if target else None
                    attr = target.child_by_field_name("attribute") if target else None
                    if (
                        target
                        and target.type == "attribute"
                        and obj
                        and attr
                        and (self.node_text(obj) == "self")
                    ):
                        names.append((target.start_byte, self.node_text(attr)))
            stack.extend(node.named_children)
        return [name for _, name in sorted(names)]

    @staticmethod
    def _assignment(statement: Node) -> Node | None:
        if statement.type == "expression_statement" and statement.named_children:
            child = statement.named_children[0]
            if child.type == "assignment":
                return child
        return None

    def _target_names(self, target: Node | None) -> list[str]:
        if target is None:
            return []
        if target.type == "identifier":
            return [self.node_text(target)]
        if target.type in ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list"):
            return [n for c in target.named_children for n in self._target_names(c)]
        return []

    def calls_in(self, start: int, end: int) -> list[str]:
        """Names called between two offsets, deduplicated, in order."""
        cursor = QueryCursor(_query())
        cursor.set_byte_range(self.offsets.byte(start), self.offsets.byte(end))
        ordered = sorted(
            cursor.captures(self.root).get("call", []), key=lambda node: node.start_byte
        )
        names = [one_line(self.node_text(n)) for n in ordered]
        return list(dict.fromkeys(n for n in names if "(" not in n and "[" not in n))
