"""Rust structure from tree-sitter-rust: functions, methods in `impl` and `trait` blocks,
structs, enums, traits.

A Rust doc comment is the run of `///` lines (or one `/** */`) directly above an item and
its attributes. What can panic (`panic!`, `unwrap()`...) is recorded in `raises` as the
call that panics, so a doc writer can add `# Panics`.
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
    "as async await break const continue crate dyn else enum extern false fn for if impl in "
    "let loop match mod move mut pub ref return self Self static struct super trait true type "
    "unsafe use where while"
)
_PANIC_MACROS = frozenset({"panic", "unreachable", "todo", "unimplemented", "assert", "assert_eq"})
_PANIC_METHODS = frozenset({"unwrap", "expect"})


@cache
def language() -> Language:
    """The tree-sitter Rust language (grammar imported on first use)."""
    import tree_sitter_rust

    return Language(tree_sitter_rust.language())


class RustSource(BracedSource):
    """A parsed Rust text."""

    IDENTIFIER_TYPES: ClassVar[frozenset[str]] = frozenset(
        {"identifier", "field_identifier", "type_identifier"}
    )
    KEYWORDS: ClassVar[frozenset[str]] = _KEYWORDS
    ATTRIBUTE_NODE: ClassVar[str] = "field_expression"
    ATTRIBUTE_FIELD: ClassVar[str] = "field"
    ATTRIBUTE_OBJECT: ClassVar[str] = "value"
    DEFINITIONS: ClassVar[dict[str, DefinitionKind]] = {
        "function_item": "function",
        "function_signature_item": "function",
        "struct_item": "class",
        "enum_item": "class",
        "union_item": "class",
        "trait_item": "class",
        "impl_item": "class",
    }
    TRANSPARENT: ClassVar[frozenset[str]] = frozenset({"mod_item"})
    CALLS: ClassVar[dict[str, str]] = {"call_expression": "function", "macro_invocation": "macro"}
    THROWS: ClassVar[frozenset[str]] = frozenset({"macro_invocation", "call_expression"})
    DOC_MARKERS: ClassVar[tuple[str, ...]] = ("///", "/**")
    LEADING: ClassVar[frozenset[str]] = frozenset({"attribute_item"})
    SELF_WORDS: ClassVar[frozenset[str]] = frozenset({"self"})

    def __init__(self, text: str, tree: Tree) -> None:
        super().__init__(text, "rust", tree)

    def name_node(self, node: Node) -> Node | None:
        """An `impl` block is named by the type it implements."""
        if node.type == "impl_item":
            kind = node.child_by_field_name("type")
            if kind is not None and kind.type == "generic_type":
                return kind.child_by_field_name("type") or kind
            return kind
        return super().name_node(node)

    def parameters_of(self, node: Node) -> tuple[Parameter, ...]:
        params = node.child_by_field_name("parameters")
        out: list[Parameter] = []
        for item in params.named_children if params is not None else []:
            if item.type != "parameter":
                continue  # `self`, attributes
            pattern, kind = item.child_by_field_name("pattern"), item.child_by_field_name("type")
            if pattern is None:
                continue
            name = self.node_text(pattern).removeprefix("mut ").strip()
            annotation = one_line(self.node_text(kind)) if kind is not None else None
            out.append(Parameter(name=name, annotation=annotation))
        return tuple(out)

    def returns_of(self, node: Node) -> str | None:
        result = node.child_by_field_name("return_type")
        return one_line(self.node_text(result)) if result is not None else None

    def raised(self, node: Node) -> str | None:
        """`panic!`-like macros and `.unwrap()`/`.expect()` calls: what may panic."""
        if node.type == "macro_invocation":
            macro = node.child_by_field_name("macro")
            name = self.node_text(macro) if macro is not None else ""
            return f"{name}!" if name in _PANIC_MACROS else None
        function = node.child_by_field_name("function")
        if function is not None and function.type == "field_expression":
            method = function.child_by_field_name("field")
            if method is not None and self.node_text(method) in _PANIC_METHODS:
                return f"{self.node_text(method)}()"
        return None
