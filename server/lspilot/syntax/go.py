"""Go structure from tree-sitter-go: functions, methods (named by receiver type), types.

A Go doc comment is the run of `//` lines directly above a declaration, starting with the
declared name.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from tree_sitter import Language, Node, Tree

from lspilot.model import Parameter
from lspilot.syntax.braced import BracedSource
from lspilot.syntax.model import DefinitionKind
from lspilot.syntax.source import keywords, one_line

_KEYWORDS = keywords(
    "break case chan const continue default defer else fallthrough for func go goto if import "
    "interface map package range return select struct switch type var nil true false iota"
)


@cache
def language() -> Language:
    """The tree-sitter Go language (grammar imported on first use)."""
    import tree_sitter_go

    return Language(tree_sitter_go.language())


class GoSource(BracedSource):
    """A parsed Go text."""

    IDENTIFIER_TYPES: ClassVar[frozenset[str]] = frozenset(
        {"identifier", "field_identifier", "type_identifier", "package_identifier"}
    )
    KEYWORDS: ClassVar[frozenset[str]] = _KEYWORDS
    BLOCK_COMMENT: ClassVar[str | None] = "/*"
    ATTRIBUTE_NODE: ClassVar[str] = "selector_expression"
    ATTRIBUTE_FIELD: ClassVar[str] = "field"
    ATTRIBUTE_OBJECT: ClassVar[str] = "operand"
    DEFINITIONS: ClassVar[dict[str, DefinitionKind]] = {
        "function_declaration": "function",
        "method_declaration": "function",
        "type_spec": "class",
    }
    DOC_MARKERS: ClassVar[tuple[str, ...]] = ("//", "/*")
    WRAPPERS: ClassVar[frozenset[str]] = frozenset({"type_declaration"})

    def __init__(self, text: str, tree: Tree) -> None:
        super().__init__(text, "go", tree)

    def _outer(self, node: Node) -> Node:
        # `type ( A struct{}; B struct{} )`: each spec keeps its own comment.
        parent = node.parent
        if node.type == "type_spec" and parent is not None and parent.named_child_count > 1:
            return node
        return super()._outer(node)

    def body_of(self, node: Node) -> Node | None:
        if node.type == "type_spec":
            kind = node.child_by_field_name("type")
            if kind is not None and kind.type in ("struct_type", "interface_type"):
                return next((c for c in kind.named_children if "list" in c.type), kind)
            return None
        return node.child_by_field_name("body")

    def _container(self, outer: Node) -> str | None:
        """A method belongs to its receiver's type."""
        receiver = outer.child_by_field_name("receiver")
        if outer.type != "method_declaration" or receiver is None:
            return None
        for declaration in receiver.named_children:
            kind = declaration.child_by_field_name("type")
            if kind is not None:
                text = self.node_text(kind).lstrip("*")
                return text.split("[", 1)[0]
        return None

    def parameters_of(self, node: Node) -> tuple[Parameter, ...]:
        params = node.child_by_field_name("parameters")
        out: list[Parameter] = []
        for item in params.named_children if params is not None else []:
            kind = item.child_by_field_name("type")
            annotation = one_line(self.node_text(kind)) if kind is not None else None
            variadic = item.type == "variadic_parameter_declaration"
            for name in item.children_by_field_name("name"):
                out.append(
                    Parameter(
                        name=self.node_text(name),
                        annotation=f"...{annotation}" if variadic and annotation else annotation,
                        kind="var_positional" if variadic else "positional",
                    )
                )
        return tuple(out)

    def returns_of(self, node: Node) -> str | None:
        result = node.child_by_field_name("result")
        return one_line(self.node_text(result)) if result is not None else None
