"""The offline engine's doc comments for the brace languages, in each one's convention.

The text has no comment markers (the feature adds `/** */`, `///` or `//`): JSDoc/TSDoc and
Javadoc/Doxygen tags, Rust's `# Arguments`/`# Errors`/`# Panics` sections, Go's sentence
starting with the name. An existing doc comment's summary and parameter descriptions are kept.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lspilot.assistant.engines.docstrings import describe_parameter, summary_from_name, words
from lspilot.model import Parameter
from lspilot.syntax.doc_comments import (
    parameter_descriptions,
    return_tag,
    summary_line,
    typed_parameters,
)

_SIBILANT = re.compile(r"(?:s|sh|ch|x|z)$")


def _third_person(verb: str) -> str:
    """`load` -> `loads`, `fetch` -> `fetches`, `copy` -> `copies`."""
    if _SIBILANT.search(verb):
        return verb + "es"
    if verb.endswith("y") and len(verb) > 1 and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def go_summary(name: str, kind: str, existing: str | None) -> str:
    """A Go doc sentence starting with the name: "LoadConfig loads config."."""
    if existing and re.match(rf"(?:(?:A|An|The)\s+)?{re.escape(name)}\b", existing):
        return existing
    if existing:
        return f"{name} {existing[:1].lower()}{existing[1:]}"
    if kind == "class":
        text = " ".join(words(name)) or name
        article = "an" if text[:1].lower() in "aeiou" else "a"
        return f"{name} is {article} {text}."
    summary = summary_from_name(name, kind).rstrip(".")
    first, _, rest = summary.partition(" ")
    if not rest and first.lower().endswith(("ed", "ing", "s", "ly")):
        return f"{name} handles {first.lower()}."  # not a verb: "Exported", "Pending"
    verb = _third_person(first.lower())
    return f"{name} {verb}{' ' + rest if rest else ''}."


def _described(parameters: Sequence[Parameter], kept: dict[str, str]) -> list[tuple[str, str]]:
    return [(p.name, kept.get(p.name) or describe_parameter(p)) for p in parameters]


def _returns_text(returns: str) -> str:
    return f"The {' '.join(words(returns)) or 'result'}."


def write_doc_comment(
    language: str,
    name: str,
    kind: str,
    parameters: Sequence[Parameter],
    returns: str | None,
    raises: Sequence[str],
    existing: str | None,
    *,
    yields: bool = False,
    attributes: Sequence[str] = (),
) -> str:
    """The text of a doc comment for one definition, in `language`'s convention (a JS/TS
    class lists its `this.x` fields as `@property`). JavaScript has no types of its own, so
    the `{type}`s of an existing JSDoc are kept (and its `@returns`, though the tree cannot
    tell what a JavaScript function returns); no other language's comment carries a type."""
    summary = summary_line(existing) or summary_from_name(name, kind)
    kept = parameter_descriptions(existing, language) if existing else {}
    js_existing = existing if language == "javascript" else None
    typed = typed_parameters(js_existing) if js_existing else {}
    return_type, return_text = return_tag(existing) if existing else (None, None)
    if not js_existing:
        return_type = None
    params = [p for p in parameters if p.name not in ("...", "this", "self")]
    if language == "go":
        return go_summary(name, kind, summary_line(existing))
    if language == "rust":
        return _rustdoc(summary, params, returns, raises, kept)
    lines = [summary]
    tags: list[str] = []
    dash = " - " if language in ("typescript", "tsx") else " "
    for pname, text in _described(params, kept):
        if "{" in pname or "[" in pname:
            continue  # a destructured parameter has no name to tag
        tags.append(f"@param {typed.get(pname, pname)}{dash}{text}")
    if kind == "class" and language in ("javascript", "typescript", "tsx"):
        tags += [f"@property {a}{dash}The {' '.join(words(a)) or a}." for a in attributes]
    if kind != "class" and (returns or (js_existing and (return_type or return_text))):
        tag = "@returns" if language in ("javascript", "typescript", "tsx") else "@return"
        of_type = f"{{{return_type}}} " if return_type else ""
        tags.append(f"{tag} {of_type}{return_text or _returns_text(returns or '')}")
    braced = language in ("javascript", "typescript", "tsx")
    # `raises` holds only what the code visibly throws (`throw new X(...)`, a Java `throws`
    # clause); never a made-up `{Error}`, and nothing for `throw err`, whose class is unknown.
    for error in raises if language != "c" else ():
        tags.append(f"@throws {'{' + error + '}' if braced else error} Thrown on failure.")
    if yields and braced:
        tags.append("@yields The values.")
    return "\n".join([*lines, "", *tags] if tags else lines)


def _rustdoc(
    summary: str,
    params: list[Parameter],
    returns: str | None,
    raises: Sequence[str],
    kept: dict[str, str],
) -> str:
    parts = [summary]
    if params:
        items = [f"* `{pname}` - {text}" for pname, text in _described(params, kept)]
        parts.append("# Arguments\n\n" + "\n".join(items))
    if returns and re.match(r"^(?:\w+::)*Result\b", returns):
        parts.append("# Errors\n\nReturns an error when the operation fails.")
    if raises:
        what = ", ".join(f"`{r}`" for r in raises)
        parts.append(f"# Panics\n\nMay panic: it calls {what}.")
    return "\n\n".join(parts)
