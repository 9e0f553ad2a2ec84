"""C and C++ structure from tree-sitter-c and tree-sitter-cpp: functions, methods, structs,
unions, enums, classes (and `typedef struct {...} Name;`).

A function's name and parameters sit in its declarator chain (`*f(int a)` is a pointer
declarator around a function declarator); the doc comment is the Doxygen `/** ... */` or
run of `///` lines directly above.
"""

from __future__ import annotations

from functools import cache
from typing import ClassVar

from tree_sitter import Language, Node, Tree

from lspilot.model import Parameter
from lspilot.syntax.braced import BracedSource
from lspilot.syntax.model import DefinitionKind
from lspilot.syntax.source import keywords, one_line

_C_KEYWORDS = keywords(
    "auto break case char const continue default do double else enum extern float for goto if "
    "inline int long register restrict return short signed sizeof static struct switch "
    "typedef union unsigned void volatile while NULL true false"
)
_CPP_KEYWORDS = _C_KEYWORDS | keywords(
    "bool catch class constexpr delete explicit friend mutable namespace new noexcept nullptr "
    "operator private protected public template this throw try typename using virtual"
)
_TYPES = ("struct_specifier", "union_specifier", "enum_specifier", "class_specifier")


@cache
def c_language() -> Language:
    """The tree-sitter C language (grammar imported on first use)."""
    import tree_sitter_c

    return Language(tree_sitter_c.language())


@cache
def cpp_language() -> Language:
    """The tree-sitter C++ language (grammar imported on first use)."""
    import tree_sitter_cpp

    return Language(tree_sitter_cpp.language())


class CSource(BracedSource):
    """A parsed C text."""

    IDENTIFIER_TYPES: ClassVar[frozenset[str]] = frozenset(
        {"identifier", "field_identifier", "type_identifier"}
    )
    KEYWORDS: ClassVar[frozenset[str]] = _C_KEYWORDS
    ATTRIBUTE_NODE: ClassVar[str] = "field_expression"
    ATTRIBUTE_FIELD: ClassVar[str] = "field"
    ATTRIBUTE_OBJECT: ClassVar[str] = "argument"
    DEFINITIONS: ClassVar[dict[str, DefinitionKind]] = {
        "function_definition": "function",
        "struct_specifier": "class",
        "union_specifier": "class",
        "enum_specifier": "class",
        "type_definition": "class",
    }
    DOC_MARKERS: ClassVar[tuple[str, ...]] = ("/**", "///", "/*!", "//!")

    def __init__(self, text: str, tree: Tree, language: str = "c") -> None:
        super().__init__(text, language, tree)

    def keep(self, node: Node) -> bool:
        if node.type == "type_definition":  # typedef struct { ... } Name;
            kind = node.child_by_field_name("type")
            return (
                kind is not None
                and kind.type in _TYPES
                and kind.child_by_field_name("body") is not None
            )
        if node.type in _TYPES:
            parent = node.parent
            named = node.child_by_field_name("name") is not None
            has_body = node.child_by_field_name("body") is not None
            return named and has_body and (parent is None or parent.type != "type_definition")
        return True

    def _outer(self, node: Node) -> Node:
        outer = super()._outer(node)
        parent = outer.parent
        # `struct P { ... };` is a declaration around the specifier: its comment is above both.
        if outer.type in _TYPES and parent is not None and parent.type == "declaration":
            return parent
        return outer

    def _declarator(self, node: Node) -> Node | None:
        """The function declarator of a function definition."""
        declarator = node.child_by_field_name("declarator")
        while declarator is not None and declarator.type != "function_declarator":
            declarator = declarator.child_by_field_name("declarator")
        return declarator

    def name_node(self, node: Node) -> Node | None:
        if node.type == "type_definition":
            return node.child_by_field_name("declarator")
        if node.type != "function_definition":
            return node.child_by_field_name("name")
        declarator = self._declarator(node)
        name = declarator.child_by_field_name("declarator") if declarator is not None else None
        if name is not None and name.type == "qualified_identifier":
            inner = name.child_by_field_name("name")
            return inner if inner is not None else name
        return name

    def body_of(self, node: Node) -> Node | None:
        if node.type == "type_definition":
            kind = node.child_by_field_name("type")
            return kind.child_by_field_name("body") if kind is not None else None
        return node.child_by_field_name("body")

    def _container(self, outer: Node) -> str | None:
        found = super()._container(outer)
        if found is not None or outer.type != "function_definition":
            return found
        # `int Account::deposit(...)` outside the class: its scope is the container.
        declarator = self._declarator(outer)
        name = declarator.child_by_field_name("declarator") if declarator is not None else None
        if name is not None and name.type == "qualified_identifier":
            return self.node_text(name).rsplit("::", 1)[0]
        return None

    def parameters_of(self, node: Node) -> tuple[Parameter, ...]:
        declarator = self._declarator(node) if node.type == "function_definition" else None
        params = declarator.child_by_field_name("parameters") if declarator else None
        out: list[Parameter] = []
        for item in params.named_children if params is not None else []:
            if item.type == "variadic_parameter":
                out.append(Parameter(name="...", kind="var_positional"))
                continue
            if "parameter_declaration" not in item.type:
                continue
            inner = item.child_by_field_name("declarator")
            name = inner
            while name is not None and name.type not in ("identifier", "field_identifier"):
                name = name.child_by_field_name("declarator") or (
                    name.named_children[-1] if name.named_children else None
                )
            if name is None:
                continue  # `void`, or an unnamed parameter
            full = one_line(self.node_text(item))
            annotation = full[: full.rfind(self.node_text(name))].strip() or None
            default = item.child_by_field_name("default_value")
            out.append(
                Parameter(
                    name=self.node_text(name),
                    annotation=annotation,
                    default=self.node_text(default) if default is not None else None,
                )
            )
        return tuple(out)

    def returns_of(self, node: Node) -> str | None:
        if node.type != "function_definition":
            return None
        kind = node.child_by_field_name("type")
        if kind is None:
            return None  # constructors, destructors
        text = self.node_text(kind)
        declarator = node.child_by_field_name("declarator")
        while declarator is not None and declarator.type != "function_declarator":
            if declarator.type == "pointer_declarator":
                text += "*"
            elif declarator.type == "reference_declarator":
                text += "&"
            declarator = declarator.child_by_field_name("declarator") or (
                declarator.named_children[0] if declarator.named_children else None
            )
        return None if text == "void" else text


class CppSource(CSource):
    """A parsed C++ text."""

    IDENTIFIER_TYPES: ClassVar[frozenset[str]] = CSource.IDENTIFIER_TYPES | frozenset(
        {"namespace_identifier"}
    )
    KEYWORDS: ClassVar[frozenset[str]] = _CPP_KEYWORDS
    DEFINITIONS: ClassVar[dict[str, DefinitionKind]] = {
        **CSource.DEFINITIONS,
        "class_specifier": "class",
    }
    WRAPPERS: ClassVar[frozenset[str]] = frozenset({"template_declaration"})
    TRANSPARENT: ClassVar[frozenset[str]] = frozenset(
        {"namespace_definition", "linkage_specification"}
    )
    THROWS: ClassVar[frozenset[str]] = frozenset({"throw_statement"})
    SELF_WORDS: ClassVar[frozenset[str]] = frozenset({"this"})

    def __init__(self, text: str, tree: Tree) -> None:
        super().__init__(text, tree, "cpp")

    def raised(self, node: Node) -> str | None:
        """The type a `throw` visibly constructs: `throw T(...)`, `throw T{...}`, `throw new
        T` (a `T*`). None for `throw e;` or `throw 42;`: a value whose type the tree cannot
        tell, so the offline engine writes no `@throws e` for it."""
        thrown = node.named_children[0] if node.named_children else None
        if thrown is None:
            return None  # `throw;` rethrows what was caught
        if thrown.type == "call_expression":
            callee = thrown.child_by_field_name("function")
            return self.node_text(callee) if callee is not None else None
        if thrown.type in ("compound_literal_expression", "new_expression"):
            kind = thrown.child_by_field_name("type")
            pointer = "*" if thrown.type == "new_expression" else ""
            return self.node_text(kind) + pointer if kind is not None else None
        return None
