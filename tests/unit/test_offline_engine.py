"""The offline engine answers explain, document and review from the syntax tree alone."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from lspilot.assistant.engines.docstrings import documented_parameters
from lspilot.assistant.engines.offline import OfflineEngine
from lspilot.assistant.errors import NotSupportedError
from lspilot.assistant.tasks import (
    DocumentInput,
    DocumentResult,
    ExplainInput,
    ExplainResult,
    GenerateInput,
    ResultMeta,
    ReviewInput,
    ReviewResult,
    Task,
)
from lspilot.settings import Settings
from lspilot.syntax import language_of, parse

FUNCTION = textwrap.dedent(
    '''\
    # Reads settings.
    @cache
    async def load_config(path: str, *, strict: bool = False) -> dict[str, int]:
        """Load the configuration 😀 file.

        Args:
            path: Where it lives.
            verbose: Removed long ago.
        """
        text = read_text(path)
        if not text:
            raise ConfigError(path)
        return json.loads(text)
    '''
)


@pytest.fixture
def engine() -> OfflineEngine:
    return OfflineEngine(Settings())


def apply(code: str, quote: str, fix: str) -> str:
    assert code.count(quote) >= 1
    return code.replace(quote, fix, 1)


def test_engine_identity(engine: OfflineEngine) -> None:
    assert engine.id == "offline"
    assert engine.model_for(Task.REVIEW) == "syntax-tree"
    assert engine.supports(Task.EXPLAIN) and engine.supports(Task.DOCUMENT)
    assert engine.supports(Task.REVIEW) and not engine.supports(Task.GENERATE)
    assert engine.describe()["engine"] == "offline"


async def test_generate_is_not_supported(engine: OfflineEngine) -> None:
    with pytest.raises(NotSupportedError):
        await engine.run(GenerateInput(comment="add two numbers"))
    await engine.aclose()


async def test_explain_a_definition(engine: OfflineEngine) -> None:
    result = await engine.run(ExplainInput(code=FUNCTION, name="load_config", kind="function"))
    assert isinstance(result, ExplainResult)
    assert result.meta == ResultMeta(engine="offline", model="syntax-tree")
    assert result.markdown == textwrap.dedent(
        """\
        **async function** `load_config`

        ```python
        async def load_config(path: str, *, strict: bool = False) -> dict[str, int]
        ```

        Load the configuration 😀 file.

        Decorated with `@cache`.

        **Parameters**
        - `path`, `str`
        - `strict`, `bool`, keyword-only, default `False`

        **Returns** `dict[str, int]`

        **Calls** `read_text`, `ConfigError`, `json.loads`

        **Raises** `ConfigError`"""
    )


async def test_explain_a_method_sent_alone_keeps_its_kind_and_hides_self(
    engine: OfflineEngine,
) -> None:
    code = "def reserve(self, sku: str) -> int:\n    return 1\n"
    result = await engine.run(ExplainInput(code=code, name="reserve", kind="method"))
    assert isinstance(result, ExplainResult)
    assert result.markdown.startswith("**method** `reserve`")
    assert "- `self`" not in result.markdown
    assert "- `sku`, `str`" in result.markdown


async def test_document_a_method_sent_alone_does_not_document_self(
    engine: OfflineEngine,
) -> None:
    code = "def reserve(self, sku: str) -> int:\n    return 1\n"
    request = DocumentInput(
        name="reserve", kind="method", code=code, signature="def reserve(self, sku: str) -> int"
    )
    result = await engine.run(request)
    assert isinstance(result, DocumentResult)
    assert documented_parameters(result.docstring) == ["sku"]


async def test_explain_a_class_lists_members(engine: OfflineEngine) -> None:
    code = "class Box:\n    size = 1\n\n    def grow(self, by):\n        self.size += by\n"
    result = await engine.run(ExplainInput(code=code))
    assert isinstance(result, ExplainResult)
    assert "**class** `Box`" in result.markdown
    assert "**Attributes** `size`" in result.markdown
    assert "**Methods** `grow`" in result.markdown
    assert "_No docstring._" in result.markdown


async def test_explain_a_selection(engine: OfflineEngine) -> None:
    code = "total = compute(1)\nreport.send(total)\n\ndef helper():\n    pass\n"
    result = await engine.run(ExplainInput(code=code, kind="selection"))
    assert isinstance(result, ExplainResult)
    assert result.markdown == (
        "**Selection** of 6 lines.\n\nDefines `helper` (function).\n\n"
        "Calls `compute`, `report.send`."
    )


async def test_document_google_by_default_keeps_summary_and_descriptions(
    engine: OfflineEngine,
) -> None:
    request = DocumentInput(
        name="load_config", kind="function", code=FUNCTION, signature="async def load_config"
    )
    result = await engine.run(request)
    assert isinstance(result, DocumentResult)
    assert result.docstring == textwrap.dedent(
        """\
        Load the configuration 😀 file.

        Args:
            path (str): Where it lives.
            strict (bool, optional): Whether strict. Defaults to False.

        Returns:
            dict[str, int]: The result.

        Raises:
            ConfigError: Raised on failure."""
    )
    assert result.meta.engine == "offline"


async def test_document_numpy_and_sphinx_from_the_name(engine: OfflineEngine) -> None:
    code = "def walk_tree(root, depth=3):\n    for node in root:\n        yield node\n"
    numpy = await engine.run(
        DocumentInput(name="walk_tree", kind="function", code=code, signature="", style="numpy")
    )
    assert isinstance(numpy, DocumentResult)
    assert numpy.docstring.startswith("Walk tree.\n\nParameters\n----------\nroot\n    The root.")
    assert "Yields\n------" in numpy.docstring
    sphinx = await engine.run(
        DocumentInput(name="walk_tree", kind="function", code=code, signature="", style="sphinx")
    )
    assert isinstance(sphinx, DocumentResult)
    assert documented_parameters(sphinx.docstring, "sphinx") == ["root", "depth"]
    assert ":param depth: The depth. Defaults to 3." in sphinx.docstring


async def test_document_a_class_lists_attributes(engine: OfflineEngine) -> None:
    code = "class Cache:\n    limit = 10\n\n    def __init__(self):\n        self.items = {}\n"
    result = await engine.run(DocumentInput(name="Cache", kind="class", code=code, signature=""))
    assert isinstance(result, DocumentResult)
    assert result.docstring == (
        "Cache.\n\nAttributes:\n    limit: The limit.\n    items: The items."
    )


async def test_review_flags_wrong_and_missing_parameters_with_a_fix(
    engine: OfflineEngine,
) -> None:
    result = await engine.run(ReviewInput(code=FUNCTION, name="load_config"))
    assert isinstance(result, ReviewResult)
    assert [(i.severity, i.message) for i in result.issues] == [
        (
            "warning",
            "The docstring of `load_config` documents `verbose`, which is not a parameter.",
        ),
        ("information", "The docstring of `load_config` does not document `strict`."),
    ]
    issue = result.issues[0]
    assert issue.quote.startswith('"""Load the configuration') and issue.quote in FUNCTION
    assert issue.fix is not None
    fixed = apply(FUNCTION, issue.quote, issue.fix)
    ast.parse(fixed)
    (definition,) = parse(fixed, "python").definitions()
    assert definition.docstring is not None
    assert documented_parameters(definition.docstring) == ["path", "strict"]
    assert "path: Where it lives." in fixed  # the existing description is kept
    again = await engine.run(ReviewInput(code=fixed))
    assert isinstance(again, ReviewResult) and again.issues == []


async def test_review_missing_docstrings_only_when_enabled() -> None:
    code = "def add(a, b):\n    return a + b\n\ndef _private():\n    pass\n"
    quiet = await OfflineEngine(Settings()).run(ReviewInput(code=code))
    assert isinstance(quiet, ReviewResult) and quiet.issues == []
    settings = Settings()
    settings.diagnostics.missing_docstrings = True
    settings.code_actions.docstring_style = "numpy"
    result = await OfflineEngine(settings).run(ReviewInput(code=code))
    assert isinstance(result, ReviewResult)
    (issue,) = result.issues  # the private function is not flagged
    assert issue.severity == "information"
    assert issue.message == "Public function `add` has no docstring."
    assert issue.quote == "def add(a, b):"
    assert issue.fix is not None
    fixed = apply(code, issue.quote, issue.fix)
    ast.parse(fixed)
    assert fixed.startswith('def add(a, b):\n    """Add.\n\n    Parameters\n    ----------\n')
    add = parse(fixed, "python").definitions()[0]
    assert add.docstring is not None and documented_parameters(add.docstring) == ["a", "b"]


async def test_review_missing_docstring_fix_on_a_one_line_body_in_a_tab_file() -> None:
    code = "class Box:\n\t'''A box.'''\n\n\tdef size(self): return 1\n"
    settings = Settings()
    settings.diagnostics.missing_docstrings = True
    result = await OfflineEngine(settings).run(ReviewInput(code=code))
    assert isinstance(result, ReviewResult)
    (issue,) = result.issues
    assert issue.quote == "def size(self): "
    assert issue.fix is not None
    fixed = apply(code, issue.quote, issue.fix)
    assert fixed == (
        "class Box:\n\t'''A box.'''\n\n\tdef size(self):\n\t\t\"\"\"Size.\"\"\"\n\t\treturn 1\n"
    )
    ast.parse(fixed)


async def test_review_of_javascript_is_empty(engine: OfflineEngine) -> None:
    request = ReviewInput(code="function f(a) { return a; }", language="javascript")
    result = await engine.run(request)
    assert isinstance(result, ReviewResult) and result.issues == []


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "languages"

# file -> what the offline explanation of `scale` (which has an old doc comment) states:
# its title, signature, parameter lines and return line (None: it returns nothing).
EXPLAINED_SCALE = {
    "shop.js": (
        "**function** `scale`", "function scale(items, factor = 2)",
        ["- `items`", "- `factor`, default `2`"], None,
    ),
    "shop.ts": (
        "**function** `scale`", "function scale(items: Item[], factor: number = 2): Item[]",
        ["- `items`, `Item[]`", "- `factor`, `number`, default `2`"], "**Returns** `Item[]`",
    ),
    "shop.tsx": (
        "**function** `scale`", "function scale(items: Item[], factor: number = 2): Item[]",
        ["- `items`, `Item[]`", "- `factor`, `number`, default `2`"], "**Returns** `Item[]`",
    ),
    "shop.go": (
        "**function** `Scale`", "func Scale(items []Item, factor int) []Item",
        ["- `items`, `[]Item`", "- `factor`, `int`"], "**Returns** `[]Item`",
    ),
    "shop.rs": (
        "**function** `scale`", "pub fn scale(items: &[Item], factor: i64) -> Vec<Item>",
        ["- `items`, `&[Item]`", "- `factor`, `i64`"], "**Returns** `Vec<Item>`",
    ),
    "Shop.java": (
        "**method** `Shop.scale`", "public List<Integer> scale(List<Integer> prices, int factor)",
        ["- `prices`, `List<Integer>`", "- `factor`, `int`"], "**Returns** `List<Integer>`",
    ),
    "shop.c": (
        "**function** `scale`", "void scale(struct item *items, int count, int factor)",
        ["- `items`, `struct item *`", "- `count`, `int`", "- `factor`, `int`"], None,
    ),
    "shop.cpp": (
        "**function** `scale`",
        "std::vector<Item> scale(const std::vector<Item>& items, int factor)",
        ["- `items`, `const std::vector<Item>&`", "- `factor`, `int`"],
        "**Returns** `std::vector<Item>`",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPLAINED_SCALE))
async def test_explain_each_language_states_signature_parameters_and_return(
    engine: OfflineEngine, name: str
) -> None:
    title, signature, parameters, returns = EXPLAINED_SCALE[name]
    language = language_of(name)
    assert language is not None
    source = parse((FIXTURES / name).read_text(encoding="utf-8"), language)
    d = next(d for d in source.definitions() if d.name.lower() == "scale")
    # As the explain action and hover send it: the code with the doc comment above it.
    request = ExplainInput(
        language=language, code=source.documented_text(d), name=d.qualified_name, kind=d.kind
    )
    result = await engine.run(request)
    assert isinstance(result, ExplainResult)
    paragraphs = result.markdown.split("\n\n")
    assert paragraphs[0] == title
    assert paragraphs[1] == f"```{language}\n{signature}\n```"
    assert "old note" in paragraphs[2].lower()  # the doc comment's summary, not "No docstring"
    assert "_No docstring._" not in result.markdown
    assert f"**Parameters**\n{chr(10).join(parameters)}" in paragraphs
    returned = [p for p in paragraphs if p.startswith("**Returns**")]
    assert returned == ([returns] if returns else [])


async def test_explain_orders_calls_as_written_and_names_java_receivers(
    engine: OfflineEngine,
) -> None:
    code = (
        "int total(List<Integer> prices) {\n"
        "    return prices.stream().map(p -> p * 2).toList().size() + Math.abs(-1);\n}\n"
    )
    result = await engine.run(ExplainInput(language="java", code=code, name="total"))
    assert isinstance(result, ExplainResult)
    assert "**Calls** `prices.stream`, `map`, `toList`, `size`, `Math.abs`" in result.markdown
