"""Docstrings read without compiling them give what Python gives (ast.literal_eval)."""

from __future__ import annotations

import ast
import inspect

import pytest

from lspilot.syntax import parse

LITERALS = [
    '"""One line."""',
    "'''Single quotes, three.'''",
    '"Plain double."',
    "'Plain single.'",
    '"""Summary.\n\n    Args:\n        x: a "quoted" word.\n    """',
    'r"""Raw, no escapes."""',
    'u"""Unicode prefix: café."""',
    '"""Escaped \\"quote\\" and a tab\\t."""',  # escapes: the slow path
    '"""Line one\r\n    line two\r\n    """',
]


@pytest.mark.parametrize("literal", LITERALS)
def test_docstring_equals_what_python_reads(literal: str) -> None:
    source = parse(f"def f():\n    {literal}\n    return 1\n", "python")
    (definition,) = [d for d in source.definitions() if d.name == "f"]
    assert definition.docstring == inspect.cleandoc(ast.literal_eval(literal))
