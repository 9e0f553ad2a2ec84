"""Docstrings in the three styles: written, read back, and mended."""

from __future__ import annotations

import textwrap

import pytest

from lspilot.assistant.engines.docstrings import (
    STYLES,
    detect_style,
    documented_parameters,
    fix_parameters,
    format_docstring,
    parameter_descriptions,
    summary_from_name,
)
from lspilot.model import DocstringStyle, Parameter

PARAMS = (
    Parameter(name="path", annotation="str"),
    Parameter(name="strict", annotation="bool", default="False", kind="keyword"),
    Parameter(name="args", kind="var_positional"),
    Parameter(name="kwargs", kind="var_keyword"),
)


def test_google_format() -> None:
    text = format_docstring(
        "Load config.", PARAMS, "int", ["ValueError"], False, ["name"], "google"
    )
    assert text == textwrap.dedent(
        """\
        Load config.

        Args:
            path (str): The path.
            strict (bool, optional): Whether strict. Defaults to False.
            *args: Extra positional arguments.
            **kwargs: Extra keyword arguments.

        Returns:
            int: The result.

        Raises:
            ValueError: Raised on failure.

        Attributes:
            name: The name."""
    )


def test_numpy_format() -> None:
    text = format_docstring("Walk.", PARAMS[:2], "Iterator[str]", (), True, (), "numpy")
    assert text == textwrap.dedent(
        """\
        Walk.

        Parameters
        ----------
        path : str
            The path.
        strict : bool, optional
            Whether strict. Defaults to False.

        Yields
        ------
        str
            The values."""
    )


def test_sphinx_format() -> None:
    text = format_docstring("Load.", PARAMS[:1], "dict[str, int]", ["KeyError"], style="sphinx")
    assert text == textwrap.dedent(
        """\
        Load.

        :param path: The path.
        :type path: str
        :returns: The result.
        :rtype: dict[str, int]
        :raises KeyError: Raised on failure."""
    )


def test_summary_only_and_kept_descriptions() -> None:
    assert format_docstring("Run.", (), "None") == "Run."
    kept = format_docstring("Load.", PARAMS[:1], descriptions={"path": "Where it lives."})
    assert kept == "Load.\n\nArgs:\n    path (str): Where it lives."


@pytest.mark.parametrize("style", STYLES)
def test_documented_parameters_round_trip(style: DocstringStyle) -> None:
    text = format_docstring("Load.", PARAMS, "int", ["ValueError"], style=style)
    assert detect_style(text) == style
    assert documented_parameters(text) == ["path", "strict", "args", "kwargs"]
    assert documented_parameters(text, style) == ["path", "strict", "args", "kwargs"]
    descriptions = parameter_descriptions(text)
    assert descriptions["strict"] == "Whether strict. Defaults to False."


def test_documented_parameters_none_without_a_section() -> None:
    assert documented_parameters("Just a summary.\n\nMore words: here.") is None
    assert detect_style("Just a summary.") is None


def test_documented_parameters_handwritten_variants() -> None:
    google = (
        "Do it.\n\nArgs:\n    a (int): First,\n        wrapped.\n    b: Second.\n\nReturns:\n    x"
    )
    assert documented_parameters(google) == ["a", "b"]
    numpy = (
        "Do it.\n\nParameters\n----------\nx, y : float\n    Coordinates.\n\nReturns\n-------\nz"
    )
    assert documented_parameters(numpy) == ["x", "y"]
    sphinx = "Do it.\n\n:param int a: First.\n:param \\*rest: Others.\n:returns: z"
    assert documented_parameters(sphinx) == ["a", "rest"]
    unicode = "Grüße 😀.\n\nArgs:\n    名前: 漢字 description."
    assert documented_parameters(unicode) == ["名前"]


def test_summary_from_name() -> None:
    assert summary_from_name("load_config") == "Load config."
    assert summary_from_name("HTTPServer", "class") == "HTTP server."
    assert summary_from_name("is_valid") == "Return whether valid."
    init = summary_from_name("__init__", "method", "ConfigLoader")
    assert init == "Initialize the config loader."
    assert summary_from_name("_private_helper") == "Private helper."
    assert summary_from_name("加载") == "加载."


GOOGLE_LITERAL = '''"""Load it.

    Args:
        path (str): Where
            it lives.
        old: Gone.

    Returns:
        int: The value.
    """'''


def test_fix_google_keeps_existing_entries_and_other_sections() -> None:
    fixed = fix_parameters(GOOGLE_LITERAL, PARAMS[:2])
    assert (
        fixed
        == '''"""Load it.

    Args:
        path (str): Where
            it lives.
        strict (bool, optional): Whether strict. Defaults to False.

    Returns:
        int: The value.
    """'''
    )


def test_fix_numpy_orders_by_signature() -> None:
    literal = '''"""Load it.

        Parameters
        ----------
        old : int
            Gone.
        path : str
            Where.

        Returns
        -------
        int
        """'''
    fixed = fix_parameters(literal, PARAMS[:2])
    assert (
        fixed
        == '''"""Load it.

        Parameters
        ----------
        path : str
            Where.
        strict : bool, optional
            Whether strict. Defaults to False.

        Returns
        -------
        int
        """'''
    )


def test_fix_sphinx_and_crlf() -> None:
    literal = (
        '"""Load.\r\n\r\n    :param old: Gone.\r\n    :type old: int\r\n'
        '    :param path: Where.\r\n    :returns: x\r\n    """'
    )
    fixed = fix_parameters(literal, (*PARAMS[:1], Parameter(name="n")))
    assert fixed == (
        '"""Load.\r\n\r\n    :param path: Where.\r\n    :param n: The n.\r\n'
        '    :returns: x\r\n    """'
    )


def test_fix_removes_a_section_left_empty() -> None:
    literal = (
        '"""Run.\n\n    Args:\n        gone: Removed.\n\n    Returns:\n        int: x.\n    """'
    )
    assert fix_parameters(literal, ()) == '"""Run.\n\n    Returns:\n        int: x.\n    """'
    assert fix_parameters('"""No section."""', PARAMS) is None
