"""The package's shape: layers import downwards only, no import circles, small modules.

Every ``import`` that runs counts, at module level or inside a function; imports under
``if TYPE_CHECKING:`` are annotations and do not. The graph is read from the source with
``ast``, so the test sees every module, imported by the suite or not.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "server" / "lspilot"
MAX_LINES = 450
MAX_TOP_LEVEL_MODULES = 10


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    _module_name(p): p
    for p in sorted(PACKAGE.rglob("*.py"))
    if "examples" not in p.relative_to(PACKAGE).parts
}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, name: str | None) -> str:
    """`from module import name`: the submodule when `name` is one, else the module."""
    if name is not None and f"{module}.{name}" in MODULES:
        return f"{module}.{name}"
    return module


def _imports(path: Path) -> set[str]:
    """The lspilot modules `path` imports at run time."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "lspilot")
        elif (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.level == 0
            and node.module.split(".")[0] == "lspilot"
        ):
            found.update(_resolve(node.module, a.name) for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in MODULES}


GRAPH = {name: _imports(path) for name, path in MODULES.items()}


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def test_the_graph_was_read() -> None:
    # A check that found no modules or no edges would pass for the wrong reason.
    assert "lspilot.server" in GRAPH and "lspilot.features.hover" in GRAPH
    assert "lspilot.session" in GRAPH["lspilot.features.code_actions"]  # a run-time import
    assert "lspilot.session" not in GRAPH["lspilot.features.hover"]  # TYPE_CHECKING only


def test_no_import_circles() -> None:
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def walk(module: str) -> None:
        state[module] = 1
        stack.append(module)
        for target in sorted(GRAPH[module]):
            if target == module:
                continue
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                walk(target)
        stack.pop()
        state[module] = 2

    for module in sorted(GRAPH):
        if module not in state:
            walk(module)
    assert cycles == []


# (the modules a rule is about, the modules they must not import, why)
RULES = [
    (
        "lspilot.syntax",
        ["lspilot.assistant", "lspilot.features", "lspilot.review", "lspilot.server",
         "lspilot.session", "lspilot.cli", "lspilot.settings", "lspilot.answers"],
        "the syntax layer knows no model, LSP feature or server",
    ),
    (
        "lspilot.assistant",
        ["lspilot.features", "lspilot.review", "lspilot.server", "lspilot.session",
         "lspilot.cli", "lspilot.context"],
        "the provider layer knows no feature, server, command line or workspace context",
    ),
    (
        "lspilot.context",
        ["lspilot.features", "lspilot.review", "lspilot.server", "lspilot.session",
         "lspilot.cli", "lspilot.assistant"],
        "the workspace context sits between review and the assistant and knows no LSP",
    ),
    (
        "lspilot.review",
        ["lspilot.features", "lspilot.server", "lspilot.session", "lspilot.cli"],
        "the review core is used by the diagnostics feature and `lspilot check` alike",
    ),
    (
        "lspilot.features",
        ["lspilot.server", "lspilot.cli"],
        "features use the session; only the command line starts the server",
    ),
    (
        "lspilot.session",
        ["lspilot.features", "lspilot.server", "lspilot.cli"],
        "the class the features use knows none of them",
    ),
    (
        "lspilot.model",
        [m for m in MODULES if m != "lspilot.model"],
        "the shared value types are a leaf",
    ),
    (
        "lspilot.docstrings",
        ["lspilot.assistant", "lspilot.features", "lspilot.answers", "lspilot.syntax"],
        "reading docstrings is below answers and the engines",
    ),
    (
        "lspilot.answers",
        ["lspilot.assistant", "lspilot.features", "lspilot.review", "lspilot.session"],
        "output validation is below the engines that use it",
    ),
    (
        "lspilot.redaction",
        [m for m in MODULES if m != "lspilot.redaction"],
        "the redaction rules are a leaf (settings use them for their own messages)",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("layer", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_layers_import_downwards_only(layer: str, forbidden: list[str], why: str) -> None:
    members = [m for m in GRAPH if _within(m, layer)]
    assert members, f"no modules in {layer}"
    wrong = sorted(
        (module, target)
        for module in members
        for target in GRAPH[module]
        if any(_within(target, f) for f in forbidden) and not _within(target, layer)
    )
    assert wrong == [], why


def test_only_the_command_line_imports_the_command_line_and_the_server() -> None:
    wrong = sorted(
        (module, target)
        for module, targets in GRAPH.items()
        for target in targets
        if (_within(target, "lspilot.cli") or target == "lspilot.server")
        and not _within(module, "lspilot.cli")
        and module not in {"lspilot.server", "lspilot.__main__"}
    )
    assert wrong == []


def test_the_top_level_stays_small() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem not in {"__init__", "__main__"})
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_no_module_is_a_sprawl() -> None:
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
