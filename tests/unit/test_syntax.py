"""The syntax layer on realistic code: offsets, definitions, scopes, comments, chunks."""

from __future__ import annotations

import textwrap

import pytest

from lspilot.model import Parameter
from lspilot.syntax import Chunk, Definition, language_of, parse
from lspilot.syntax.offsets import OffsetMap, encode, indent_unit

SAMPLE = textwrap.dedent(
    '''\
    """A module."""
    import os.path as osp
    from typing import Any, Iterator

    LIMIT = 10


    # Load the settings.
    # Twice as fast.
    @cache
    @registry.register("x")
    async def load_config(
        path: str,
        *,
        strict: bool = False,  # a comment
        **extra: Any,
    ) -> dict[str, Any]:
        """Load the config.

        Args:
            path: Where.
        """
        data = open(path).read()
        try:
            value = json.loads(data)
        except ValueError as err:
            raise ConfigError("bad") from err
        except (KeyError, OSError) as e:
            raise e
        return value


    class Loader(Base):
        """Loads things."""

        kind: str = "x"

        def __init__(self, root, *args):
            self.root = root
            self._seen = set()

        def load(self, name): return self.root / name

        @staticmethod
        def make(a, b=2):
            def inner(y):
                yield y
            return inner

        def run(self):
            return self.load(LIMIT)

        class Inner:
            def load(self):
                return 1


    class Other:
        def load(self):
            return self.load()
    '''
)


def find(source_text: str, needle: str, delta: int = 0) -> int:
    return source_text.index(needle) + delta


def by_name(definitions: list[Definition], qualified: str) -> Definition:
    return next(d for d in definitions if d.qualified_name == qualified)


# ---- offsets, languages, cache ------------------------------------------------------------


def test_offset_map_round_trips_emoji_cjk_and_combining_marks() -> None:
    text = "a😀b漢é\u0301c\n"
    offsets = OffsetMap(text)
    data = encode(text)
    for index in range(len(text) + 1):
        byte = offsets.byte(index)
        assert data[:byte].decode() == text[:index]
        assert offsets.char(byte) == index


def test_language_of() -> None:
    assert language_of("file:///a/b.py", None) == "python"
    assert language_of("file:///a/b.pyi", "") == "python"
    assert language_of("untitled:Untitled-1", "python") == "python"
    assert language_of("file:///a/x.mjs", None) == "javascript"
    assert language_of("file:///a/x.jsx", "javascriptreact") == "javascript"
    assert language_of("file:///a/%E6%BC%A2.cjs", None) == "javascript"
    assert language_of("file:///a/readme.md", "markdown") is None


def test_parse_reuses_the_source_for_the_same_text() -> None:
    first = parse(SAMPLE, "python")
    assert parse(SAMPLE, "python") is first
    assert parse(SAMPLE + "\n", "python") is not first
    with pytest.raises(ValueError):
        parse("x", "cobol")


def test_indent_unit_detection() -> None:
    assert indent_unit("if x:\n  y = 1\n") == "  "
    assert indent_unit("if x:\n\ty = 1\n") == "\t"
    assert indent_unit("x = 1\n") == "    "


# ---- definitions --------------------------------------------------------------------------


def test_definitions_in_order_with_kinds_and_containers() -> None:
    source = parse(SAMPLE, "python")
    found = [(d.qualified_name, d.kind) for d in source.definitions()]
    assert found == [
        ("load_config", "function"),
        ("Loader", "class"),
        ("Loader.__init__", "method"),
        ("Loader.load", "method"),
        ("Loader.make", "method"),
        ("Loader.inner", "function"),
        ("Loader.run", "method"),
        ("Loader.Inner", "class"),
        ("Inner.load", "method"),
        ("Other", "class"),
        ("Other.load", "method"),
    ]


def test_async_decorated_multiline_function() -> None:
    source = parse(SAMPLE, "python")
    d = by_name(source.definitions(), "load_config")
    text = source.text
    assert d.is_async
    assert d.decorators == ("cache", 'registry.register("x")')
    assert text[d.start :].startswith("@cache")
    assert text[d.name_start : d.name_end] == "load_config"
    assert text[: d.header_end].endswith("-> dict[str, Any]:")
    assert text[d.body_start :].startswith('"""Load the config.')
    assert d.signature == (
        "async def load_config(path: str, *, strict: bool = False, **extra: Any) -> dict[str, Any]"
    )
    assert d.parameters == (
        Parameter(name="path", annotation="str"),
        Parameter(name="strict", annotation="bool", default="False", kind="keyword"),
        Parameter(name="extra", annotation="Any", kind="var_keyword"),
    )
    assert d.returns == "dict[str, Any]"
    assert d.raises == ("ConfigError", "KeyError", "OSError")
    assert d.calls == ("open", "json.loads", "ConfigError")
    assert d.docstring == "Load the config.\n\nArgs:\n    path: Where."
    assert d.docstring_start is not None and d.docstring_end is not None
    literal = text[d.docstring_start : d.docstring_end]
    assert literal.startswith('"""Load') and literal.endswith('"""')
    assert d.indent == "" and d.body_indent == "    "
    assert d.text.endswith("return value")
    assert not d.yields


def test_class_attributes_methods_and_one_line_body() -> None:
    source = parse(SAMPLE, "python")
    definitions = source.definitions()
    loader = by_name(definitions, "Loader")
    assert loader.signature == "class Loader(Base)"
    assert loader.attributes == ("kind", "root", "_seen")
    assert loader.docstring == "Loads things."
    init = by_name(definitions, "Loader.__init__")
    assert [p.name for p in init.parameters] == ["root", "args"]  # self skipped
    assert init.parameters[1].kind == "var_positional"
    one_liner = by_name(definitions, "Loader.load")
    assert one_liner.body_indent == "        "  # indent + one unit, the body shares the line
    assert source.text[one_liner.body_start :].startswith("return self.root")
    make = by_name(definitions, "Loader.make")
    assert make.decorators == ("staticmethod",)
    assert [p.name for p in make.parameters] == ["a", "b"]  # static: `a` is not self
    inner = by_name(definitions, "Loader.inner")
    assert inner.yields and inner.indent == "        "
    assert not make.yields  # the nested generator's yield is not make's


def test_tab_indented_file_and_one_line_body() -> None:
    text = "class A:\n\tdef f(self): return 1\n\n\tdef g(self):\n\t\treturn 2\n"
    definitions = parse(text, "python").definitions()
    assert by_name(definitions, "A.f").body_indent == "\t\t"
    assert by_name(definitions, "A.g").body_indent == "\t\t"
    assert by_name(definitions, "A.g").indent == "\t"


def test_crlf_text() -> None:
    text = 'def f(a,\r\n      b):\r\n    """Doc."""\r\n    return a\r\n'
    source = parse(text, "python")
    (d,) = source.definitions()
    assert d.signature == "def f(a, b)"
    assert text[: d.header_end].endswith("b):")
    assert text[d.body_start :].startswith('"""Doc."""')
    assert d.body_indent == "    "
    assert d.docstring == "Doc."


def test_emoji_and_cjk_before_identifiers() -> None:
    text = 's = "😀 héllo 漢字"; 変数 = load(s)\n\ndef load(x):\n    return 変数 + x  # 👍\n'
    source = parse(text, "python")
    at = text.rindex("変数") + 1
    identifier = source.identifier_at(at)
    assert identifier is not None and identifier.name == "変数"
    assert text[identifier.start : identifier.end] == "変数"
    definition = source.definition_of("変数", at)
    assert definition is not None and definition.kind == "variable"
    assert text[definition.name_start : definition.name_end] == "変数"
    load = source.definition_of("load", text.index("load(s)"))
    assert load is not None and text[load.name_start : load.name_end] == "load"
    assert load.start == text.index("def load")


def test_syntax_error_is_tolerated() -> None:
    text = "def good(a):\n    return a\n\nx = (1, \n\ndef later(b):\n    return good(b)\n"
    source = parse(text, "python")
    assert source.has_errors
    assert source.error_count() >= 1
    names = [d.name for d in source.definitions()]
    assert "good" in names
    identifier = source.identifier_at(text.rindex("good") + 2)
    assert identifier is not None and identifier.name == "good"
    clean = parse("x = 1\n", "python")
    assert not clean.has_errors and clean.error_count() == 0


# ---- identifiers and lookup ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("needle", "delta", "expected"),
    [
        ("load_config(", 0, "load_config"),  # start of the word
        ("load_config(", 11, "load_config"),  # just after the word
        ("self.root / name", 6, "root"),  # the attribute part
        ("json.loads", 0, "json"),
        ("LIMIT = 10", 5, "LIMIT"),
    ],
)
def test_identifier_at(needle: str, delta: int, expected: str) -> None:
    source = parse(SAMPLE, "python")
    identifier = source.identifier_at(find(SAMPLE, needle, delta))
    assert identifier is not None and identifier.name == expected
    assert SAMPLE[identifier.start : identifier.end] == expected


def test_identifier_at_reports_the_receiver() -> None:
    source = parse(SAMPLE, "python")
    identifier = source.identifier_at(find(SAMPLE, "self.load(LIMIT)", 6))
    assert identifier is not None and (identifier.name, identifier.receiver) == ("load", "self")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("def f():\n    return None\n", "return"),
        ("def f():\n    return None\n", "None"),
        ("x = True\n", "True"),
        ("x = 'hello world'\n", "hello"),
        ("x = 1234\n", "234"),
        ("x = 1  # note here\n", "note"),
        ("x = 1    \n", "   \n"),
        ("for a in b: pass\n", "for"),
    ],
)
def test_identifier_at_is_none_on_non_identifiers(text: str, needle: str) -> None:
    assert parse(text, "python").identifier_at(text.index(needle) + 1) is None


def test_definition_of_parameters_locals_and_imports() -> None:
    source = parse(SAMPLE, "python")
    path = source.definition_of("path", find(SAMPLE, "open(path)", 6))
    assert path is not None and path.kind == "parameter"
    assert path.parameters == (Parameter(name="path", annotation="str"),)
    value = source.definition_of("value", find(SAMPLE, "return value", 8))
    assert value is not None and value.kind == "variable"
    assert value.signature == "value = json.loads(data)"
    alias = source.definition_of("osp", 0)
    assert alias is not None and alias.kind == "import"
    assert alias.signature == "import os.path as osp"
    any_ = source.definition_of("Any", find(SAMPLE, "**extra: Any", 10))
    assert any_ is not None and any_.kind == "import"
    limit = source.definition_of("LIMIT", find(SAMPLE, "self.load(LIMIT)", 11))
    assert limit is not None and limit.signature == "LIMIT = 10"
    err = source.definition_of("err", find(SAMPLE, "from err", 6))
    assert err is not None and err.signature == "ValueError as err"


def test_definition_of_prefers_the_enclosing_class() -> None:
    source = parse(SAMPLE, "python")
    in_loader = source.definition_of("load", find(SAMPLE, "self.load(LIMIT)", 6))
    assert in_loader is not None and in_loader.qualified_name == "Loader.load"
    in_other = source.definition_of("load", find(SAMPLE, "self.load()", 6))
    assert in_other is not None and in_other.qualified_name == "Other.load"
    attribute = source.definition_of("root", find(SAMPLE, "self.root / name", 6))
    assert attribute is not None and attribute.kind == "variable"
    assert attribute.signature == "self.root = root"


def test_definition_of_nearest_scope_wins() -> None:
    text = "x = 1\n\ndef f():\n    x = 2\n    def g(x):\n        return x\n    return x\n"
    source = parse(text, "python")
    in_g = source.definition_of("x", text.index("return x") + 7)
    assert in_g is not None and in_g.kind == "parameter"
    in_f = source.definition_of("x", text.rindex("return x") + 7)
    assert in_f is not None and in_f.signature == "x = 2"
    assert source.definition_of("nowhere", 0) is None


def test_enclosing_definition() -> None:
    source = parse(SAMPLE, "python")
    inner = source.enclosing_definition(find(SAMPLE, "return 1"))
    assert inner is not None and inner.qualified_name == "Inner.load"
    method = source.enclosing_definition(find(SAMPLE, "return self.root"))
    assert method is not None and method.qualified_name == "Loader.load"
    assert source.enclosing_definition(find(SAMPLE, "LIMIT = 10")) is None


# ---- comments -----------------------------------------------------------------------------


def test_comment_block_at() -> None:
    source = parse(SAMPLE, "python")
    block = source.comment_block_at(find(SAMPLE, "Twice"))
    assert block is not None
    assert block.text == "Load the settings.\nTwice as fast."
    assert SAMPLE[block.start : block.end] == "# Load the settings.\n# Twice as fast."
    assert block.indent == ""
    assert source.comment_block_at(find(SAMPLE, "a comment")) is None  # after code


def test_comment_block_stops_at_indent_change_and_blank_line_after() -> None:
    text = "# top\ndef f():\n    # one\n    #   two\n    # 漢字 😀\n\n    return 1\n"
    source = parse(text, "python")
    block = source.comment_block_at(text.index("two"))
    assert block is not None
    assert block.text == "one\n  two\n漢字 😀"
    assert block.indent == "    "
    after = source.comment_block_at(text.index("\n\n") + 1)  # the blank line below
    assert after == block
    assert source.comment_block_at(text.index("return")) is None


def test_hash_inside_a_string_is_not_a_comment() -> None:
    text = 'x = """\n# not a comment\n"""\n'
    assert parse(text, "python").comment_block_at(text.index("not")) is None


def test_comment_block_with_crlf() -> None:
    text = "# first\r\n# second\r\nx = 1\r\n"
    block = parse(text, "python").comment_block_at(0)
    assert block is not None and block.text == "first\nsecond"


# ---- chunks -------------------------------------------------------------------------------


def assert_partition(text: str, chunks: list[Chunk]) -> None:
    """No overlap, in order, and every non-whitespace character is in a chunk."""
    covered = [False] * len(text)
    previous_end = 0
    for chunk in chunks:
        assert previous_end <= chunk.start < chunk.end
        assert text[chunk.start : chunk.end] == chunk.text
        for index in range(chunk.start, chunk.end):
            covered[index] = True
        previous_end = chunk.end
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))


def test_chunks_of_a_module() -> None:
    source = parse(SAMPLE, "python")
    chunks = source.chunks()
    assert [(c.name, c.kind) for c in chunks] == [
        ("<module>", "module"),
        ("load_config", "function"),
        ("Loader", "class"),
        ("Other", "class"),
    ]
    assert chunks[0].text.startswith('"""A module."""') and chunks[0].text.endswith("LIMIT = 10")
    assert chunks[1].text.startswith("# Load the settings.")  # comments above belong to it
    assert_partition(SAMPLE, chunks)


def test_chunks_split_a_long_class() -> None:
    source = parse(SAMPLE, "python")
    chunks = source.chunks(max_class_lines=10)
    assert [(c.name, c.kind) for c in chunks][2:] == [
        ("Loader", "class"),
        ("Loader.__init__", "method"),
        ("Loader.load", "method"),
        ("Loader.make", "method"),
        ("Loader.run", "method"),
        ("Loader.Inner", "class"),
        ("Other", "class"),
    ]
    header = chunks[2]
    assert header.text.startswith("class Loader(Base):") and header.text.endswith('kind: str = "x"')
    assert chunks[5].text.startswith("    @staticmethod")
    assert_partition(SAMPLE, chunks)


def test_chunks_with_a_syntax_error_still_cover_the_text() -> None:
    text = "import os\n\ndef f(:\n    pass\n\nx = [\n\ndef g():\n    return 1\n"
    source = parse(text, "python")
    assert_partition(text, source.chunks())


# ---- JavaScript ---------------------------------------------------------------------------

JS = textwrap.dedent(
    """\
    import fs, { readFile as rf } from "node:fs";

    /**
     * Load a file.
     * @param {string} p
     */
    export async function load(p, opts = {}, ...rest) {
      // step one
      if (!p) throw new TypeError("p");
      return rf(p);
    }

    // Adds numbers.
    // Twice.
    const add = (a, b = 2) => a + b;

    class Box extends Base {
      size = 1;
      constructor(y) { super(); this.y = y; }
      *items() { yield this.size; }
    }
    """
)


def test_javascript_definitions() -> None:
    source = parse(JS, "javascript")
    assert not source.has_errors
    found = [(d.qualified_name, d.kind) for d in source.definitions()]
    assert found == [
        ("load", "function"),
        ("add", "function"),
        ("Box", "class"),
        ("Box.constructor", "method"),
        ("Box.items", "method"),
    ]
    load = source.definitions()[0]
    assert load.signature == "async function load(p, opts = {}, ...rest)"
    assert load.is_async and load.raises == ("TypeError",) and load.calls == ("rf",)
    assert load.docstring == "Load a file.\n@param {string} p"
    assert [p.kind for p in load.parameters] == ["positional", "positional", "var_positional"]
    assert load.parameters[1].default == "{}"
    assert source.definitions()[2].attributes == ("size", "y")
    assert source.definitions()[4].yields


def test_javascript_comments_identifiers_lookup_and_chunks() -> None:
    source = parse(JS, "javascript")
    block = source.comment_block_at(JS.index("Twice"))
    assert block is not None and block.text == "Adds numbers.\nTwice."
    jsdoc = source.comment_block_at(JS.index("Load a file"))
    assert jsdoc is not None and jsdoc.text == "Load a file.\n@param {string} p"
    identifier = source.identifier_at(JS.index("rf(p)") + 2)
    assert identifier is not None and identifier.name == "rf"
    definition = source.definition_of("rf", JS.index("rf(p)"))
    assert definition is not None and definition.kind == "import"
    parameter = source.definition_of("p", JS.index("rf(p)") + 3)
    assert parameter is not None and parameter.kind == "parameter"
    assert source.identifier_at(JS.index("return")) is None
    chunks = source.chunks()
    assert [c.name for c in chunks] == ["<module>", "load", "add", "Box"]
    assert chunks[1].text.startswith("/**") and chunks[2].text.startswith("// Adds")
    assert_partition(JS, chunks)
    assert parse("function f( {", "javascript").has_errors


def test_javascript_identifier_at_reports_the_receiver() -> None:
    text = "class A {\n  run() {\n    return this.load();\n  }\n}\n"
    identifier = parse(text, "javascript").identifier_at(text.index("load") + 1)
    assert identifier is not None and (identifier.name, identifier.receiver) == ("load", "this")
