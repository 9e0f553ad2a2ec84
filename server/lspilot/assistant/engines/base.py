"""The engine contract: one attempt at one task, no retry, no cache, no limits.

The gateway (`lspilot.assistant.gateway.Assistant`) wraps an engine with everything else, so
an engine stays a thin translation between a task input and a task result.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from lspilot.assistant.tasks import AnyTaskInput, Task, TaskResult


@runtime_checkable
class Engine(Protocol):
    """What the gateway needs from an engine (OpenAI-compatible or offline)."""

    #: "openai", "ollama" or "offline"; part of the cache key and shown in the status.
    id: str

    def model_for(self, task: Task) -> str:
        """The model name used for `task` (part of the cache key)."""
        ...

    def describe(self) -> dict[str, str]:
        """Endpoint, model and the like for the status view; never a secret."""
        ...

    def supports(self, task: Task) -> bool:
        """Whether this engine can answer `task` at all (offline: no GENERATE)."""
        ...

    async def run(
        self, request: AnyTaskInput, *, max_output_tokens: int | None = None
    ) -> TaskResult:
        """One attempt at `request`; raises `AssistantError` subclasses.

        `max_output_tokens`: the most output to ask for (the budget's allowance), when less
        than the settings' `maxOutputTokens`.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
