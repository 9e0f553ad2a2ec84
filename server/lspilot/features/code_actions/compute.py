"""Run one action's task and turn the answer into edits on the text it was asked about.

Each action builds a task input (features never build prompts), a `validate` callback for
`Assistant.run_validated` and the edits. Validation computes the edits and checks them
*in place*: the docstring must document exactly the signature's parameters; a Python file
that parsed must still parse with the edit applied; other languages must not gain syntax
errors. A failed check is the repair round's feedback.

*Fix* for another server's diagnostic uses the ``generate`` task: the comment is the
diagnostic's message plus the code to rewrite (the enclosing definition, or the diagnostic's
lines when there is none or it is long), ``before``/``after`` are the code around it, and the
answer replaces that code. Nothing else changes shape, so one prompt and one cache serve both.
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field

from lspilot.answers import (
    clean_docstring,
    doc_comment_problem,
    docstring_params_match,
    drop_echoed_comment,
    pick_code,
    python_parses,
    reindent,
)
from lspilot.assistant.tasks import (
    AnyTaskInput,
    DocstringStyle,
    DocumentInput,
    DocumentResult,
    ExplainInput,
    GenerateInput,
    GenerateResult,
    TaskResult,
)
from lspilot.features.code_actions.edits import Edit, apply_edits
from lspilot.features.code_actions.offers import documentable
from lspilot.features.code_actions.placement import (
    after_line,
    doc_comment_edit,
    generate_edit,
    line_start,
    python_docstring_edit,
    replace_lines_edit,
)
from lspilot.redaction import restore_secrets, strings_in
from lspilot.syntax import LANGUAGES, Definition, Source, parse
from lspilot.syntax.doc_comments import CDocStyle

# Lines of code around a target sent as context (the engine clips further to its budget).
# A window rather than the whole file keeps the cache key stable under edits elsewhere.
CONTEXT_LINES_BEFORE = 60
CONTEXT_LINES_AFTER = 30
# A definition longer than this is not rewritten whole by *Fix*; only the diagnostic's lines.
FIX_MAX_DEFINITION_LINES = 80


@dataclass
class Job:
    """One task to run and how its answer becomes edits of `text`."""

    request: AnyTaskInput
    build: Callable[[TaskResult], list[Edit] | str]
    text: str
    edits: list[Edit] = field(default_factory=list)

    def validate(self, result: TaskResult) -> str | None:
        """`run_validated`'s callback: keep the edits, or say what is wrong with the answer."""
        built = self.build(result)
        if isinstance(built, str):
            return built
        # The model saw placeholders for secrets; the file gets the user's values back.
        originals = strings_in(self.request.model_dump())
        restored = []
        for edit in built:
            new_text = restore_secrets(edit.new_text, originals)
            if new_text is None:
                return UNRESTORABLE
            restored.append(dataclasses.replace(edit, new_text=new_text))
        self.edits = restored
        return None


UNRESTORABLE = (
    "The answer contains a redaction placeholder («redacted:…») that stands for no single "
    "value of the code it was given, so it would replace the user's secret; keep each "
    "placeholder exactly where it was, or leave that code out."
)


def lines_before(text: str, offset: int, count: int = CONTEXT_LINES_BEFORE) -> str:
    """Up to `count` whole lines ending before the line of `offset`."""
    start = line_start(text, offset)
    lines = LINE_BREAK_KEPT.findall(text[:start])
    return "".join(lines[-count:])


def lines_after(text: str, offset: int, count: int = CONTEXT_LINES_AFTER) -> str:
    """Up to `count` whole lines starting after the line of `offset`."""
    return "".join(LINE_BREAK_KEPT.findall(text[after_line(text, offset) :])[:count])


#: One line with its line break (LSP's breaks only; `str.splitlines` breaks at more).
LINE_BREAK_KEPT = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def check_document(text: str, edits: list[Edit], language: str) -> str | None:
    """None when `edits` keep `text` as valid as it was, else the problem as a sentence."""
    after = apply_edits(text, edits)
    if language == "python":
        if python_parses(text) is not None:
            return None  # it did not parse before: we cannot hold the answer to it
        return python_parses(after)
    if language not in LANGUAGES:
        return None  # no parser to hold the answer to
    before_errors = parse(text, language).error_count()
    if parse(after, language).error_count() > before_errors:
        return f"The code is not valid {language}: it adds syntax errors."
    return None


def _code_problem(code: str, language: str) -> str | None:
    if not code.strip():
        return "The answer contained no code. Reply with the code only."
    if language == "python":
        # Checked on its own too: files that did not parse are not checked as a whole.
        return python_parses(code)
    return None


# ---- generate ---------------------------------------------------------------------------


def generate_job(source: Source, comment_offset: int) -> Job | str:
    """Code for the comment block at `comment_offset`, inserted below it."""
    text, language = source.text, source.language
    block = source.comment_block_at(comment_offset)
    if block is None:
        return "There is no comment there any more."
    request = GenerateInput(
        language=language,
        comment=block.text,
        before=lines_before(text, block.start),
        after=lines_after(text, block.end),
        indent=block.indent,
    )

    def build(result: TaskResult) -> list[Edit] | str:
        assert isinstance(result, GenerateResult)
        # Flush left first: the indentation the model chose says nothing about ours.
        code = reindent(drop_echoed_comment(pick_code(result.code, language), block.text), "")
        problem = _code_problem(code, language)
        if problem:
            return problem
        edits = [generate_edit(text, block, code)]
        return check_document(text, edits, language) or edits

    return Job(request, build, text)


def generate_spans(source: Source, comment_offset: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """For Generate's workspace context: the comment block (its names come first) and the
    code around it (the enclosing definition, else the comment alone)."""
    block = source.comment_block_at(comment_offset)
    if block is None:
        return (comment_offset, comment_offset), (comment_offset, comment_offset)
    enclosing = source.enclosing_definition(block.start)
    around = (enclosing.start, enclosing.end) if enclosing is not None else (block.start, block.end)
    return (block.start, block.end), around


# ---- document ---------------------------------------------------------------------------


def document_job(
    source: Source, d: Definition, style: DocstringStyle, c_style: CDocStyle = "block"
) -> Job:
    """A docstring (or doc comment) for `d`, inserted or replacing the existing one."""
    text, language = source.text, source.language
    request = DocumentInput(
        language=language,
        name=d.name,
        kind=d.kind,
        code=d.text,
        signature=d.signature,
        parameters=d.parameters,
        returns=d.returns,
        raises=d.raises,
        yields=d.yields,
        attributes=d.attributes,
        existing_docstring=d.docstring,
        style=style,
    )

    def build(result: TaskResult) -> list[Edit] | str:
        assert isinstance(result, DocumentResult)
        content = clean_docstring(result.docstring)
        if not content:
            return "The answer contained no docstring text."
        if language != "python":
            problem = doc_comment_problem(content, language, d.name, d.parameters)
            if problem and d.kind != "class":
                return problem
            edits = [doc_comment_edit(text, d, content, language, c_style)]
            return check_document(text, edits, language) or edits
        if d.kind != "class":
            mismatch = docstring_params_match(content, d.parameters, style)
            if mismatch:
                return mismatch
        edits = [python_docstring_edit(text, d, content)]
        return check_document(text, edits, language) or edits

    return Job(request, build, text)


# ---- explain ----------------------------------------------------------------------------


def explain_request(
    source: Source | None, text: str, start: int, end: int, language: str
) -> ExplainInput:
    """What to explain: a definition when the range is exactly one, else the selection."""
    d = None
    if source is not None:
        d = next((x for x in source.definitions() if (x.start, x.end) == (start, end)), None)
    if d is not None:
        context = f"Defined in class {d.container}." if d.container else ""
        code = source.documented_text(d) if source is not None else d.text
        return ExplainInput(
            language=language, code=code, name=d.qualified_name, kind=d.kind, context=context
        )
    return ExplainInput(
        language=language,
        code=text[start:end],
        kind="selection",
        context=lines_before(text, start, 15) + "\n…\n" + lines_after(text, end, 10),
    )


# ---- fix --------------------------------------------------------------------------------


def fix_region(source: Source | None, text: str, start: int, end: int) -> tuple[int, int]:
    """The code a model fix rewrites: the enclosing definition if short, else the lines."""
    if source is not None:
        d = documentable(source, start)
        if d is not None and d.end >= end and d.text.count("\n") < FIX_MAX_DEFINITION_LINES:
            return line_start(text, d.start), d.end
    first = line_start(text, start)
    last = text.find("\n", max(start, end - 1))
    return first, len(text) if last == -1 else last


def fix_job(text: str, language: str, start: int, end: int, message: str) -> Job:
    """Rewrite ``text[start:end]`` (whole lines) so that `message` no longer applies."""
    region = text[start:end].replace("\r\n", "\n")
    request = GenerateInput(
        language=language,
        comment=(
            f"Fix: {message}\n"
            "Rewrite the following code so that this problem is gone, changing nothing else. "
            "Reply with the complete corrected code; it replaces the original:\n"
            + textwrap.dedent(region)
        ),
        before=lines_before(text, start),
        after=lines_after(text, end),
        indent=region[: len(region) - len(region.lstrip(" \t"))],
    )

    def build(result: TaskResult) -> list[Edit] | str:
        assert isinstance(result, GenerateResult)
        code = reindent(pick_code(result.code, language), "")
        problem = _code_problem(code, language)
        if problem:
            return problem
        if textwrap.dedent(code).strip() == textwrap.dedent(region).strip():
            return "The answer is the original code unchanged; it must fix the problem."
        edits = [replace_lines_edit(text, start, end, code)]
        return check_document(text, edits, language) or edits

    return Job(request, build, text)
