"""Where answers land: docstring/generate/fix placement and versioned, rebased edits."""

from __future__ import annotations

import ast

import pytest
from lsprotocol import types
from pygls.workspace import PositionCodec, TextDocument

from lspilot.features.code_actions.edits import Edit, EditPlan, apply_edits, workspace_edit
from lspilot.features.code_actions.placement import (
    doc_comment_edit,
    docstring_literal,
    generate_edit,
    newline_of,
    python_docstring_edit,
    quote_style_of,
    replace_lines_edit,
)
from lspilot.syntax import Definition, parse

DOC = "Add things.\n\nArgs:\n    a: The first.\n    b: The second."


def definition(text: str, name: str) -> Definition:
    matches = [d for d in parse(text, "python").definitions() if d.name == name]
    assert len(matches) == 1, matches
    return matches[0]


def document(text: str, name: str, content: str = DOC) -> str:
    """`text` with `name` documented; checks it parses and carries exactly `content`."""
    edit = python_docstring_edit(text, definition(text, name), content)
    out = apply_edits(text, [edit])
    tree = ast.parse(out)
    node = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and n.name == name
    )
    assert ast.get_docstring(node) == content
    return out


def test_block_body_with_decorators_async_and_comment() -> None:
    text = (
        "@decorator\n@other(1)\nasync def f(a, b: int = 2) -> int:  # trailing\n"
        "    # a comment\n    return a\n"
    )
    out = document(text, "f")
    assert out == (
        "@decorator\n@other(1)\nasync def f(a, b: int = 2) -> int:  # trailing\n"
        '    """Add things.\n\n    Args:\n        a: The first.\n        b: The second.\n    """\n'
        "    # a comment\n    return a\n"
    )


def test_multi_line_signature() -> None:
    text = "def f(\n    a,\n    b,\n):\n    return a + b\n"
    out = document(text, "f", "Add.")
    assert out == 'def f(\n    a,\n    b,\n):\n    """Add."""\n    return a + b\n'


def test_one_line_body_is_split() -> None:
    text = "def g(x): return x\nclass C: pass\n"
    out = document(text, "g", "Identity.")
    assert out == 'def g(x):\n    """Identity."""\n    return x\nclass C: pass\n'
    out = document(out, "C", "Nothing.")
    assert out.endswith('class C:\n    """Nothing."""\n    pass\n')


def test_nested_methods_and_existing_docstring_replaced_in_place() -> None:
    text = (
        "class A:\n"
        '    """Doc."""\n\n'
        "    def m(self, x):\n"
        "        '''Old.'''\n"
        "        pass\n\n"
        "    class Inner:\n"
        "        def n(self): pass\n"
    )
    out = document(text, "m", "New.")
    assert "        '''New.'''\n        pass" in out  # same quotes, same place
    assert "Old" not in out
    out = document(out, "n", "Inner method.")
    assert '        def n(self):\n            """Inner method."""\n            pass\n' in out
    out = document(out, "A", "Class A.\n\nLonger.")
    assert out.startswith('class A:\n    """Class A.\n\n    Longer.\n    """\n\n    def m')


def test_crlf_stays_crlf() -> None:
    text = "def f(a, b):\r\n    return a\r\n\r\ndef g(): return 1\r\n"
    out = document(text, "f")
    out = document(out, "g", "One.")
    assert "\n" not in out.replace("\r\n", "")
    assert newline_of(out) == "\r\n"


def test_tabs_stay_tabs() -> None:
    text = "class A:\n\tdef f(self, a, b):\n\t\treturn a\n\n\tdef g(self): return 1\n"
    out = document(text, "f")
    assert '\t\t"""Add things.\n\n\t\tArgs:\n\t\t    a: The first.' in out
    out = document(out, "g", "One.")
    assert '\tdef g(self):\n\t\t"""One."""\n\t\treturn 1\n' in out


def test_emoji_and_cjk_offsets() -> None:
    text = 's = "🎉🎉 日本語"\n\ndef 関数(a, b):  # 😀\n    return "漢字"\n'
    out = document(text, "関数")
    assert out.startswith('s = "🎉🎉 日本語"\n\ndef 関数(a, b):  # 😀\n    """Add things.')


def test_quote_style_follows_the_file() -> None:
    text = "def a():\n    '''A.'''\n\ndef b(x): return x\n"
    assert quote_style_of(text) == "'''"
    out = document(text, "b", "B.")
    assert "def b(x):\n    '''B.'''\n    return x" in out


@pytest.mark.parametrize(
    ("content", "literal"),
    [
        ("Plain.", '"""Plain."""'),
        ('Say """hi""".', "'''Say \"\"\"hi\"\"\".'''"),
        ('Ends in a "quote"', "'''Ends in a \"quote\"'''"),
        ("Match \\d+.", 'r"""Match \\d+."""'),
        ("Ends in \\", '"""Ends in \\\\"""'),
        ("Both \"\"\" and ''' here", '"""Both \\"\\"\\" and \'\'\' here"""'),
    ],
)
def test_docstring_literal_is_always_a_valid_string(content: str, literal: str) -> None:
    assert docstring_literal(content, "    ", '"""') == literal
    code = f"def f():\n    {literal}\n"
    assert ast.get_docstring(ast.parse(code).body[0], clean=False) == content  # type: ignore[arg-type]


def test_long_one_line_docstring_wraps_its_quotes() -> None:
    content = "x" * 90
    literal = docstring_literal(content, "    ", '"""')
    assert literal == f'"""{content}\n    """'


def test_generate_inserts_below_the_comment_at_its_indentation() -> None:
    text = "def total(xs):\n    # sum the list\n    pass\n"
    block = parse(text, "python").comment_block_at(text.index("# sum"))
    assert block is not None
    out = apply_edits(text, [generate_edit(text, block, "s = 0\nfor x in xs:\n    s += x")])
    assert out == (
        "def total(xs):\n    # sum the list\n    s = 0\n    for x in xs:\n        s += x\n"
        "    pass\n"
    )
    ast.parse(out)


def test_generate_at_end_of_file_without_newline_crlf_and_tabs() -> None:
    text = "import os\r\n\r\nif True:\r\n\t# list files"
    block = parse(text, "python").comment_block_at(text.index("# list"))
    assert block is not None
    code = "for name in os.listdir():\n    print(name)"
    out = apply_edits(text, [generate_edit(text, block, code)])
    assert out == (
        "import os\r\n\r\nif True:\r\n\t# list files\r\n\tfor name in os.listdir():\r\n"
        "\t\tprint(name)\r\n"
    )
    ast.parse(out)


def test_replace_lines_edit_reindents() -> None:
    text = "def f():\n    x = undefined\n    return x\n"
    start = text.index("undefined")
    edit = replace_lines_edit(text, start, start + len("undefined"), "x = 1")
    assert apply_edits(text, [edit]) == "def f():\n    x = 1\n    return x\n"


# ---- versioned plans ---------------------------------------------------------------------

TEXT = "# one\nx = 1\n# two\ny = 2\n"


def insert_after(text: str, line: str, new: str) -> Edit:
    start = text.index(line)
    end = start + len(line) + 1
    return Edit(end, end, new, start, end)


def test_rebase_unchanged_and_shifted() -> None:
    plan = EditPlan("file:///a.py", 1, TEXT, (insert_after(TEXT, "# two", "z = 3\n"),))
    assert plan.rebase(TEXT) == plan.edits
    moved = "import os\n" + TEXT
    edits = plan.rebase(moved)
    assert edits is not None
    assert apply_edits(moved, edits) == "import os\n# one\nx = 1\n# two\nz = 3\ny = 2\n"


def test_rebase_refuses_a_changed_anchor() -> None:
    plan = EditPlan("file:///a.py", 1, TEXT, (insert_after(TEXT, "# two", "z = 3\n"),))
    assert plan.rebase(TEXT.replace("# two", "# three")) is None
    assert plan.rebase(TEXT.replace("# two\n", "")) is None


def test_rebase_insertion_point_must_still_start_a_line() -> None:
    text = "# two\ny = 2"
    plan = EditPlan("u", 1, text, (insert_after(text, "# two", "z = 3\n"),))
    assert plan.rebase("# two\n") is not None
    assert plan.rebase("# two\ny = 2") == plan.edits


def test_rebase_tells_identical_anchors_apart_by_order() -> None:
    text = "# todo\na = 1\n# todo\nb = 2\n"
    second = text.index("# todo", 1)
    edit = Edit(second + 7, second + 7, "pass\n", second, second + 7)
    plan = EditPlan("u", 1, text, (edit,))
    moved = "c = 0\n" + text
    edits = plan.rebase(moved)
    assert edits is not None
    assert apply_edits(moved, edits) == "c = 0\n# todo\na = 1\n# todo\npass\nb = 2\n"
    # A third copy appeared: which one was meant is unknowable.
    assert plan.rebase("# todo\n" + text) is None


def test_rebase_is_all_or_nothing() -> None:
    one = insert_after(TEXT, "# one", "a\n")
    two = insert_after(TEXT, "# two", "b\n")
    plan = EditPlan("u", 1, TEXT, (one, two))
    assert plan.rebase(TEXT.replace("# two", "# 2")) is None


@pytest.mark.parametrize(
    ("encoding", "character"),
    [(types.PositionEncodingKind.Utf16, 8), (types.PositionEncodingKind.Utf8, 10)],
)
def test_workspace_edit_positions_and_versions(
    encoding: types.PositionEncodingKind, character: int
) -> None:
    text = 'x = "🎉"\ny = 1\n'
    doc = TextDocument("file:///a.py", text, version=7, position_codec=PositionCodec(encoding))
    at = text.index('"', 5) + 1  # just after the closing quote
    edit = Edit(at, at, "  # ok", 0, at)
    versioned = workspace_edit(doc, [edit], document_changes=True)
    assert versioned == types.WorkspaceEdit(
        document_changes=[
            types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(
                    uri="file:///a.py", version=7
                ),
                edits=[
                    types.TextEdit(
                        range=types.Range(
                            start=types.Position(line=0, character=character),
                            end=types.Position(line=0, character=character),
                        ),
                        new_text="  # ok",
                    )
                ],
            )
        ]
    )
    plain = workspace_edit(doc, [edit], document_changes=False)
    assert plain.changes is not None
    assert list(plain.changes) == ["file:///a.py"]


# ---- JavaScript doc comments ---------------------------------------------------------------

JS = "/** Old. */\nfunction add(a, b) {\n  return a + b;\n}\n\nclass A {\n  m(x) { return x; }\n}\n"


def js_definition(text: str, name: str) -> Definition:
    return next(d for d in parse(text, "javascript").definitions() if d.name == name)


def test_jsdoc_replaces_the_old_comment() -> None:
    edit = doc_comment_edit(
        JS, js_definition(JS, "add"), "Add.\n\n@param a First.\n@param b Second."
    )
    out = apply_edits(JS, [edit])
    assert out.startswith(
        "/**\n * Add.\n *\n * @param a First.\n * @param b Second.\n */\nfunction add(a, b) {"
    )
    assert not parse(out, "javascript").has_errors


def test_jsdoc_above_an_indented_method() -> None:
    edit = doc_comment_edit(JS, js_definition(JS, "m"), "Identity.")
    out = apply_edits(JS, [edit])
    assert "class A {\n  /** Identity. */\n  m(x) { return x; }\n}" in out
    assert not parse(out, "javascript").has_errors
