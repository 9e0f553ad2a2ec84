"""Java structure from tree-sitter-java: classes, interfaces, enums, records, methods and
constructors. The doc comment is the Javadoc `/** ... */` directly above a declaration.
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
    "abstract assert boolean break byte case catch char class const continue default do double "
    "else enum extends final finally float for goto if implements import instanceof int "
    "interface long native new package private protected public return short static strictfp "
    "super switch synchronized this throw throws transient try void volatile while true false "
    "null var record"
)


@cache
def language() -> Language:
    """The tree-sitter Java language (grammar imported on first use)."""
    import tree_sitter_java

    return Language(tree_sitter_java.language())


class JavaSource(BracedSource):
    """A parsed Java text."""

    IDENTIFIER_TYPES: ClassVar[frozenset[str]] = frozenset({"identifier", "type_identifier"})
    KEYWORDS: ClassVar[frozenset[str]] = _KEYWORDS
    ATTRIBUTE_NODE: ClassVar[str] = "field_access"
    ATTRIBUTE_FIELD: ClassVar[str] = "field"
    DEFINITIONS: ClassVar[dict[str, DefinitionKind]] = {
        "class_declaration": "class",
        "interface_declaration": "class",
        "enum_declaration": "class",
        "record_declaration": "class",
        "method_declaration": "function",
        "constructor_declaration": "function",
    }
    CALLS: ClassVar[dict[str, str]] = {"method_invocation": "name"}
    THROWS: ClassVar[frozenset[str]] = frozenset({"throw_statement"})
    DOC_MARKERS: ClassVar[tuple[str, ...]] = ("/**",)

    def __init__(self, text: str, tree: Tree) -> None:
        super().__init__(text, "java", tree)

    def parameters_of(self, node: Node) -> tuple[Parameter, ...]:
        params = node.child_by_field_name("parameters")
        out: list[Parameter] = []
        for item in params.named_children if params is not None else []:
            if item.type == "formal_parameter":
                name, kind = item.child_by_field_name("name"), item.child_by_field_name("type")
                if name is not None:
                    annotation = one_line(self.node_text(kind)) if kind is not None else None
                    out.append(Parameter(name=self.node_text(name), annotation=annotation))
            elif item.type == "spread_parameter":
                declarator = next(
                    (c for c in item.named_children if c.type == "variable_declarator"), None
                )
                name = declarator.child_by_field_name("name") if declarator else None
                if name is not None:
                    out.append(Parameter(name=self.node_text(name), kind="var_positional"))
        return tuple(out)

    def callee_name(self, call: Node, target: Node) -> str | None:
        """`Files.readString`, `prices.stream`: the receiver too, unless it is computed (a
        chain's `.map(...)` is named by its method alone)."""
        receiver = call.child_by_field_name("object")
        name = self.node_text(target)
        qualified = f"{one_line(self.node_text(receiver))}.{name}" if receiver else name
        return qualified if "(" not in qualified and "[" not in qualified else name

    def returns_of(self, node: Node) -> str | None:
        result = node.child_by_field_name("type") if node.type == "method_declaration" else None
        text = one_line(self.node_text(result)) if result is not None else None
        return None if text == "void" else text

    def declared_raises(self, node: Node) -> list[str]:
        throws = next((c for c in node.named_children if c.type == "throws"), None)
        return [self.node_text(c) for c in throws.named_children] if throws else []

    def raised(self, node: Node) -> str | None:
        thrown = node.named_children[0] if node.named_children else None
        if thrown is not None and thrown.type == "object_creation_expression":
            kind = thrown.child_by_field_name("type")
            return self.node_text(kind) if kind is not None else None
        return None
