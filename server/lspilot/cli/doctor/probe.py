"""The endpoint probe of `lspilot doctor`: the model list, then a one-token completion.

It talks to the endpoint with the same HTTP client and key the engine uses, but without lspilot's
retry, cache or limits: a doctor wants the endpoint's first answer, and its latency. Each
failure becomes one finding naming the fix; nothing echoes the key.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lspilot.cli.doctor.report import FAIL, OK, WARN, Section

if TYPE_CHECKING:
    from lspilot.assistant.engines.base import Engine
    from lspilot.assistant.engines.chat_client import ChatClient
    from lspilot.settings import Settings

#: Most model names quoted in a message about a wrong one.
SHOWN_MODELS = 8


@dataclass
class Failure:
    """An endpoint error sorted into what the user can do about it."""

    kind: str  # auth, connect, timeout, not_found, rate_limit, status, other
    status: int | None
    message: str


def classify(error: Exception, secret: str | None) -> Failure:
    """Sort an endpoint error (`lspilot.assistant.engines.chat_client`); its message
    scrubbed of the key."""
    from lspilot.assistant.engines.chat_client import (
        EndpointConnectionError,
        EndpointStatusError,
        EndpointTimeoutError,
    )

    message = str(getattr(error, "message", "") or error)
    if secret:
        message = message.replace(secret, "«redacted»")
    message = " ".join(message.split())[:200]
    if isinstance(error, EndpointTimeoutError):
        return Failure("timeout", None, message)
    if isinstance(error, EndpointConnectionError):
        return Failure("connect", None, message)
    if isinstance(error, EndpointStatusError):
        status = error.status_code
        if status in (401, 403):
            return Failure("auth", status, message)
        if status == 404:
            return Failure("not_found", status, message)
        if status == 429:
            return Failure("rate_limit", status, message)
        return Failure("status", status, message)
    return Failure("other", None, f"{type(error).__name__}: {message}")


def _ms(start: float) -> int:
    return round((time.perf_counter() - start) * 1000)


class Probe:
    """One probe run against one engine's endpoint."""

    def __init__(self, section: Section, settings: Settings, engine: Engine, key: str | None):
        self.section = section
        self.settings = settings
        self.engine = engine
        self.key = key
        self.where = engine.describe().get("endpoint", "")
        self.is_ollama = engine.id == "ollama"

    def client(self) -> ChatClient:
        """A client for the engine's endpoint (no retries: the doctor reports the first
        answer, not a retried one)."""
        from lspilot.assistant.engines.chat_client import ChatClient

        timeout = self.settings.request_timeout_ms / 1000
        return ChatClient(
            getattr(self.engine, "base_url", None) or self.where,
            self.key,
            timeout_s=timeout,
            connect_timeout_s=timeout,
            where=self.where,
        )

    def fatal(self, failure: Failure) -> bool:
        """Report a failure that stops the probe (auth, connection, timeout); True if it was."""
        if failure.kind == "auth":
            self.section.add(
                FAIL,
                f"{self.where} refused the API key ({failure.status})",
                "set OPENAI_API_KEY (or LSPILOT_API_KEY) to a valid key for this endpoint",
            )
        elif failure.kind == "connect":
            fix = (
                "start Ollama (`ollama serve`) or set ollamaUrl (LSPILOT_OLLAMA_URL)"
                if self.is_ollama
                else "start the server there, or set baseUrl (LSPILOT_BASE_URL) to where it runs"
            )
            self.section.add(FAIL, f"cannot connect to {self.where}", fix)
        elif failure.kind == "timeout":
            self.section.add(
                FAIL,
                f"{self.where} did not answer within {self.settings.request_timeout_ms} ms",
                "check that the server is up, or raise requestTimeoutMs",
            )
        else:
            return False
        return True

    async def models(self, client: ChatClient) -> list[str] | None:
        """The listed model ids, or None when the list is unavailable or the probe must stop."""
        start = time.perf_counter()
        try:
            ids = await client.models()
        except Exception as error:
            failure = classify(error, self.key)
            if self.fatal(failure):
                raise _Stop from None
            self.section.add(
                WARN,
                f"no model list from {self.where} ({failure.status or failure.message});"
                " the completion below still tells whether the model answers",
            )
            return None
        plural = "s" if len(ids) != 1 else ""
        self.section.add(OK, f"model list: {len(ids)} model{plural} in {_ms(start)} ms")
        return ids

    async def complete(self, client: ChatClient, model: str, listed: list[str] | None) -> bool:
        """A one-token completion with `model`, timed; whether it answered."""
        start = time.perf_counter()
        try:
            await client.complete(
                {
                    "model": model,
                    "messages": [{"role": "user", "content": "Reply with the word OK."}],
                    "max_tokens": 1,
                    "temperature": 0,
                }
            )
        except Exception as error:
            failure = classify(error, self.key)
            if self.fatal(failure):
                raise _Stop from None
            self.report(model, failure, listed)
            return False
        note = ""
        if listed is not None and model not in listed:
            note = " (not in the model list, but it answers)"
        self.section.add(OK, f"one-token completion with {model} in {_ms(start)} ms{note}")
        return True

    def report(self, model: str, failure: Failure, listed: list[str] | None) -> None:
        """A completion that failed for a reason other than key, connection or time."""
        unknown = failure.kind == "not_found" or (
            listed is not None and model not in listed and failure.kind == "status"
        )
        if unknown:
            shown = ", ".join(listed[:SHOWN_MODELS]) if listed else ""
            more = "…" if listed and len(listed) > SHOWN_MODELS else ""
            what = f"model `{model}` is not served by {self.where}"
            if shown:
                what += f" (it lists: {shown}{more})"
            self.section.add(FAIL, what, self.model_fix(model, listed))
        elif failure.kind == "rate_limit":
            self.section.add(
                WARN,
                f"{self.where} is rate limiting (429): the key works, requests are throttled",
                "wait, or lower limits.requestsPerMinute",
            )
        else:
            status = f" {failure.status}" if failure.status else ""
            self.section.add(
                FAIL,
                f"a completion with {model} failed:{status} {failure.message}",
                "run `lspilot doctor -v` and check the endpoint's own log",
            )

    def model_fix(self, model: str, listed: list[str] | None) -> str:
        """The setting that names `model`, and what to set it to."""
        if self.is_ollama:
            return f"`ollama pull {model}`, or set ollamaModel (LSPILOT_OLLAMA_MODEL)"
        overrides = self.settings.models.model_dump(by_alias=True)
        key = next((f"models.{t}" for t, m in overrides.items() if m == model), "model")
        variable = "LSPILOT_" + key.upper().replace(".", "__")
        target = f"one of: {', '.join(listed[:SHOWN_MODELS])}" if listed else "a model it serves"
        return f"set {key} ({variable}) to {target}"


class _Stop(Exception):
    """The endpoint cannot be used at all; later steps would only repeat the problem."""


async def check_endpoint(
    section: Section, settings: Settings, engine: Engine, key: str | None
) -> None:
    """Model list, then one token from every model the tasks use."""
    from lspilot.assistant.tasks import Task

    probe = Probe(section, settings, engine, key)
    client = probe.client()
    try:
        listed = await probe.models(client)
        answered = [
            model
            for model in dict.fromkeys(engine.model_for(task) for task in Task)
            if await probe.complete(client, model, listed)
        ]
        review = engine.model_for(Task.REVIEW)
        if review in answered:
            from lspilot.cli.doctor.features import check_features

            base_url = getattr(engine, "base_url", None) or probe.where
            await check_features(section, client, review, base_url, key)
    except _Stop:
        pass
    finally:
        await client.close()
