"""Big files: definitions built one at a time agree with the full build; trees are bounded.

Hover and the code-action menu on a file of megabytes must not build every definition of it
(about half a millisecond each), and the parse cache must hold trees by their memory.
"""

from __future__ import annotations

import gc
import textwrap
import tracemalloc
import weakref

from lspilot.syntax import Recent, parse, tree_bytes
from lspilot.syntax import _parse as parse_uncached
from lspilot.syntax import python as python_syntax

SAMPLE = textwrap.dedent(
    '''\
    import os

    LIMIT = 10


    @cache
    def load(path: str, *, strict: bool = False) -> dict:
        """Load the file."""
        if not os.path.exists(path):
            raise FileNotFoundError(path)
        return read(path)


    class Store:
        """A store."""

        size = 3

        def __init__(self, root):
            self.root = root

        def get(self, key):
            def inner(x):
                yield helper(x)
            return self.root.lookup(key)


    def main():
        store = Store(LIMIT)
        return store.get(load("a"))
    '''
)


def fresh(text: str = SAMPLE) -> python_syntax.PythonSource:
    source = parse_uncached(text, "python")
    assert isinstance(source, python_syntax.PythonSource)
    return source


def test_one_at_a_time_equals_the_full_build() -> None:
    full = fresh().definitions()
    assert any(d.decorators for d in full)
    lazy = fresh()
    for d in full:
        inner = d.start + len(d.signature) // 2  # somewhere in its header
        scopes = lazy._scopes_at(inner)
        assert d in scopes, d.name
    assert lazy._definitions is None, "scopes were found without building every definition"
    # The full build later keeps the Definitions already handed out.
    built = {d.start: d for d in lazy._by_node.values()}
    assert all(built[d.start] is d for d in lazy.definitions() if d.start in built)
    assert lazy.definitions() == full


def test_lookups_on_a_fresh_source_match_a_fully_built_one() -> None:
    for needle, delta in (("Store(LIMIT)", 0), ("LIMIT)", 0), ("load(\"a\")", 0),
                          ("get(load", 0), ("root.lookup", 0), ("helper(x)", 0),
                          ("key):", 0), ("read(path)", 0)):  # fmt: skip
        at = SAMPLE.index(needle) + delta
        name = needle.split("(")[0].split(")")[0].split(".")[0].split(":")[0]
        built = fresh()
        built.definitions()
        assert fresh().definition_of(name, at) == built.definition_of(name, at), needle
    lazy = fresh()
    at = SAMPLE.index("return self.root")
    get = next(d for d in fresh().definitions() if d.name == "get")
    assert lazy.enclosing_definition(at) == get
    selected = lazy.definitions_in(SAMPLE.index("class Store"), len(SAMPLE))
    assert [d.name for d in selected] == ["Store", "__init__", "get", "inner", "main"]
    assert [d.name for d in lazy.classes()] == ["Store"]
    assert lazy._definitions is None


def test_a_module_of_many_definitions_answers_without_building_them_all() -> None:
    unit = "def f{0}(a, b):\n    return a + b + {0}\n\n\n"
    text = "".join(unit.format(i) for i in range(3000)) + "total = f1500(1, 2)\n"
    source = fresh(text)
    found = source.definition_of("f1500", text.index("f1500(1"))
    assert found is not None and found.signature == "def f1500(a, b)"
    assert source._definitions is None
    assert len(source._by_node) <= 4, "only the definition looked up was built"


def test_the_parse_cache_is_bounded_by_tree_memory_not_count() -> None:
    small = [fresh(f"x{i} = {i}\n") for i in range(3)]
    big = fresh(SAMPLE * 20)
    kept: Recent[str, python_syntax.PythonSource] = Recent(
        tree_bytes(big) + 10 * tree_bytes(small[0]), tree_bytes, keep=1
    )
    for i, source in enumerate(small):
        kept.put(f"s{i}", source)
    kept.put("big", big)
    assert len(kept) == 4 and kept.total <= kept.budget
    kept.put("big2", fresh(SAMPLE * 20))  # over the budget: the oldest go first
    assert kept.get("s0") is None and kept.get("big") is None
    assert kept.get("big2") is not None and kept.total <= kept.budget
    kept.put("huge", fresh(SAMPLE * 60))  # bigger than the budget alone: still kept
    assert len(kept) == 1 and kept.get("huge") is not None
    assert kept.pop("huge") is not None and kept.total == 0


def test_big_texts_parse_in_slices_to_the_same_tree() -> None:
    text = SAMPLE * 250  # over the slice threshold
    assert len(text) > 100_000
    source = parse(text, "python")
    direct = fresh(text)
    assert str(source.root) == str(direct.root)
    assert [d.name for d in source.definitions()] == [d.name for d in direct.definitions()]


def test_big_parses_do_not_keep_their_text() -> None:
    """The tree-sitter binding keeps every buffer the read callback returns: the slices of a
    big text must not be fresh copies (each parse leaked the whole text before)."""
    text = SAMPLE * 250
    assert len(text) > 100_000
    parse_uncached(text, "python")  # grammar and caches warmed outside the measure
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(10):
            parse_uncached(text, "python")
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < len(text), f"{after - before} bytes kept by 10 parses"


def test_a_big_tree_still_reads_its_text_after_the_parse() -> None:
    unit = 'def f{0}():\n    f"""Not a docstring {0}."""\n\n\ndef g{0}():\n    """Doc {0}."""\n\n\n'
    text = "".join(unit.format(i) for i in range(600))
    assert len(text) > 20_000
    source = fresh(text)
    assert source.root.text == text.encode()  # the read callback, called again by the binding
    docs = {d.name: d.docstring for d in source.definitions()}
    assert docs["f599"] is None and docs["g599"] == "Doc 599."


def test_the_parse_cache_shares_a_big_source_only_while_someone_holds_it() -> None:
    """`parse` keeps small Sources itself; a big one is shared while it is held elsewhere
    (lspilot.documents, a feature at work) and not kept alive by the cache alone: it held
    one more 2,000-line file's tree (5 MiB) after its document's was dropped."""
    big_text = SAMPLE * 250
    held = parse(big_text, "python")
    assert parse(big_text, "python") is held  # alive: one tree, shared
    ref = weakref.ref(held)
    del held
    gc.collect()
    assert ref() is None, "the parse cache kept a big Source nobody holds"
    again = parse(big_text, "python")  # parsed anew, same answers
    assert [d.name for d in again.definitions()] == [d.name for d in fresh(big_text).definitions()]
    small = parse("x = 1\n", "python")
    small_ref = weakref.ref(small)
    del small
    gc.collect()
    assert small_ref() is not None and parse("x = 1\n", "python") is small_ref()
