"""The syntax layer answers the same questions in every language with a grammar.

On the e2e fixture files (tests/fixtures/languages/, each with a non-ASCII line): definitions
with their kinds, parameters, return types and doc comments; the identifier at a position and
its definition; the enclosing definition; comment blocks; review chunks.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from lspilot.syntax import language_of, parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "languages"

# file -> (total's qualified name, its kind, parameters, return type, signature start)
EXPECTED = {
    "shop.js": ("Shop.total", "method", ["items", "discount"], None, "total(items, discount)"),
    "shop.ts": ("total", "function", ["items", "discount"], "number", "function total("),
    "shop.tsx": ("total", "function", ["items", "discount"], "number", "function total("),
    "shop.go": ("Total", "function", ["items", "discount"], "int", "func Total("),
    "shop.rs": ("total", "function", ["items", "discount"], "i64", "pub fn total("),
    "Shop.java": ("Shop.total", "method", ["prices", "discount"], "int", "public int total("),
    "shop.c": ("total", "function", ["items", "count"], "int", "int total("),
    "shop.cpp": ("total", "function", ["items", "discount"], "int", "int total("),
}


@pytest.fixture(params=sorted(EXPECTED))
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _source(name: str):  # type: ignore[no-untyped-def]
    text = (FIXTURES / name).read_text(encoding="utf-8")
    language = language_of(f"file:///w/{name}")
    assert language is not None
    return text, parse(text, language)


def test_definitions_parameters_returns(name: str) -> None:
    text, source = _source(name)
    assert source.error_count() == 0 and not text.isascii()
    qualified, kind, params, returns, signature = EXPECTED[name]
    [total] = [d for d in source.definitions() if d.qualified_name == qualified]
    assert total.kind == kind
    assert [p.name for p in total.parameters] == params
    assert total.returns == returns
    assert total.signature.startswith(signature) and "{" not in total.signature
    assert total.docstring is None
    assert text[total.name_start : total.name_end] == qualified.rsplit(".", 1)[-1]
    assert text[total.header_end - 1] == "{"


def test_doc_comment_of_scale_and_where_it_is(name: str) -> None:
    text, source = _source(name)
    [scale] = [d for d in source.definitions() if d.name.lower() == "scale"]
    assert scale.docstring is not None and "old note" in scale.docstring.lower()
    assert scale.docstring_start is not None and scale.docstring_end is not None
    comment = text[scale.docstring_start : scale.docstring_end]
    assert comment.startswith(("/**", "//")) and not comment.endswith("\n")
    assert scale.docstring_end < scale.start  # above the definition


def test_identifier_definition_and_enclosing(name: str) -> None:
    text, source = _source(name)
    qualified = EXPECTED[name][0]
    bare = qualified.rsplit(".", 1)[-1]
    use = text.rindex(f"{bare}(") + 1  # the call in the last function
    identifier = source.identifier_at(use)
    assert identifier is not None and identifier.name == bare
    found = source.definition_of(bare, use)
    assert found is not None and found.qualified_name == qualified
    ret = text.index("return sum" if "return sum" in text else "sum - ")
    enclosing = source.enclosing_definition(ret)
    assert enclosing is not None and enclosing.qualified_name == qualified
    first = EXPECTED[name][2][-1]  # used in the body
    parameter = source.definition_of(first, text.index(first, enclosing.body_start))
    assert parameter is not None and parameter.kind == "parameter"
    keyword = text.index("return" if "return" in text else "let")
    assert source.identifier_at(keyword + 1) is None


def test_comment_blocks(name: str) -> None:
    text, source = _source(name)
    block = source.comment_block_at(text.index("sum the prices") + 2)
    assert block is not None and block.text == "sum the prices"
    assert text[block.start : block.end] == "// sum the prices"
    assert block.indent == text[text.rfind("\n", 0, block.start) + 1 : block.start]


def test_chunks_cover_everything_once(name: str) -> None:
    text, source = _source(name)
    chunks = source.chunks()
    covered = "".join(c.text for c in chunks)
    assert "".join(covered.split()) == "".join(text.split())
    assert all(a.end <= b.start for a, b in itertools.pairwise(chunks))
    qualified = EXPECTED[name][0]
    owner = qualified.split(".")[0]
    assert owner in [c.name for c in chunks]


def test_go_methods_belong_to_their_receiver_and_rust_impls_to_their_type() -> None:
    go = parse(
        "package a\n\n// Run runs.\nfunc (s *Server) Run(ctx context.Context) error {\n"
        "\ts.log.Print()\n\treturn nil\n}\n",
        "go",
    )
    [run] = go.definitions()
    assert (run.qualified_name, run.kind, run.docstring) == ("Server.Run", "method", "Run runs.")
    assert run.calls == ("s.log.Print",)
    rust = parse(
        "impl<T> Stack<T> {\n    /// Pop.\n    #[inline]\n    pub fn pop(&mut self) -> T {\n"
        '        self.items.pop().expect("empty")\n    }\n}\n',
        "rust",
    )
    pop = next(d for d in rust.definitions() if d.name == "pop")
    assert (pop.qualified_name, pop.docstring, pop.raises) == ("Stack.pop", "Pop.", ("expect()",))
    assert rust.text[pop.start :].startswith("#[inline]")  # attributes belong to the item


def test_java_throws_and_cpp_out_of_class_methods() -> None:
    java = parse(
        "class A {\n  /** Read. */\n  byte[] read(String path) throws IOException {\n"
        '    throw new IllegalStateException("x");\n  }\n}\n',
        "java",
    )
    read = next(d for d in java.definitions() if d.name == "read")
    assert read.raises == ("IOException", "IllegalStateException")
    assert (read.returns, read.docstring) == ("byte[]", "Read.")
    cpp = parse("int bank::Account::deposit(int amount) { return amount; }\n", "cpp")
    [deposit] = cpp.definitions()
    assert (deposit.qualified_name, deposit.kind) == ("bank::Account.deposit", "method")
    c = parse("static char *name_of(const struct point *p, ...) { return 0; }\n", "c")
    [name_of] = c.definitions()
    assert name_of.returns == "char*"
    assert [(p.name, p.annotation) for p in name_of.parameters] == [
        ("p", "const struct point *"),
        ("...", None),
    ]
