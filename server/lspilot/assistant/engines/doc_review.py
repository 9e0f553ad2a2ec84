"""The offline review of doc comments in the brace languages (JavaScript, TypeScript, Go,
Rust, Java, C, C++): public definitions without one, and doc comments whose parameter tags
do not match the signature. Each issue quotes the code verbatim and carries its fix.
"""

from __future__ import annotations

from lspilot.assistant.engines.doc_writers import write_doc_comment
from lspilot.assistant.tasks import ReviewIssue
from lspilot.settings import Settings
from lspilot.syntax import Definition, Source
from lspilot.syntax.doc_comments import documented_parameters, format_doc_comment
from lspilot.syntax.offsets import line_end, newline_of

_DOCUMENTABLE = ("function", "method", "class")


def is_public(definition: Definition, source: Source) -> bool:
    """Whether the language exports `definition` (so it deserves a doc comment)."""
    name, words = definition.name, definition.signature.split()
    if not name or name.startswith(("_", "#")):
        return False
    language = source.language
    if language == "go":
        public = name[:1].isupper()
    elif language == "rust":
        public = bool(words) and words[0].startswith("pub")
    elif language == "java":
        public = "private" not in words
    elif language in ("c", "cpp"):
        public = "static" not in words
    else:
        public = True
    if not public:
        return False
    # Definitions nested in functions are implementation details.
    return not any(
        d.kind in ("function", "method") and d.start < definition.start and definition.end <= d.end
        for d in source.definitions()
    )


def _doc_text(source: Source, definition: Definition, existing: str | None) -> str:
    return write_doc_comment(
        source.language,
        definition.name,
        definition.kind,
        definition.parameters,
        definition.returns,
        definition.raises,
        existing,
    )


def review_doc_comments(source: Source, settings: Settings) -> list[ReviewIssue]:
    """Missing and mismatched doc comments in `source`."""
    code, newline = source.text, newline_of(source.text)
    c_style = settings.code_actions.c_doc_style
    issues: list[ReviewIssue] = []
    for d in source.definitions():
        if d.kind not in _DOCUMENTABLE or d.signature.startswith("impl"):
            continue
        where = f"`{d.qualified_name}`"
        if d.docstring is None or d.docstring_start is None or d.docstring_end is None:
            if not settings.diagnostics.missing_docstrings or not is_public(d, source):
                continue
            quote = code[d.start : line_end(code, d.start)].rstrip()
            if not quote.strip():
                continue
            block = format_doc_comment(
                _doc_text(source, d, None), source.language, d.indent, newline, c_style
            )
            issues.append(
                ReviewIssue(
                    quote=quote,
                    message=f"Public {d.kind} {where} has no doc comment.",
                    severity="information",
                    fix=block + newline + d.indent + quote,
                )
            )
            continue
        documented = documented_parameters(d.docstring, source.language)
        if documented is None or d.kind == "class":
            continue
        actual = [p.name for p in d.parameters if p.name != "..."]
        extra = [n for n in documented if n not in actual]
        missing = [n for n in actual if n not in documented]
        if not extra and not missing:
            continue
        problems = []
        if extra:
            problems.append(
                "documents " + ", ".join(f"`{n}`" for n in extra) + " (no such parameter)"
            )
        if missing:
            problems.append("does not document " + ", ".join(f"`{n}`" for n in missing))
        fix = format_doc_comment(
            _doc_text(source, d, d.docstring), source.language, d.indent, newline, c_style
        )
        issues.append(
            ReviewIssue(
                quote=code[d.docstring_start : d.docstring_end],
                message=f"The doc comment of {where} " + " and ".join(problems) + ".",
                severity="warning" if extra else "information",
                fix=fix,
            )
        )
    return issues
