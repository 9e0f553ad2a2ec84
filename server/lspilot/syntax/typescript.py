"""TypeScript and TSX structure: JavaScript's (javascript.py) on the TypeScript grammars, with
typed parameters, return types, interfaces and abstract classes.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from tree_sitter import Language, Node, Query, Tree

from lspilot.model import Parameter
from lspilot.syntax.javascript import _QUERY, JavaScriptSource
from lspilot.syntax.source import one_line

_TS_QUERY = (
    _QUERY
    + """
(abstract_class_declaration) @def
(interface_declaration) @def
(method_signature) @def
(abstract_method_signature) @def
"""
)


@cache
def language(tsx: bool = False) -> Language:
    """The tree-sitter TypeScript (or TSX) language (grammar imported on first use)."""
    import tree_sitter_typescript

    grammar = (
        tree_sitter_typescript.language_tsx if tsx else tree_sitter_typescript.language_typescript
    )
    return Language(grammar())


@cache
def _query(tsx: bool) -> Query:
    return Query(language(tsx), _TS_QUERY)


def _type_text(annotation: Node | None, source: JavaScriptSource) -> str | None:
    """`: number` -> `number`."""
    if annotation is None:
        return None
    return one_line(source.node_text(annotation)).removeprefix(":").strip() or None


class TypeScriptSource(JavaScriptSource):
    """A parsed TypeScript or TSX text."""

    IDENTIFIER_TYPES: ClassVar[frozenset[str]] = JavaScriptSource.IDENTIFIER_TYPES | frozenset(
        {"type_identifier"}
    )
    CLASS_TYPES: ClassVar[frozenset[str]] = frozenset(
        {"class_declaration", "abstract_class_declaration", "interface_declaration"}
    )

    def __init__(self, text: str, tree: Tree, language: str = "typescript") -> None:
        super().__init__(text, tree, language)

    def _grammar_query(self) -> Query:
        return _query(self.language == "tsx")

    def _returns(self, function: Node) -> str | None:
        return _type_text(function.child_by_field_name("return_type"), self)

    def _parameters(self, params: Node | None) -> tuple[Parameter, ...]:
        out = []
        for item in params.named_children if params else []:
            if item.type not in ("required_parameter", "optional_parameter"):
                continue  # `this: T` and comments
            pattern = item.child_by_field_name("pattern")
            if pattern is None:
                continue
            value = item.child_by_field_name("value")
            rest = pattern.type == "rest_pattern"
            if rest and pattern.named_children:
                pattern = pattern.named_children[0]
            name = one_line(self.node_text(pattern))
            if name == "this":
                continue
            out.append(
                Parameter(
                    name=name,
                    annotation=_type_text(item.child_by_field_name("type"), self),
                    default=one_line(self.node_text(value)) if value is not None else None,
                    kind="var_positional" if rest else "positional",
                )
            )
        return tuple(out)
