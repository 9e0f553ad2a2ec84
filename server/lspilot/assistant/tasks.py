"""The task-level API of the provider layer: typed inputs and validated results.

Features ask for one of four tasks; engines (OpenAI-compatible, offline) answer them. Neither
side knows about the other's details: features never see prompts, engines never see LSP.
Every input is a frozen pydantic model so that it can be hashed into a cache key, and every
result carries its provenance (`meta`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lspilot.model import DocstringStyle, Parameter, Severity, Task

__all__ = ["DocstringStyle", "Parameter", "Severity", "Task"]  # shared types, re-exported


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Usage(_Frozen):
    """Tokens spent by one model call (zero for the offline engine and cache hits)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class ResultMeta(_Frozen):
    """Where a result came from."""

    engine: str = ""
    model: str = ""
    usage: Usage = Usage()
    cached: bool = False
    #: The answer was cut at the engine's size cap: shown, never cached.
    cut: bool = False


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


class GenerateInput(TaskInput):
    """Write the code that a comment block asks for."""

    task: Literal[Task.GENERATE] = Task.GENERATE
    comment: str
    before: str = ""  # code above the comment (trimmed to a budget by the feature)
    after: str = ""  # code below the insertion point
    indent: str = ""


class ReviewInput(TaskInput):
    """Review one chunk of code (a definition or the module remainder)."""

    task: Literal[Task.REVIEW] = Task.REVIEW
    code: str
    name: str | None = None
    context: str = ""


AnyTaskInput = ExplainInput | DocumentInput | GenerateInput | ReviewInput


# ---- results ------------------------------------------------------------------------------


class TaskResult(BaseModel):
    """Common fields of every task result."""

    model_config = ConfigDict(extra="forbid")
    meta: ResultMeta = ResultMeta()


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
