"""Model output to docstrings and doc comments: cleaned, and checked against the signature."""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

from lspilot.answers.code import code_blocks, strip_reasoning, trim_prose

if TYPE_CHECKING:
    from lspilot.model import DocstringStyle


class _NamedParameter(Protocol):
    @property
    def name(self) -> str: ...


# Parameters a docstring never documents.
_IMPLICIT_PARAMETERS = frozenset({"self", "cls", "mcs", "metacls", "/", "*", "", "..."})


def _parameter_names(parameters: Iterable[str | _NamedParameter]) -> list[str]:
    names = []
    for p in parameters:
        name = (p if isinstance(p, str) else p.name).lstrip("*").split(":")[0].strip()
        if name not in _IMPLICIT_PARAMETERS:
            names.append(name)
    return names


def docstring_params_match(
    docstring: str, parameters: Sequence[str | _NamedParameter], style: DocstringStyle
) -> str | None:
    """None when `docstring` documents exactly `parameters`, else what to fix, as a sentence.

    `self`/`cls` and the bare ``*``/``/`` markers are never expected; ``*args`` may be
    documented as ``args`` or ``*args``. A docstring without a parameter section is fine
    only when there is nothing to document.
    """
    from lspilot.docstrings import documented_parameters

    expected = _parameter_names(parameters)
    found = documented_parameters(docstring, style)
    documented = _parameter_names(found or [])
    if found is None and not expected:
        return None
    missing = [n for n in expected if n not in documented]
    extra = [n for n in documented if n not in expected]
    problems = []
    if found is None:
        problems.append(
            f"the docstring has no {style}-style parameter section; it must document "
            + ", ".join(f"`{n}`" for n in expected)
        )
    else:
        if missing:
            problems.append("it does not document " + ", ".join(f"`{n}`" for n in missing))
        if extra:
            problems.append(
                "it documents " + ", ".join(f"`{n}`" for n in extra) + ", which the "
                "signature does not have"
            )
    if not problems:
        return None
    wanted = ", ".join(f"`{n}`" for n in expected) or "none"
    return (
        "The docstring's parameters do not match the signature: "
        + "; ".join(problems)
        + f". Document exactly these parameters ({style} style): {wanted}."
    )


# A JSDoc-style type on a parameter or return tag: `@param {number} a`, `@returns {string}`.
_TYPED_TAG = re.compile(r"^\s*(?:\*\s*)?@(?:param|arg|argument|returns?)\s+\{", re.MULTILINE)


def doc_comment_problem(
    content: str, language: str, name: str, parameters: Sequence[str | _NamedParameter]
) -> str | None:
    """None when a doc comment's text fits its definition, else what to fix, as a sentence:
    a Go doc comment starts with the name; tagged ones (`@param`, Rust `# Arguments`)
    document exactly the real parameters; TSDoc tags carry no `{type}` (TypeScript has
    types, so a copy in the comment only goes stale)."""
    from lspilot.syntax.doc_comments import documented_parameters

    if language == "go":
        if name and not re.match(rf"(?:(?:A|An|The)\s+)?{re.escape(name)}\b", content):
            return f"A Go doc comment starts with the name: begin it with `{name}`."
        return None
    problems = []
    expected = _parameter_names(parameters)
    documented = documented_parameters(content, language)
    if documented is None:
        if expected:
            problems.append(
                "Document every parameter (" + ", ".join(f"`{n}`" for n in expected) + ")."
            )
    else:
        found = _parameter_names(documented)
        if found != expected and sorted(found) != sorted(expected):
            wanted = ", ".join(f"`{n}`" for n in expected) or "none"
            problems.append(
                f"The documented parameters do not match the signature: document exactly {wanted}."
            )
    if language in ("typescript", "tsx") and _TYPED_TAG.search(content):
        problems.append(
            "TypeScript has types: write `@param name - description` and `@returns description`,"
            " with no `{type}`."
        )
    return " ".join(problems) or None


_QUOTE_WRAP = re.compile(r"^[rRuUbB]{0,2}(?P<q>\"\"\"|'''|\"|')(?P<body>.*?)(?P=q)\s*$", re.DOTALL)


def _docstring_from_code(text: str) -> str | None:
    """When the model answered with the whole definition, the docstring inside it."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            return ast.get_docstring(node, clean=True)
    return None


def clean_docstring(text: str) -> str:
    """Docstring text without quotes, comment markers, fences or chatter.

    Handles answers that are a bare text, a quoted literal (``\"\"\"...\"\"\"``, ``r'''...'''``),
    a JSDoc/Javadoc block (``/** ... */``), ``#``/``///`` comment lines, or the whole
    definition with the docstring inside it. The result is dedented, with no trailing
    whitespace and no leading/trailing blank lines; empty when nothing usable is left.
    """
    text = strip_reasoning(text.replace("\r\n", "\n").replace("\r", "\n"))
    blocks = [b for b in code_blocks(text) if b.code.strip()]
    body = max(blocks, key=lambda b: len(b.code)).code if blocks else trim_prose(text)
    body = body.strip()
    if re.match(r"^(?:async\s+def|def|class)\s", body) or body.startswith("@"):
        inner = _docstring_from_code(body)
        if inner is not None:
            return inner.strip()
    quoted = _QUOTE_WRAP.match(body)
    if quoted and quoted["q"] not in quoted["body"]:
        body = quoted["body"]
    elif body.startswith("/*"):
        body = re.sub(r"^/\*+!?", "", body)
        body = re.sub(r"\*+/\s*$", "", body)
        body = "\n".join(re.sub(r"^\s*\*(?!/) ?", "", line) for line in body.split("\n"))
    elif all(re.match(r"^\s*(?:#|//)", line) for line in body.split("\n") if line.strip()):
        body = "\n".join(re.sub(r"^\s*(?:#+|/{2,}!?) ?", "", line) for line in body.split("\n"))
    lines = [line.rstrip() for line in body.split("\n")]
    # The first line of a docstring usually sits right after the quotes, unindented.
    first, rest = lines[0].strip(), textwrap.dedent("\n".join(lines[1:])).split("\n")
    result = "\n".join([first, *rest]) if len(lines) > 1 else first
    return result.strip("\n").strip()
