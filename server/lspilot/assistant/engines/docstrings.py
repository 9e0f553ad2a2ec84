"""Writing Python docstrings in the google, numpy and sphinx styles, and mending them.

`format_docstring` writes a docstring body (no quotes), and `fix_parameters` rewrites only the
parameter section of a docstring literal so that it matches a signature, keeping the rest of
the literal (quotes, indentation, other sections, existing descriptions) as written. Reading
docstrings is `lspilot.docstrings`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from lspilot.docstrings import (
    SPHINX_TYPE,
    STYLES,
    blank,
    detect_style,
    documented_parameters,
    parameter_descriptions,
    parse_sections,
    summary_of,
)
from lspilot.model import DocstringStyle, Parameter

__all__ = [
    "STYLES",
    "detect_style",
    "documented_parameters",
    "parameter_descriptions",
    "summary_of",
]


_DUNDERS = {
    "__init__": "Initialize the {owner}.",
    "__post_init__": "Finish initializing the {owner}.",
    "__call__": "Call the {owner}.",
    "__repr__": "Return the representation of the {owner}.",
    "__str__": "Return the string form of the {owner}.",
    "__eq__": "Compare the {owner} for equality.",
    "__hash__": "Return the hash of the {owner}.",
    "__len__": "Return the number of items.",
    "__iter__": "Iterate over the items.",
    "__enter__": "Enter the context.",
    "__exit__": "Exit the context.",
    "__aenter__": "Enter the async context.",
    "__aexit__": "Exit the async context.",
}
_PREFIXES = {
    "is": "Return whether {rest}.",
    "has": "Return whether it has {rest}.",
    "can": "Return whether it can {rest}.",
    "should": "Return whether it should {rest}.",
    "to": "Convert to {rest}.",
    "as": "Return as {rest}.",
    "from": "Create from {rest}.",
    "on": "Handle {rest}.",
}


# ---- writing ------------------------------------------------------------------------------


def words(name: str) -> list[str]:
    """`load_config` -> [load, config]; `HTTPServer` -> [HTTP, server]."""
    out = []
    for part in name.strip("_").split("_"):
        for word in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[^\W_]+", part):
            out.append(word if len(word) > 1 and word.isupper() else word.lower())
    return out


def summary_from_name(name: str, kind: str = "function", container: str | None = None) -> str:
    """A first line derived from the name: `load_config` -> "Load config."."""
    if name in _DUNDERS:
        owner = " ".join(words(container)) if container else "instance"
        return _DUNDERS[name].format(owner=owner)
    parts = words(name) or [name]
    if kind == "class":
        text = " ".join(parts)
    elif parts[0] in _PREFIXES and len(parts) > 1:
        text = _PREFIXES[parts[0]].format(rest=" ".join(parts[1:])).rstrip(".")
    else:
        text = " ".join(parts)
    return text[:1].upper() + text[1:] + "."


def describe_parameter(parameter: Parameter) -> str:
    """A placeholder description from the parameter's name and type."""
    if parameter.kind == "var_positional":
        return "Extra positional arguments."
    if parameter.kind == "var_keyword":
        return "Extra keyword arguments."
    parts = words(parameter.name) or [parameter.name]
    if parts[0] in ("is", "has", "use", "allow", "enable") or parameter.annotation == "bool":
        text = f"Whether {' '.join(parts)}."
    else:
        text = f"The {' '.join(parts)}."
    if parameter.default is not None:
        text += f" Defaults to {parameter.default}."
    return text


def _display_name(parameter: Parameter) -> str:
    stars = {"var_positional": "*", "var_keyword": "**"}.get(parameter.kind, "")
    return stars + parameter.name


def _yield_type(returns: str | None) -> str | None:
    """`Iterator[int]` -> `int`: what a generator annotated so yields."""
    match = re.match(
        r"^(?:typing\.|collections\.abc\.)?(?:Async)?(?:Iterator|Iterable|Generator)\[(.*)\]$",
        returns or "",
    )
    if not match:
        return None
    inner = match.group(1)
    depth = 0
    for index, char in enumerate(inner):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            return inner[:index].strip()
    return inner.strip()


def _entry_lines(
    parameter: Parameter, style: DocstringStyle, description: str, unit: str = "    "
) -> list[str]:
    """One parameter entry, without the section's indentation."""
    name = _display_name(parameter)
    if style == "google":
        annotation = parameter.annotation
        if annotation and parameter.default is not None:
            annotation += ", optional"
        return [f"{name} ({annotation}): {description}" if annotation else f"{name}: {description}"]
    if style == "numpy":
        kind = parameter.annotation or ""
        if parameter.default is not None:
            kind = f"{kind}, optional" if kind else "optional"
        return [f"{name} : {kind}" if kind else name, f"{unit}{description}"]
    lines = [f":param {parameter.name}: {description}"]  # `*args` is rst emphasis
    if parameter.annotation:
        lines.append(f":type {parameter.name}: {parameter.annotation}")
    return lines


def format_docstring(
    summary: str,
    parameters: Sequence[Parameter] = (),
    returns: str | None = None,
    raises: Sequence[str] = (),
    yields: bool = False,
    attributes: Sequence[str] = (),
    style: DocstringStyle = "google",
    descriptions: Mapping[str, str] | None = None,
) -> str:
    """A docstring body (no quotes, no indentation) in `style`.

    `descriptions` maps parameter names to descriptions to keep (from an existing
    docstring); other parameters get a placeholder derived from their name.
    """
    descriptions = descriptions or {}
    unit = "    "
    sections: list[list[str]] = []

    def section(title: str, body: list[str]) -> None:
        if style == "google":
            sections.append([f"{title}:", *(unit + line if line else line for line in body)])
        elif style == "numpy":
            sections.append([title, "-" * len(title), *body])
        else:
            sections.append(body)

    if parameters:
        body = []
        for parameter in parameters:
            text = descriptions.get(parameter.name) or describe_parameter(parameter)
            body.extend(_entry_lines(parameter, style, text, unit))
        section("Parameters" if style == "numpy" else "Args", body)
    yielded = _yield_type(returns) if yields else None
    if returns and returns != "None" and not yields:
        if style == "google":
            section("Returns", [f"{returns}: The result."])
        elif style == "numpy":
            section("Returns", [returns, f"{unit}The result."])
        else:
            section("Returns", [":returns: The result.", f":rtype: {returns}"])
    if yields:
        if style == "google":
            section("Yields", [f"{yielded}: The values." if yielded else "The values."])
        elif style == "numpy":
            section("Yields", [yielded or "object", f"{unit}The values."])
        else:
            section("Yields", [":yields: The values."])
    if raises:
        if style == "google":
            section("Raises", [f"{name}: Raised on failure." for name in raises])
        elif style == "numpy":
            section("Raises", [line for n in raises for line in (n, f"{unit}Raised on failure.")])
        else:
            section("Raises", [f":raises {name}: Raised on failure." for name in raises])
    if attributes:
        described = [f"The {' '.join(words(a)) or a}." for a in attributes]
        if style == "google":
            section("Attributes", [f"{a}: {d}" for a, d in zip(attributes, described, strict=True)])
        elif style == "numpy":
            body = [
                line for a, d in zip(attributes, described, strict=True) for line in (a, unit + d)
            ]
            section("Attributes", body)
        else:
            section(
                "Attributes",
                [f":ivar {a}: {d}" for a, d in zip(attributes, described, strict=True)],
            )
    blocks = [[summary.strip() or "."]]
    if style == "sphinx" and sections:
        blocks.append([line for body in sections for line in body])
    else:
        blocks.extend(sections)
    return "\n\n".join("\n".join(block) for block in blocks)


# ---- reading ------------------------------------------------------------------------------


def fix_parameters(
    literal: str, parameters: Sequence[Parameter], style: DocstringStyle | None = None
) -> str | None:
    """`literal` (a docstring as written, quotes and indentation included) with its
    parameter sections made to document exactly `parameters`, in signature order.

    Entries of existing parameters are kept verbatim; missing ones get a placeholder; entries
    of names that are not parameters are removed. None when there is no parameter section.
    """
    lines = literal.split("\n")
    eol = "\r" if lines and lines[0].endswith("\r") else ""
    sections = parse_sections(lines, style)
    if not sections:
        return None
    wanted = {p.name for p in parameters}
    elsewhere = {e.name for s in sections[1:] for e in s.entries if e.name in wanted}
    unit = "    "
    edits: list[tuple[int, int, list[str]]] = []
    for number, section in enumerate(sections):
        own = {e.name: e for e in section.entries}
        body: list[str] = []
        kept: list[tuple[int, int]] = []
        for parameter in parameters if number == 0 else ():
            entry = own.get(parameter.name)
            if entry is None and parameter.name in elsewhere:
                continue
            if entry is not None:
                kept.extend([(entry.start, entry.end), *entry.extra])
                body.extend(lines[entry.start : entry.end])
                body.extend(line for a, b in entry.extra for line in lines[a:b])
                continue
            for line in _entry_lines(parameter, section.style, describe_parameter(parameter), unit):
                body.append(section.indent + line + eol)
        if number:
            for entry in section.entries:
                if entry.name in wanted:
                    kept.append((entry.start, entry.end))
                    body.extend(lines[entry.start : entry.end])
        if section.style == "sphinx":
            # Other fields (:returns: ...) that sat among the parameter fields stay, after them.
            taken = {
                i
                for e in section.entries
                for a, b in [(e.start, e.end), *e.extra]
                for i in range(a, b)
            }
            body.extend(
                lines[i] for i in range(section.start, section.end)
                if i not in taken and not SPHINX_TYPE.match(lines[i]) and not blank(lines[i])
            )  # fmt: skip
        if body:
            edits.append((section.start, section.end, body))
        else:
            stop = section.end
            if (
                stop < len(lines)
                and blank(lines[stop])
                and section.header > 0
                and blank(lines[section.header - 1])
            ):
                stop += 1
            edits.append((section.header, stop, []))
    for start, end, body in sorted(edits, reverse=True):
        lines[start:end] = body
    return "\n".join(lines)
