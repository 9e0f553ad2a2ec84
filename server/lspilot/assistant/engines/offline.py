"""The offline engine: answers from the syntax tree alone, no network, no model.

It sees only the task input, so it re-parses the code it is given. Explain describes a
definition (or summarises a selection), document writes a docstring skeleton in the asked
style, review checks docstrings against signatures; generate needs a model.
"""

from __future__ import annotations

from dataclasses import replace

from lspilot.assistant.engines.doc_review import review_doc_comments
from lspilot.assistant.engines.doc_writers import write_doc_comment
from lspilot.assistant.engines.docstrings import (
    documented_parameters,
    fix_parameters,
    format_docstring,
    parameter_descriptions,
    summary_from_name,
    summary_of,
)
from lspilot.assistant.errors import NotSupportedError
from lspilot.assistant.tasks import (
    AnyTaskInput,
    DocumentInput,
    DocumentResult,
    ExplainInput,
    ExplainResult,
    GenerateInput,
    Parameter,
    ResultMeta,
    ReviewInput,
    ReviewIssue,
    ReviewResult,
    Task,
    TaskResult,
)
from lspilot.positions import LINE_BREAK
from lspilot.settings import Settings
from lspilot.syntax import LANGUAGES, Definition, Source, parse
from lspilot.syntax.offsets import leading_whitespace, line_start, newline_of

MODEL = "syntax-tree"
_KIND_WORDS = {"var_positional": "variadic", "var_keyword": "keyword variadic"}


class OfflineEngine:
    """The Engine that needs nothing but the code: see docs/architecture.md."""

    id = "offline"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def model_for(self, task: Task) -> str:
        """Always the syntax tree."""
        return MODEL

    def describe(self) -> dict[str, str]:
        """What the status shows for this engine."""
        return {"engine": self.id, "model": MODEL, "endpoint": "none (local, no network)"}

    def supports(self, task: Task) -> bool:
        """Everything but generating code."""
        return task != Task.GENERATE

    async def run(
        self, request: AnyTaskInput, *, max_output_tokens: int | None = None
    ) -> TaskResult:
        """Answer one task from the syntax tree (CPU only; the caller keeps large inputs off
        the event loop)."""
        meta = ResultMeta(engine=self.id, model=MODEL)
        if isinstance(request, ExplainInput):
            return ExplainResult(markdown=explain(request), meta=meta)
        if isinstance(request, DocumentInput):
            return DocumentResult(docstring=document(request), meta=meta)
        if isinstance(request, ReviewInput):
            return ReviewResult(issues=review(request, self.settings), meta=meta)
        if isinstance(request, GenerateInput):
            raise NotSupportedError("the offline engine cannot generate code")
        raise NotSupportedError(f"unknown task {type(request).__name__}")

    async def aclose(self) -> None:
        """Nothing to release."""


def _source(code: str, language: str) -> Source | None:
    return parse(code, language) if language in LANGUAGES else None


def _main_definition(source: Source, name: str | None = None) -> Definition | None:
    """The definition the code *is*: the one named `name`, else the first definition when
    nothing but comments surrounds it."""
    definitions = source.definitions()
    if name:
        return next((d for d in definitions if d.name == name), None)
    if not definitions:
        return None
    first = definitions[0]
    before = LINE_BREAK.split(source.text[: first.start])
    after = source.text[first.end :].strip()
    comments = all(not x.strip() or x.strip().startswith(("#", "//", "/*", "*")) for x in before)
    return first if comments and not after else None


def _method_alone(request: ExplainInput) -> Definition | None:
    """A JavaScript/TypeScript method sent without its class parses only inside one."""
    if request.kind != "method" or request.language not in ("javascript", "typescript", "tsx"):
        return None
    wrapped = parse("class _ {\n" + request.code + "\n}", request.language)
    method = next((d for d in wrapped.definitions() if d.container == "_"), None)
    if method is None or wrapped.has_errors:
        return None
    owner = request.name.rsplit(".", 1)[0] if request.name and "." in request.name else None
    return replace(method, container=owner)


# ---- explain ------------------------------------------------------------------------------


def _parameter_line(parameter: Parameter) -> str:
    stars = {"var_positional": "*", "var_keyword": "**"}.get(parameter.kind, "")
    parts = [f"`{stars}{parameter.name}`"]
    if parameter.annotation:
        parts.append(f"`{parameter.annotation}`")
    if parameter.kind == "keyword":
        parts.append("keyword-only")
    elif parameter.kind in _KIND_WORDS:
        parts.append(_KIND_WORDS[parameter.kind])
    if parameter.default is not None:
        parts.append(f"default `{parameter.default}`")
    return "- " + ", ".join(parts)


def _names(names: tuple[str, ...] | list[str], limit: int = 12) -> str:
    shown = ", ".join(f"`{n}`" for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def explain_definition(
    definition: Definition, language: str, source: Source, kind: str | None = None
) -> str:
    """Markdown describing one definition: what a reader wants before reading the body.

    `kind` overrides the parsed kind: a method sent alone parses as a function.
    """
    kind = kind if kind in ("method", "function", "class") else definition.kind
    parameters = definition.parameters
    if kind == "method" and parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]
    kind = "async " + kind if definition.is_async else kind
    title = f"**{kind}** `{definition.qualified_name}`"
    lines = [title, "", f"```{language}", definition.signature, "```"]
    first = summary_of(definition.docstring)
    if first:
        lines += ["", first]
    if definition.decorators:
        lines += ["", "Decorated with " + _names([f"@{d}" for d in definition.decorators]) + "."]
    if parameters:
        lines += ["", "**Parameters**", *(_parameter_line(p) for p in parameters)]
    if definition.returns:
        lines += ["", f"**Returns** `{definition.returns}`"]
    if definition.yields:
        lines += ["", "**Yields** values (a generator)."]
    if definition.kind == "class":
        members = [
            d.name
            for d in source.definitions()
            if d.container == definition.name and definition.start < d.start < definition.end
        ]
        if definition.attributes:
            lines += ["", "**Attributes** " + _names(definition.attributes)]
        if members:
            lines += ["", "**Methods** " + _names(members)]
    if definition.calls:
        lines += ["", "**Calls** " + _names(definition.calls)]
    if definition.raises:
        lines += ["", "**Raises** " + _names(definition.raises)]
    if definition.docstring is None and definition.kind in ("function", "method", "class"):
        lines += ["", "_No docstring._"]
    return "\n".join(lines)


def explain(request: ExplainInput) -> str:
    """Markdown for a definition, or a summary of what a selection defines and calls."""
    source = _source(request.code, request.language)
    lines_count = request.code.count("\n") + 1
    if source is None:
        return f"{lines_count} lines of {request.language} code (no syntax support offline)."
    definition = _main_definition(source) or _method_alone(request)
    owner, _, name = (request.name or "").rpartition(".")
    if (
        definition is not None
        and owner
        and definition.container is None
        and definition.name == name
    ):
        definition = replace(definition, container=owner)  # a method sent without its class
    if definition is not None:
        return explain_definition(definition, request.language, source, request.kind)
    if request.kind in ("variable", "import", "parameter") and request.name:
        fence = f"```{request.language}\n{request.code.strip()}\n```"
        return f"**{request.kind}** `{request.name}`\n\n{fence}"
    defined = [d for d in source.definitions() if d.container is None or d.kind == "method"]
    calls = source.calls_in(0, len(request.code))
    parts = [f"**Selection** of {lines_count} line{'s' if lines_count != 1 else ''}."]
    if defined:
        parts.append(
            "Defines " + ", ".join(f"`{d.qualified_name}` ({d.kind})" for d in defined) + "."
        )
    if calls:
        parts.append("Calls " + _names(calls) + ".")
    if source.has_errors:
        parts.append(f"It does not parse ({source.error_count()} syntax error(s)).")
    if len(parts) == 1:
        parts.append("No definitions or calls in it.")
    return "\n\n".join(parts)


# ---- document -----------------------------------------------------------------------------


def document(request: DocumentInput) -> str:
    """A docstring for the definition: the existing summary and descriptions are kept."""
    source = _source(request.code, request.language)
    definition = _main_definition(source, request.name) if source else None
    if definition is not None:
        parameters, returns = definition.parameters, definition.returns
        raises, yields, attributes = definition.raises, definition.yields, definition.attributes
        existing = definition.docstring or request.existing_docstring
        container = definition.container
    else:
        parameters, returns = request.parameters, request.returns
        raises, yields, attributes = request.raises, request.yields, request.attributes
        existing, container = request.existing_docstring, None
    if request.kind == "method" and parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]  # a method sent alone parses as a function
    summary = summary_of(existing) or summary_from_name(request.name, request.kind, container)
    if request.language != "python":
        return write_doc_comment(
            request.language,
            request.name,
            request.kind,
            parameters,
            returns,
            raises,
            existing,
            yields=yields,
            attributes=attributes,
        )
    return format_docstring(
        summary,
        parameters,
        returns,
        raises,
        yields,
        attributes,
        request.style,
        parameter_descriptions(existing) if existing else None,
    )


# ---- review -------------------------------------------------------------------------------


def _is_public(definition: Definition, source: Source) -> bool:
    if definition.name.startswith("_") or (definition.container or "").startswith("_"):
        return False
    if any(d == "overload" or d.endswith((".setter", ".deleter")) for d in definition.decorators):
        return False
    # Functions nested in functions are implementation details.
    enclosing = source.enclosing_definition(definition.start - 1) if definition.start else None
    return not (
        enclosing is not None
        and enclosing.kind in ("function", "method")
        and enclosing.end >= definition.end
    )


def review(request: ReviewInput, settings: Settings) -> list[ReviewIssue]:
    """Deterministic docstring checks; each issue quotes the code verbatim and carries a fix."""
    if request.language != "python":
        source = _source(request.code, request.language)
        return review_doc_comments(source, settings) if source is not None else []
    source = parse(request.code, "python")
    code = request.code
    issues: list[ReviewIssue] = []
    for definition in source.definitions():
        if definition.kind not in ("function", "method"):
            if definition.kind == "class" and definition.docstring is None:
                issues.extend(_missing_docstring(definition, source, settings))
            continue
        if definition.docstring is None:
            issues.extend(_missing_docstring(definition, source, settings))
            continue
        documented = documented_parameters(definition.docstring)
        if documented is None or definition.docstring_start is None:
            continue
        actual = [p.name for p in definition.parameters]
        extra = [n for n in documented if n not in actual]
        missing = [n for n in actual if n not in documented]
        if not extra and not missing:
            continue
        quote = code[definition.docstring_start : definition.docstring_end]
        fix = fix_parameters(quote, definition.parameters)
        where = f"`{definition.qualified_name}`"
        if extra:
            issues.append(
                ReviewIssue(
                    quote=quote,
                    message=f"The docstring of {where} documents {_names(extra)}, "
                    f"which {'is not a parameter' if len(extra) == 1 else 'are not parameters'}.",
                    severity="warning",
                    fix=fix,
                )
            )
        if missing:
            issues.append(
                ReviewIssue(
                    quote=quote,
                    message=f"The docstring of {where} does not document {_names(missing)}.",
                    severity="information",
                    fix=fix,
                )
            )
    return issues


def _missing_docstring(
    definition: Definition, source: Source, settings: Settings
) -> list[ReviewIssue]:
    if not settings.diagnostics.missing_docstrings or not _is_public(definition, source):
        return []
    code = source.text
    one_line_body = code.count("\n", definition.header_end, definition.body_start) == 0
    # Quote from `def`/`class` (after decorators) to the header's ':'; a one-line body
    # takes the spaces after it too, so the fix can move the body onto its own line.
    header_start = line_start(code, definition.name_start)
    header_start += len(leading_whitespace(code, header_start))
    end = definition.body_start if one_line_body else definition.header_end
    quote = code[header_start:end]
    if not quote.strip():
        return []
    newline = newline_of(code)
    body = format_docstring(
        summary_from_name(definition.name, definition.kind, definition.container),
        definition.parameters,
        definition.returns,
        definition.raises,
        definition.yields,
        definition.attributes,
        settings.code_actions.docstring_style,
    )
    indent = definition.body_indent
    lines = body.split("\n")
    text = newline.join(indent + line if line and i else line for i, line in enumerate(lines))
    closing = f"{newline}{indent}" if len(lines) > 1 else ""
    literal = f'"""{text}{closing}"""'
    fix = quote[: definition.header_end - header_start] + newline + indent + literal
    if one_line_body:
        fix += newline + indent
    return [
        ReviewIssue(
            quote=quote,
            message=f"Public {definition.kind} `{definition.qualified_name}` has no docstring.",
            severity="information",
            fix=fix,
        )
    ]
