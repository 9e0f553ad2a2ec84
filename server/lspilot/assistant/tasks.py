"""The task-level API of the provider layer: typed inputs and validated results.

Features ask for one of four tasks; engines (OpenAI-compatible, offline) answer them. Neither
side knows about the other's details: features never see prompts, engines never see LSP.
Every input is a frozen pydantic model so that it can be hashed into a cache key, and every
result carries its provenance (`meta`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from lspilot.model import DocstringStyle, Parameter, Severity, Task

__all__ = ["DocstringStyle", "Parameter", "Severity", "Task"]  # shared types, re-exported


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Usage(_Frozen):
    """Tokens spent by one model call (zero for the offline engine and cache hits)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: True when the server sent no usage and these are lspilot's estimate.
    estimated: bool = False
    #: True when the server sent no usage and the model's tokenizer counted these.
    tokenizer: bool = False

    @property
    def source(self) -> TokenSource:
        """Who counted: "reported" (the server), "tokenizer" (the model's) or "estimated"."""
        if self.tokenizer:
            return "tokenizer"
        return "estimated" if self.estimated else "reported"


#: Where a request's token counts came from (status `tokensCounted`, the usage log).
TokenSource = Literal["reported", "tokenizer", "estimated"]


class ResultMeta(_Frozen):
    """Where a result came from."""

    engine: str = ""
    model: str = ""
    usage: Usage = Usage()
    cached: bool = False
    #: False for an answer that was cut short (kept for the user, never cached).
    complete: bool = True
    #: Counts the answer's tokens with the model's tokenizer (None: it cannot), set by an
    #: engine whose server sent no usage; the gateway runs it after the answer is out.
    _count: Callable[[], Awaitable[Usage | None]] | None = PrivateAttr(default=None)

    def count_later(self, count: Callable[[], Awaitable[Usage | None]]) -> None:
        """Attach how to count this answer's tokens once it has been delivered."""
        self._count = count

    @property
    def counter(self) -> Callable[[], Awaitable[Usage | None]] | None:
        """What `count_later` attached, or None."""
        return self._count


# ---- inputs -------------------------------------------------------------------------------


class TaskInput(_Frozen):
    """Common fields of every task input.

    `feedback` is set only on a repair round: it tells the engine what was wrong with its
    previous answer (so it is part of the cache key and a repaired answer is cached apart).
    """

    language: str = "python"
    feedback: str | None = None


class ExplainInput(TaskInput):
    """Explain a definition or a selection."""

    task: Literal[Task.EXPLAIN] = Task.EXPLAIN
    code: str
    name: str | None = None
    kind: str | None = None  # function, method, class, variable, import, selection
    context: str = ""  # code around it that helps (callers, the enclosing class, imports)


class DocumentInput(TaskInput):
    """Write the docstring of one definition (text only, no quotes or comment markers)."""

    task: Literal[Task.DOCUMENT] = Task.DOCUMENT
    name: str
    kind: str  # function, method, class
    code: str  # the whole definition
    signature: str
    parameters: tuple[Parameter, ...] = ()
    returns: str | None = None
    raises: tuple[str, ...] = ()
    yields: bool = False
    attributes: tuple[str, ...] = ()  # class attributes, for classes
    existing_docstring: str | None = None
    style: DocstringStyle = "google"
    context: str = ""  # what the definition uses (imports, helpers' signatures)


class GenerateInput(TaskInput):
    """Write the code that a comment block asks for."""

    task: Literal[Task.GENERATE] = Task.GENERATE
    comment: str
    before: str = ""  # code above the comment (trimmed to a budget by the feature)
    after: str = ""  # code below the insertion point
    indent: str = ""
    context: str = ""  # what the code around uses (imports, helpers' signatures)


class ReviewInput(TaskInput):
    """Review one chunk of code (a definition or the module remainder)."""

    task: Literal[Task.REVIEW] = Task.REVIEW
    code: str
    name: str | None = None
    context: str = ""


AnyTaskInput = ExplainInput | DocumentInput | GenerateInput | ReviewInput


# ---- results ------------------------------------------------------------------------------


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def without_lone_surrogates(text: str) -> str:
    """`text` with each lone surrogate (editors may send ``"\\ud800"``) as U+FFFD.

    One code point for one, and the same width in UTF-16 and UTF-8, so no offset or position
    moves; pydantic's constrained strings and UTF-8 encoders reject the surrogate itself.
    """
    return _LONE_SURROGATE.sub("\ufffd", text) if _LONE_SURROGATE.search(text) else text


class TaskResult(BaseModel):
    """Common fields of every task result."""

    model_config = ConfigDict(extra="forbid")
    meta: ResultMeta = ResultMeta()

    @field_validator("*", mode="before")
    @classmethod
    def _no_lone_surrogates(cls, value: Any) -> Any:
        # Answers built from a document with lone surrogates (the offline engine quotes it).
        return without_lone_surrogates(value) if isinstance(value, str) else value


class ExplainResult(TaskResult):
    markdown: str = Field(min_length=1)


class DocumentResult(TaskResult):
    docstring: str = Field(min_length=1)


class GenerateResult(TaskResult):
    code: str = Field(min_length=1)


class ReviewIssue(_Frozen):
    """One problem found by a review, anchored later by its quoted code, never by lines."""

    quote: str = Field(min_length=1)
    message: str = Field(min_length=1)
    severity: Severity = "warning"
    fix: str | None = None  # replacement text for `quote`, when the engine has one


class ReviewResult(TaskResult):
    issues: list[ReviewIssue] = []


RESULT_TYPES: dict[Task, type[TaskResult]] = {
    Task.EXPLAIN: ExplainResult,
    Task.DOCUMENT: DocumentResult,
    Task.GENERATE: GenerateResult,
    Task.REVIEW: ReviewResult,
}
