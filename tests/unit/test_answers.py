"""lspilot.answers: every kind of garbage a model sends is cleaned or reported."""

from __future__ import annotations

import ast

import pytest

from lspilot.answers import (
    clean_docstring,
    code_blocks,
    docstring_params_match,
    drop_echoed_comment,
    indent_unit_of,
    pick_code,
    python_parses,
    reindent,
    strip_noise,
    strip_reasoning,
)
from lspilot.model import DocstringStyle, Parameter

CODE = "def add(a, b):\n    return a + b"


@pytest.mark.parametrize(
    "answer",
    [
        CODE,
        f"```python\n{CODE}\n```",
        f"```py\n{CODE}\n```\n",
        f"```\n{CODE}\n```",
        f"~~~python\n{CODE}\n~~~",
        f"````python\n{CODE}\n````",
        f"Here is the code:\n\n```python\n{CODE}\n```\n\nThis function adds two numbers.",
        f"Sure! Here's the implementation:\n{CODE}",
        f"Here is the code:\n\n{CODE}\n\nThis function adds two numbers.",
        f"<think>The user wants addition. ```js\nnope\n```</think>\n{CODE}",
        f"<think>\nreasoning\n</think>\n\n```python\n{CODE}\n```",
        f"<reasoning>hmm</reasoning>{CODE}",
        f"<THINKING a='1'>hmm</THINKING>\n{CODE}",
        f"reasoning without an opening tag</think>\n{CODE}",
        f"```python\r\n{CODE.replace(chr(10), chr(13) + chr(10))}\r\n```",
        f"```python\n{CODE}",  # unclosed fence (truncated answer)
        f"Below is the corrected version:\n```python\n{CODE}\n```",
    ],
)
def test_strip_noise_and_pick_code_recover_the_code(answer: str) -> None:
    assert strip_noise(answer) == CODE
    assert pick_code(answer, "python") == CODE


def test_dangling_open_think_leaves_nothing_of_the_thought() -> None:
    assert strip_reasoning(f"{CODE}\n<think>and now I wonder") == f"{CODE}\n"


def test_pick_code_prefers_the_requested_language() -> None:
    answer = (
        "In JavaScript:\n```javascript\nfunction add(a, b) {\n  return a + b;\n}\n"
        "// a much longer block than the python one, padding padding padding\n```\n"
        f"In Python:\n```python\n{CODE}\n```\n"
    )
    assert pick_code(answer, "python") == CODE
    assert pick_code(answer, "javascript").startswith("function add")


def test_pick_code_falls_back_to_neutral_then_largest_block() -> None:
    answer = f"```bash\npip install x\n```\n```\n{CODE}\n```"
    assert pick_code(answer, "python") == CODE
    only_foreign = "```js\nconsole.log(1)\n```\n```js\nlet x = 1;\nlet y = 2;\n```"
    assert pick_code(only_foreign, "python") == "let x = 1;\nlet y = 2;"


def test_code_blocks_keeps_order_and_languages() -> None:
    blocks = code_blocks("a\n```py\nx = 1\n```\nb\n```{.js}\ny\n```")
    assert [(b.language, b.code) for b in blocks] == [("py", "x = 1"), ("js", "y")]


def test_strip_noise_keeps_code_that_mentions_prose_words_inside() -> None:
    code = "def f():\n    # Here is a comment inside\n    return 1\n\n# This code is fine"
    assert strip_noise(code) == code


@pytest.mark.parametrize(
    ("code", "indent", "expected"),
    [
        ("x = 1\ny = 2", "    ", "    x = 1\n    y = 2"),
        ("        x = 1\n        y = 2", "    ", "    x = 1\n    y = 2"),
        ("if a:\n    b()\n\n    c()", "\t", "\tif a:\n\t    b()\n\n\t    c()"),
        ("x = 1\n        y = 2\n        z = 3", "", "x = 1\ny = 2\nz = 3"),
        ("if x:\n        y = 2", "", "if x:\n        y = 2"),
        ("\n\n  a = 1  \n\n", "  ", "  a = 1"),
        ("", "    ", ""),
    ],
)
def test_reindent(code: str, indent: str, expected: str) -> None:
    assert reindent(code, indent) == expected


def test_reindent_converts_nested_levels_to_the_files_unit() -> None:
    code = "for i in x:\n    if i:\n        print(i)"
    assert reindent(code, "\t", unit="\t") == "\tfor i in x:\n\t\tif i:\n\t\t\tprint(i)"
    tabbed = "for i in x:\n\tif i:\n\t\tprint(i)"
    assert reindent(tabbed, "  ", unit="  ") == "  for i in x:\n    if i:\n      print(i)"
    two = "for i in x:\n  if i:\n    print(i)"
    assert reindent(two, "", unit="    ") == "for i in x:\n    if i:\n        print(i)"


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("def f():\n\treturn 1\n", "\t"),
        ("def f():\n  if x:\n    return 1\n", "  "),
        ("def f():\n    return 1\n", "    "),
        ("x = 1\n", "    "),
    ],
)
def test_indent_unit_of(text: str, unit: str) -> None:
    assert indent_unit_of(text) == unit


def test_drop_echoed_comment() -> None:
    comment = "return the sum\nof a and b"
    assert drop_echoed_comment("# return the sum\n# of a and b\nx = a + b", comment) == "x = a + b"
    assert drop_echoed_comment("# return the sum\nx = a + b", comment) == (
        "# return the sum\nx = a + b"
    )


def test_python_parses() -> None:
    assert python_parses(CODE) is None
    err = python_parses("def f(:\n    pass")
    assert err is not None
    assert "line 1" in err
    assert python_parses("x = '\\0'") is None
    assert python_parses("x = 1\0") is not None


@pytest.mark.parametrize(
    "answer",
    [
        "Add two numbers.",
        '"""Add two numbers."""',
        "r'''Add two numbers.'''",
        '```python\n"""Add two numbers."""\n```',
        "/** Add two numbers. */",
        "/**\n * Add two numbers.\n */",
        "# Add two numbers.",
        "/// Add two numbers.",
        "<think>what do they want</think>Add two numbers.",
        'def add(a, b):\n    """Add two numbers."""\n    return a + b',
        '@cache\nasync def add(a, b):\n    """Add two numbers."""\n    return a + b',
        'Here is the docstring:\n\n"""Add two numbers."""',
    ],
)
def test_clean_docstring_one_line(answer: str) -> None:
    assert clean_docstring(answer) == "Add two numbers."


def test_clean_docstring_multi_line_is_dedented() -> None:
    answer = '"""Add two numbers.\n\n    Args:\n        a: First.\n        b: Second.\n    """'
    assert clean_docstring(answer) == "Add two numbers.\n\nArgs:\n    a: First.\n    b: Second."


def test_clean_docstring_keeps_inner_quotes() -> None:
    assert clean_docstring("Say \"hi\" to 'them'.") == "Say \"hi\" to 'them'."


def test_cleaned_code_parses() -> None:
    garbage = "Sure.\n```python\n    def add(a, b):\n        return a + b\n```\nDone!"
    code = reindent(pick_code(garbage, "python"), "")
    ast.parse(code)


# ---- docstring parameters ------------------------------------------------------------------

GOOGLE = "Add.\n\nArgs:\n    a: First.\n    *args: More.\n    key: A key.\n"
NUMPY = (
    "Add.\n\nParameters\n----------\na : int\n    First.\nargs\n    More.\nkey : str\n    A key.\n"
)
SPHINX = "Add.\n\n:param a: First.\n:param args: More.\n:param key: A key.\n"
SIGNATURE = (
    Parameter(name="a"),
    Parameter(name="args", kind="var_positional"),
    Parameter(name="key", kind="keyword"),
)


@pytest.mark.parametrize(
    ("docstring", "style"), [(GOOGLE, "google"), (NUMPY, "numpy"), (SPHINX, "sphinx")]
)
def test_docstring_params_match_each_style(docstring: str, style: DocstringStyle) -> None:
    assert docstring_params_match(docstring, SIGNATURE, style) is None
    assert docstring_params_match(docstring, ["self", "a", "*args", "key"], style) is None


def test_docstring_params_mismatch_says_what_to_fix() -> None:
    problem = docstring_params_match(GOOGLE, (Parameter(name="a"), Parameter(name="b")), "google")
    assert problem is not None
    assert "does not document `b`" in problem
    assert "`args`, `key`, which the signature does not have" in problem
    assert "Document exactly these parameters (google style): `a`, `b`." in problem


def test_docstring_without_parameter_section() -> None:
    assert docstring_params_match("Do it.", (), "google") is None
    assert docstring_params_match("Do it.", ["self"], "google") is None
    problem = docstring_params_match("Do it.", ["x"], "google")
    assert problem is not None
    assert "no google-style parameter section" in problem
