"""Doc comments of the brace languages: how each writes one, and which parameters one
documents. Pure text functions, shared by the feature that places a doc comment, the answer
check and the offline engine that writes one.

- JavaScript, TypeScript, Java: a `/** ... */` block with `@param` tags.
- C and C++: Doxygen, a `/** ... */` block or `///` lines (the `cDocStyle` setting).
- Rust: `///` lines; parameters in a `# Arguments` list of `` * `name` - ... `` items.
- Go: `//` lines starting with the declared name; parameters are not tagged.
"""

from __future__ import annotations

import re
from typing import Literal

CDocStyle = Literal["block", "line"]

_PARAM_TAG = re.compile(r"^\s*[@\\]param(?:\[[a-z, ]+\])?\s+(?:\{[^}]*\}\s+)?\[?([\w$.]+)")
# A JSDoc `{type}` on a parameter tag: `@param {number} a`, `@param {number} [a=1]`.
_TYPED_PARAM = re.compile(r"^\s*@param\s+(\{[^}]*\}\s+(?:\[([\w$.]+)[^\]]*\]|([\w$.]+)))")
# A return tag, its optional `{type}` and its description: `@returns {string} The name.`
_RETURN_TAG = re.compile(r"^\s*@returns?\b\s*(?:\{([^}]*)\})?\s*(.*)$")
_RUST_ITEM = re.compile(r"^\s*[*-]\s+`([\w]+)`")
_HEADING = re.compile(r"^\s*#\s+(\w+)")

#: Languages whose doc comments tag parameters (so the tags must match the signature).
TAGGED = frozenset({"javascript", "typescript", "tsx", "java", "c", "cpp", "rust"})


def line_prefix(language: str, c_style: CDocStyle = "block") -> str | None:
    """The marker every line of a doc comment starts with, or None for a `/** */` block."""
    if language == "go":
        return "//"
    if language == "rust" or (language in ("c", "cpp") and c_style == "line"):
        return "///"
    return None


def format_doc_comment(
    content: str, language: str, indent: str, newline: str = "\n", c_style: CDocStyle = "block"
) -> str:
    """`content` (no markers) as the language's doc comment. The first line is not
    indented (it goes where the definition's line starts after its indentation); later
    lines are indented by `indent`."""
    lines = content.strip().split("\n")
    prefix = line_prefix(language, c_style)
    if prefix is not None:
        out = [f"{prefix} {line}".rstrip() for line in lines]
        return (newline + indent).join(out)
    if len(lines) == 1:
        return f"/** {lines[0]} */"
    inner = [f"{indent} * {line}".rstrip() for line in lines]
    return newline.join(["/**", *inner, f"{indent} */"])


def documented_parameters(content: str, language: str) -> list[str] | None:
    """The parameter names a doc comment documents, in order; None when it has no
    parameter tags (or section) at all, or the language does not tag them."""
    if language not in TAGGED:
        return None
    if language == "rust":
        names: list[str] = []
        section: str | None = None
        for line in content.split("\n"):
            heading = _HEADING.match(line)
            if heading:
                section = heading.group(1).lower()
                continue
            item = _RUST_ITEM.match(line)
            if section in ("arguments", "parameters") and item:
                names.append(item.group(1))
        return names if section is not None and "# Arguments" in content else None
    found = [m.group(1) for line in content.split("\n") if (m := _PARAM_TAG.match(line))]
    return found or None


def parameter_descriptions(content: str, language: str) -> dict[str, str]:
    """What an existing doc comment says about each parameter (to keep when rewriting)."""
    out: dict[str, str] = {}
    for line in content.split("\n"):
        match = _PARAM_TAG.match(line) if language != "rust" else _RUST_ITEM.match(line)
        if match:
            rest = re.sub(r"^(?:=[^\]]*)?\]", "", line[match.end() :].strip()).strip()
            rest = re.sub(r"^[-:\u2013]\s*", "", rest)
            if rest:
                out[match.group(1)] = rest
    return out


def typed_parameters(content: str) -> dict[str, str]:
    """What an existing JSDoc writes after `@param` for each parameter it gives a `{type}`,
    by name: `{number} a`, `{number} [b=1]`."""
    out: dict[str, str] = {}
    for line in content.split("\n"):
        match = _TYPED_PARAM.match(line)
        if match:
            out[match.group(2) or match.group(3)] = match.group(1)
    return out


def return_tag(content: str) -> tuple[str | None, str | None]:
    """The `{type}` and the description of an existing `@returns`/`@return` tag."""
    for line in content.split("\n"):
        match = _RETURN_TAG.match(line)
        if match:
            return match.group(1), match.group(2).strip() or None
    return None, None


def summary_line(content: str | None) -> str | None:
    """The first paragraph of a doc comment, on one line; None when it has none."""
    if not content:
        return None
    first: list[str] = []
    for line in content.strip().split("\n"):
        if not line.strip() or line.lstrip().startswith(("@", "\\", "#")):
            break
        first.append(line.strip())
    return " ".join(first) or None
