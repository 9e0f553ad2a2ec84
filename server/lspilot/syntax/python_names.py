"""Python name lookup: where a name used at an offset is bound, scope by scope.

Lookup walks statements only (never expressions), scope by scope, and memoises each scope's
bindings. `PythonSource` (in `python`) adds the definitions this lookup reads.
"""

from __future__ import annotations

from collections.abc import Callable

from tree_sitter import Node

from lspilot.model import Parameter
from lspilot.syntax.model import Definition, DefinitionKind
from lspilot.syntax.offsets import leading_whitespace
from lspilot.syntax.source import Source, one_line

DEFINITION_NODES = frozenset({"function_definition", "class_definition"})
# Statements whose children may bind names in the same scope (never expressions).
_CONTAINERS = frozenset(
    {
        "module", "block", "if_statement", "elif_clause", "else_clause", "for_statement",
        "while_statement", "try_statement", "except_clause", "except_group_clause",
        "finally_clause", "with_statement", "match_statement", "case_clause",
        "decorated_definition", "ERROR",
    }
)  # fmt: skip
SELF_NAMES = frozenset({"self", "cls", "mcs", "mcls", "metacls"})


class Binding:
    """A name bound in a scope: where the binding happens and what it binds to.

    The Definition is built when first asked for: a lookup reads only the bindings of the
    name it looks for (a module of a big file binds tens of thousands of names). The maker
    is given the source rather than holding it, so that a source and its bindings form no
    reference cycle: a document version's tree is freed when it is dropped, not by the
    garbage collector (whose pauses then grow with every version typed).
    """

    __slots__ = ("_definition", "_make", "name", "position")

    def __init__(
        self, position: int, name: str, make: Callable[[PythonNames], Definition] | None
    ) -> None:
        self.position = position
        self.name = name
        self._make = make
        self._definition: Definition | None = None

    @classmethod
    def ready(cls, position: int, definition: Definition) -> Binding:
        """A binding whose Definition is already built."""
        binding = cls(position, definition.name, None)
        binding._definition = definition
        return binding

    def definition(self, names: PythonNames) -> Definition:
        """What the name is bound to (`names`: the source the binding was found in)."""
        if self._definition is None:
            assert self._make is not None
            self._definition, self._make = self._make(names), None
        return self._definition


class PythonNames(Source):
    """Name lookup over a parsed Python text (the base of `PythonSource`)."""

    _by_node: dict[int, Definition]
    _inner: dict[int, Node]  # definition start -> its def/class node
    _bindings: dict[int, list[Binding]]

    def _container(self, node: Node) -> str | None:
        raise NotImplementedError

    def definition_for(self, node: Node) -> Definition:
        raise NotImplementedError

    def _scopes_at(self, offset: int) -> list[Definition]:
        """The definitions containing `offset`, outermost first: the syntax tree's ancestors
        of the offset, so a lookup in a big file builds only these."""
        if self._definitions is not None:
            return super()._scopes_at(offset)
        nodes: dict[int, Node] = {}
        for probe in (offset, offset - 1):
            node: Node | None = self.leaf_at(max(0, probe))
            while node is not None:
                inner = node
                if node.type == "decorated_definition":
                    inner = node.child_by_field_name("definition") or node
                if inner.type in DEFINITION_NODES:
                    nodes[inner.id] = inner
                node = node.parent
        found = [self.definition_for(n) for n in nodes.values()]
        found.sort(key=lambda d: d.start)
        return [d for d in found if d.start <= offset <= d.end]

    def definition_of(self, name: str, offset: int) -> Definition | None:
        """Where `name` used at `offset` is bound: the innermost scope first.

        `self.name` / `cls.name` look in the enclosing class (methods, class attributes,
        `self.x =` assignments); another `obj.name` looks at every class of the file.
        """
        identifier = self.identifier_at(offset)
        receiver = identifier.receiver if identifier and identifier.name == name else None
        scopes = self._scopes_at(offset)
        classes = [d for d in scopes if d.kind == "class"]
        if receiver is not None:
            if receiver in SELF_NAMES and classes:
                member = self._member(classes[-1], name)
                if member is not None:
                    return member
            for candidate in self.classes():
                member = self._member(candidate, name)
                if member is not None:
                    return member
            return None
        innermost = scopes[-1] if scopes else None
        for scope in reversed(scopes):
            # A class body is a scope only for code directly in it (Python's rule).
            if scope.kind == "class" and scope is not innermost:
                continue
            found = self._lookup(self._inner[scope.start], name, offset)
            if found is not None:
                return found
        found = self._lookup(self.root, name, offset)
        if found is None and classes:
            found = self._member(classes[-1], name)  # a method called without `self.`
        return found

    def _lookup(self, scope: Node, name: str, offset: int) -> Definition | None:
        bindings = [b for b in self._scope_bindings(scope) if b.name == name]
        if not bindings:
            return None
        before = [b for b in bindings if b.position <= offset]
        return (before[-1] if before else bindings[0]).definition(self)

    def _member(self, cls: Definition, name: str) -> Definition | None:
        node = self._inner[cls.start]
        found = self._lookup(node, name, cls.end)
        if found is not None:
            return found
        body = node.child_by_field_name("body")
        for statement in body.named_children if body else []:
            inner = statement.child_by_field_name("definition") or statement
            if inner.type == "function_definition":
                for binding in self._self_bindings(inner):
                    if binding.name == name:
                        return binding
        return None

    def _self_bindings(self, function: Node) -> list[Definition]:
        out = []
        stack = [function.child_by_field_name("body")]
        while stack:
            node = stack.pop()
            if node is None or node.type in DEFINITION_NODES:
                continue
            if node.type == "expression_statement" and node.named_children:
                assignment = node.named_children[0]
                left = assignment.child_by_field_name("left")
                if assignment.type == "assignment" and left and left.type == "attribute":
                    obj = left.child_by_field_name("object")
                    attr = left.child_by_field_name("attribute")
                    if obj and attr and self.node_text(obj) in SELF_NAMES:
                        out.append(self._simple(attr, node, "variable"))
                continue
            if node.type in _CONTAINERS:
                stack.extend(reversed(node.named_children))
        return out

    def _scope_bindings(self, scope: Node) -> list[Binding]:
        cached = self._bindings.get(scope.id)
        if cached is not None:
            return cached
        bindings: list[Binding] = []
        if scope.type == "function_definition":
            definition = self.definition_for(scope)
            params = scope.child_by_field_name("parameters")
            for item in params.named_children if params else []:
                name_node = self._parameter_name(item)
                if name_node is not None:
                    parameter = next(
                        (p for p in definition.parameters if p.name == self.node_text(name_node)),
                        Parameter(name=self.node_text(name_node)),
                    )
                    simple = self._simple(name_node, item, "parameter", (parameter,))
                    bindings.append(Binding.ready(simple.start, simple))
        body = scope if scope.type == "module" else scope.child_by_field_name("body")
        # (statement, the decorated definition around it): `node.parent` walks down from
        # the root in tree-sitter, far too slow for the tens of thousands of a big module.
        stack: list[tuple[Node, Node | None]] = (
            [(c, None) for c in reversed(body.named_children)] if body else []
        )
        while stack:
            node, decorated = stack.pop()
            kind = node.type
            self._bind(node, kind, decorated, bindings)
            if kind in _CONTAINERS:
                around = node if kind == "decorated_definition" else None
                stack.extend((c, around) for c in reversed(node.named_children))
        bindings.sort(key=lambda b: b.position)
        self._bindings[scope.id] = bindings
        return bindings

    def _parameter_name(self, item: Node) -> Node | None:
        node = item.child_by_field_name("name") or (
            item.named_children[0] if item.named_children else item
        )
        if node.type in ("list_splat_pattern", "dictionary_splat_pattern", "typed_parameter"):
            return self._parameter_name(node)
        return node if node.type == "identifier" else None

    def _bind(self, node: Node, kind: str, decorated: Node | None, bindings: list[Binding]) -> None:
        """Record the names a statement (of type `kind`) binds in its own scope."""
        if kind in DEFINITION_NODES:
            name_node = node.child_by_field_name("name")
            outer = decorated or node
            name = self.node_text(name_node) if name_node else ""
            bindings.append(
                Binding(self.start(outer), name, lambda names: names.definition_for(node))
            )
        elif kind == "expression_statement":
            assignment = node.named_children[0] if node.named_children else None
            while assignment is not None and assignment.type == "assignment":
                for target in self._target_nodes(assignment.child_by_field_name("left")):
                    bindings.append(self._binding(target, self.start(target), node, "variable"))
                assignment = assignment.child_by_field_name("right")
        elif kind in ("import_statement", "import_from_statement"):
            for name_node in self._imported(node):
                bindings.append(self._binding(name_node, self.start(name_node), node, "import"))
        elif kind == "for_statement":
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right") or left or node
            for target in self._target_nodes(left):
                bindings.append(
                    self._binding(target, self.start(node), node, "variable", (node, right))
                )
        elif kind in ("with_clause", "except_clause"):
            # `with a as x, b as (y, z):` and `except E as e:` bind their aliases.
            children = node.named_children
            patterns = [
                c.named_children[0] for c in children if c.type == "with_item" and c.named_children
            ]
            patterns += [c for c in children if c.type == "as_pattern"]
            patterns = [p for p in patterns if p.type == "as_pattern"]
            for pattern in patterns:
                alias = pattern.child_by_field_name("alias")
                aliased = alias.named_children[0] if alias and alias.named_children else None
                for name_node in self._target_nodes(aliased):
                    bindings.append(
                        self._binding(name_node, self.start(pattern), pattern, "variable")
                    )

    def _binding(
        self,
        name_node: Node,
        position: int,
        statement: Node,
        kind: DefinitionKind,
        span: tuple[Node, Node] | None = None,
    ) -> Binding:
        """A binding of a variable or import, its Definition built when asked for."""
        return Binding(
            position,
            self.node_text(name_node),
            lambda names: names._simple(name_node, statement, kind, span=span),
        )

    def _target_nodes(self, target: Node | None) -> list[Node]:
        if target is None:
            return []
        if target.type == "identifier":
            return [target]
        if target.type in ("pattern_list", "tuple_pattern", "list_pattern", "tuple", "list"):
            return [n for c in target.named_children for n in self._target_nodes(c)]
        return []

    @staticmethod
    def _imported(statement: Node) -> list[Node]:
        """The identifiers an import statement binds."""
        out = []
        for index, child in enumerate(statement.children):
            if statement.field_name_for_child(index) != "name":
                continue
            if child.type == "aliased_import":
                alias = child.child_by_field_name("alias")
                if alias is not None:
                    out.append(alias)
            elif child.type == "dotted_name" and child.named_children:
                # `import a.b` binds `a`; `from m import b` binds `b` (a one-part name).
                out.append(child.named_children[0])
        return out

    def _simple(
        self,
        name_node: Node,
        statement: Node,
        kind: DefinitionKind,
        parameters: tuple[Parameter, ...] = (),
        span: tuple[Node, Node] | None = None,
    ) -> Definition:
        """A Definition for a variable, import or parameter: offsets, one-line text.

        `span` narrows a compound statement to its header (`for x in items`)."""
        start, end = self.start(statement), self.end(statement)
        if span is not None:
            start, end = self.start(span[0]), self.end(span[1])
        text = self.text[start:end]
        first = text.split("\n", 1)[0].rstrip()
        signature = one_line(text) if len(text) < 200 else first + " …"
        return Definition(
            name=self.node_text(name_node),
            kind=kind,
            start=start,
            end=end,
            name_start=self.start(name_node),
            name_end=self.end(name_node),
            header_end=end,
            body_start=end,
            signature=signature,
            text=text,
            parameters=parameters,
            indent=leading_whitespace(self.text, start),
            container=self._container(statement),
        )
