"""One exception hierarchy for the provider layer, each with a sentence for the user.

The sentence never contains a secret: engines build these from status codes and their own
words, never by echoing request headers or the endpoint's raw body.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base class: something kept the assistant from answering."""

    #: Whether the gateway may try again.
    retryable = False
    #: Default sentence shown to the user.
    user_message = "The assistant could not answer."

    def __init__(self, detail: str = "", *, user_message: str | None = None) -> None:
        super().__init__(detail or self.user_message)
        self.detail = detail
        if user_message is not None:
            self.user_message = user_message

    def __str__(self) -> str:
        return self.detail or self.user_message


class AuthError(AssistantError):
    user_message = (
        "The model endpoint refused the API key (401/403). Set OPENAI_API_KEY (or the "
        "editor's lspilot API key) and check `lspilot doctor`."
    )


class RateLimitError(AssistantError):
    retryable = True
    user_message = "The model endpoint is rate limiting requests; lspilot will retry."

    def __init__(self, detail: str = "", *, retry_after: float | None = None, **kw: str) -> None:
        super().__init__(detail, **kw)
        self.retry_after = retry_after


class ModelTimeoutError(AssistantError):
    retryable = True
    user_message = (
        "The model did not answer in time (see the `requestTimeoutMs` and "
        "`firstTokenTimeoutMs` settings)."
    )


class FirstTokenTimeoutError(ModelTimeoutError):
    """The endpoint began its response but sent no token in time (`firstTokenTimeoutMs`).

    Not retryable: the request was streaming, and a local server reading a long prompt on a
    CPU would only be asked to start over (or, with one slot, cut the stream it is on).
    """

    retryable = False


class UnavailableError(AssistantError):
    retryable = True
    user_message = (
        "The model endpoint is unreachable or failing. Check `baseUrl` and run `lspilot doctor`."
    )


class BadRequestError(AssistantError):
    user_message = "The model endpoint rejected the request (400/404): check the `model` setting."


class BadOutputError(AssistantError):
    user_message = "The model's answer could not be used; nothing was changed."


class IncompleteAnswerError(AssistantError):
    """The answer was cut short (length, a stream ended early); it is not used or cached.

    Not retryable: the request was streaming, and asking a one-slot local server again at
    once is what cuts the next answer short too.
    """

    user_message = (
        "The model's answer was cut short, so nothing was changed; ask again, or raise "
        "`maxOutputTokens` / `stallTimeoutMs` for a slow local model."
    )


class PreemptedError(AssistantError):
    """A background request gave its slot to an interactive one and was stopped.

    Not a failure of anyone: the caller (the review pass) asks again later; nothing is
    cached, counted as an error, shown to the user or held against the endpoint.
    """

    user_message = "A background review made way for an interactive request."


class CircuitOpenError(AssistantError):
    user_message = (
        "lspilot paused model requests after repeated failures; it will try again shortly."
    )


class BudgetExceededError(AssistantError):
    user_message = "The daily token budget (`limits.dailyTokenBudget`) is used up."


class NotSupportedError(AssistantError):
    user_message = "This needs a model: configure one (see `lspilot doctor`)."
