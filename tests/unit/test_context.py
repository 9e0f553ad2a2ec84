"""The context builder and the workspace symbol index, on real files and real parses."""

from __future__ import annotations

import json
from pathlib import Path

from lspilot.context import WorkspaceContext
from lspilot.context.builder import HEADINGS, ContextBuilder, tokens_of
from lspilot.context.index import SymbolIndex, module_name
from lspilot.privacy import Privacy
from lspilot.settings.model import ContextSettings, PrivacySettings
from lspilot.syntax import parse

MAIN = '''import os
from app.text import slugify
from . import money
from .store import Store as Shelf

LIMIT = 10


def local_helper(x):
    """Local helper doc."""
    return x  # LOCAL_BODY


class Shop:
    """A shop."""

    def title(self) -> str:
        return "t"

    def label(self, name, cents):
        return slugify(name) + money.format_price(cents) + local_helper(LIMIT) + self.title()

    def stock(self):
        return Shelf(os.sep)
'''

FILES = {
    "app/__init__.py": "",
    "app/main.py": MAIN,
    "app/text.py": 'def slugify(value: str) -> str:\n    """Slug."""\n    return value  # BODY\n',
    "app/money.py": 'def format_price(cents: int) -> str:\n    """Price."""\n    return ""\n',
    "app/store.py": (
        'class Store:\n    """A store."""\n\n    def __init__(self, where: str) -> None:\n'
        "        self.where = where\n"
    ),
    "app/secret/keys.py": "def hidden() -> None:\n    pass\n",
    "node_modules/dep/index.js": "function dep() {}\n",
    "web/util.js": "/** Adds. */\nfunction add(a, b) {\n  return a + b;\n}\n",
    "web/main.js": "function total(xs) {\n  return add(xs[0], xs[1]);\n}\n",
}


def make_workspace(root: Path) -> None:
    for rel, text in FILES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def make_index(root: Path, store: Path | None = None) -> SymbolIndex:
    privacy = Privacy(PrivacySettings(exclude=["**/secret/**"]), root)
    index = SymbolIndex(root, store, privacy.excluded)
    index.build()
    return index


def label_context(root: Path, max_tokens: int = 2000) -> str:
    index = make_index(root)
    source = parse(MAIN, "python")
    label = next(d for d in source.definitions() if d.name == "label")
    builder = ContextBuilder(source, index=index, path="app/main.py")
    return builder.build(label.start, label.end, max_tokens)


def test_module_names() -> None:
    assert module_name("app/text.py") == "app.text"
    assert module_name("app/__init__.py") == "app"
    assert module_name("top.py") == "top"


def test_context_in_order_of_relevance(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    context = label_context(tmp_path)
    positions = [context.index(f"# {heading}") for heading in HEADINGS]
    assert positions == sorted(positions)
    imports, local, remote, cls = (
        context[a:b] for a, b in zip(positions, [*positions[1:], len(context)], strict=True)
    )
    assert "from app.text import slugify" in imports and "LIMIT = 10" in imports
    assert "import os" not in imports  # `stock` uses it, `label` does not
    assert "def local_helper(x):" in local and "Local helper doc." in local
    assert "def title(self) -> str:" in local
    assert "# from app/text.py\ndef slugify(value: str) -> str:" in remote
    assert "# from app/money.py\ndef format_price(cents: int) -> str:" in remote
    assert "class Shop:" in cls and "def stock(self): ..." in cls
    for body in ("LOCAL_BODY", "# BODY", "Store"):
        assert body not in context


def test_the_budget_drops_the_least_relevant_items_first(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    full = label_context(tmp_path)
    sizes = []
    for budget in range(0, tokens_of(full) + 20, 5):
        cut = label_context(tmp_path, budget)
        assert tokens_of(cut) <= budget
        assert full.startswith(cut.rstrip("\n"))  # always a prefix: the tail goes first
        sizes.append(len(cut))
    assert sizes == sorted(sizes) and sizes[0] == 0 and sizes[-1] == len(full)


def test_relative_imports_and_classes_from_other_files(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    index = make_index(tmp_path)
    source = parse(MAIN, "python")
    stock = next(d for d in source.definitions() if d.name == "stock")
    text = ContextBuilder(source, index=index, path="app/main.py").build(
        stock.start, stock.end, 2000
    )
    assert "from .store import Store as Shelf" in text and "import os" in text
    assert (
        'class Store:\n    """A store."""\n    def __init__(self, where: str) -> None: ...' in text
    )


def test_javascript_names_resolve_through_the_index(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    index = make_index(tmp_path)
    source = parse(FILES["web/main.js"], "javascript")
    total = next(d for d in source.definitions() if d.name == "total")
    text = ContextBuilder(source, index=index, path="web/main.js").build(
        total.start, total.end, 2000
    )
    assert "// from web/util.js" in text and "function add(a, b)" in text and "Adds." in text


def test_headings_are_comments_of_the_files_language(tmp_path: Path) -> None:
    (tmp_path / "util.go").write_text(
        "package shop\n\n// Add adds two numbers.\nfunc Add(a, b int) int {\n\treturn a + b\n}\n"
    )
    main = "package shop\n\nfunc Total(a int) int {\n\treturn Add(a, 1)\n}\n"
    (tmp_path / "main.go").write_text(main)
    index = make_index(tmp_path)
    source = parse(main, "go")
    total = next(d for d in source.definitions() if d.name == "Total")
    text = ContextBuilder(source, index=index, path="main.go").build(total.start, total.end, 2000)
    assert f"// {HEADINGS[2]}\n// from util.go\n" in text
    assert "func Add(a, b int) int" in text and "Add adds two numbers." in text
    assert "# " not in text


def test_the_index_skips_excluded_and_dependency_files_and_reuses_the_store(
    tmp_path: Path,
) -> None:
    root, store = tmp_path / "ws", tmp_path / "store"
    root.mkdir()
    make_workspace(root)
    index = make_index(root, store)
    assert index.module("app.text") is not None
    assert index.entry(root / "app/secret/keys.py") is None
    assert index.entry(root / "node_modules/dep/index.js") is None
    assert index.counts["parsed"] == 7 and index.counts["skipped"] == 1
    [saved] = store.glob("*.json")
    assert "hidden" not in saved.read_text() and "app/secret" not in saved.read_text()

    # Touched but unchanged content: reused by hash; changed: parsed again.
    (root / "app/text.py").write_text(FILES["app/text.py"])
    (root / "app/money.py").write_text("def format_price(cents: float) -> str:\n    pass\n")
    again = make_index(root, store)
    assert (again.counts["reused"], again.counts["parsed"]) == (6, 1)
    entry = again.module("app.money")
    assert (
        entry is not None and entry.symbols[0].signature == "def format_price(cents: float) -> str"
    )
    assert json.loads(saved.read_text())["format"] == 1


def test_updates_renames_and_new_privacy_rules(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    excluded: list[str] = []
    index = SymbolIndex(tmp_path, None, lambda rel: "no" if rel in excluded else None)
    index.build()
    assert index.update_text(tmp_path / "app/text.py", "def slugify(v, sep):\n    pass\n")
    entry = index.module("app.text")
    assert entry is not None and entry.symbols[0].signature == "def slugify(v, sep)"
    (tmp_path / "app/words.py").write_text((tmp_path / "app/text.py").read_text())
    (tmp_path / "app/text.py").unlink()
    index.rename(tmp_path / "app/text.py", tmp_path / "app/words.py")
    assert index.module("app.text") is None and index.module("app.words") is not None
    excluded.append("app/words.py")
    assert index.refilter() == 1 and index.module("app.words") is None
    assert not index.update_text(tmp_path / "app/words.py", "def x(): pass\n")


def test_workspace_context_follows_open_documents_by_version(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    context = WorkspaceContext(tmp_path, None, lambda rel: None, ContextSettings())
    context.build_index()
    path = str(tmp_path / "app/text.py")
    text = "def slugify(value: str, sep: str) -> str:\n    pass\n"
    stale = context.stale([(path, 2, text)])
    assert stale == [(path, text)]
    context.sync(stale, {path: 2})
    assert context.stale([(path, 2, text)]) == []
    source = parse(MAIN, "python")
    label = next(d for d in source.definitions() if d.name == "label")
    built = context.build(source, str(tmp_path / "app/main.py"), label.start, label.end)
    assert "def slugify(value: str, sep: str) -> str:" in built
    context.settings = ContextSettings(enabled=False)
    assert context.build(source, str(tmp_path / "app/main.py"), label.start, label.end) == ""


REVIEWED = '''def helper(a: int) -> int:
    """Helper doc."""
    return a


def caller(x):
    # helper is named here in a comment only by `mentions`
    return helper(x)


def mentions(x):
    """Calls nothing; names helper in prose only."""
    # see helper
    return x
'''


def _review_contexts(workspace: WorkspaceContext, text: str) -> dict[str, str]:
    source = parse(text, "python")
    chunks = [c for c in source.chunks() if c.text.strip()]
    spans = [(c.start, c.end, c.text) for c in chunks]
    contexts = workspace.review_contexts(source, None, spans)
    return {c.name: ctx for c, ctx in zip(chunks, contexts, strict=True)}


def test_review_contexts_hold_what_a_chunk_calls_from_code_only_and_follow_signatures() -> None:
    workspace = WorkspaceContext(None, None, lambda rel: None, ContextSettings())
    first = _review_contexts(workspace, REVIEWED)
    assert first["caller"] == 'def helper(a: int) -> int:\n    """Helper doc."""'
    assert first["mentions"] == ""  # a name in a comment or docstring is no dependency
    assert first["helper"] == ""
    # A new signature changes the context of its caller only; a body edit changes none.
    changed = _review_contexts(workspace, REVIEWED.replace("a: int) ->", "a: float) ->"))
    assert changed["caller"] == 'def helper(a: float) -> int:\n    """Helper doc."""'
    assert changed["mentions"] == ""
    body = _review_contexts(workspace, REVIEWED.replace("return a\n", "return a + 0\n"))
    assert body["caller"] == first["caller"]
    # The review budget is its own (context.tasks.review) and cuts whole items.
    small = WorkspaceContext(
        None, None, lambda rel: None, ContextSettings.model_validate({"tasks": {"review": 5}})
    )
    assert _review_contexts(small, REVIEWED)["caller"] == ""


def test_review_contexts_of_a_language_without_a_grammar_are_empty() -> None:
    from lspilot.syntax import parse_plain

    source = parse_plain("run(job)\n# see run\n", "markdown")
    spans = [(c.start, c.end, c.text) for c in source.chunks() if c.text.strip()]
    workspace = WorkspaceContext(None, None, lambda rel: None, ContextSettings())
    assert workspace.review_contexts(source, None, spans) == [""] * len(spans)


def test_review_context_memo_keeps_no_chunk_text_and_no_older_index(tmp_path: Path) -> None:
    """The memo is keyed by each chunk's digest, not its text (which would keep a copy of
    every chunk planned), and forgets what an older index generation made."""
    make_workspace(tmp_path)
    workspace = WorkspaceContext(tmp_path, None, lambda rel: None, ContextSettings())
    workspace.build_index()
    first = _review_contexts(workspace, REVIEWED)
    texts = {c.text for c in parse(REVIEWED, "python").chunks()}
    keys = list(workspace._memo)
    assert keys and not any(part in texts for key in keys for part in key)
    assert _review_contexts(workspace, REVIEWED) == first  # served from the memo
    assert workspace.index is not None
    generation = workspace.index.generation
    workspace.index.update_text(str(tmp_path / "app/extra.py"), "def extra(v):\n    pass\n")
    assert workspace.index.generation > generation
    assert _review_contexts(workspace, REVIEWED) == first
    assert len(workspace._memo) == len(keys)  # the older generation's entries are gone


def test_a_task_context_is_built_once_per_text_until_the_index_changes(tmp_path: Path) -> None:
    make_workspace(tmp_path)
    context = WorkspaceContext(tmp_path, None, lambda rel: None, ContextSettings())
    context.build_index()
    path = str(tmp_path / "app/main.py")
    source = parse(MAIN, "python")
    label = next(d for d in source.definitions() if d.name == "label")
    first = context.build(source, path, label.start, label.end)
    assert context.build(source, path, label.start, label.end) is first  # kept, not rebuilt
    assert "def slugify(value: str) -> str:" in first
    # What slugify looks like changed in the editor: the index moves on, and so the context.
    changed = "def slugify(value: str, sep: str) -> str:\n    pass\n"
    other = str(tmp_path / "app/text.py")
    context.sync(context.stale([(other, 2, changed)]), {other: 2})
    assert "def slugify(value: str, sep: str) -> str:" in context.build(
        source, path, label.start, label.end
    )
