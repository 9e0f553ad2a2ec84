"""Engine selection: which engine answers, and a sentence saying why.

`provider = "auto"` picks the OpenAI-compatible engine when a key or base URL is configured,
else a local Ollama that answers within a fraction of a second, else the offline engine.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from lspilot.assistant.engines.openai_engine import DEFAULT_BASE_URL, OpenAIEngine, public_url

if TYPE_CHECKING:
    from lspilot.assistant.engines.base import Engine
    from lspilot.settings import Settings

log = logging.getLogger(__name__)

#: How long `auto` waits for Ollama: it runs at start-up, so it must stay unnoticeable.
OLLAMA_PROBE_TIMEOUT_S = 0.2


def _warn_plain_http(url: str) -> None:
    from lspilot.privacy import endpoint_warning

    if warning := endpoint_warning(url):
        log.warning("%s", warning)


def _openai(settings: Settings) -> OpenAIEngine:
    key = settings.api_key.get_secret_value() if settings.api_key else None
    base_url = settings.base_url or DEFAULT_BASE_URL
    _warn_plain_http(base_url)
    # A base URL alone means a local server (vLLM, llama.cpp, LM Studio): they need no key.
    return OpenAIEngine(settings, base_url=base_url, api_key=key or "not-needed")


def _ollama(settings: Settings) -> OpenAIEngine:
    url = settings.ollama_url.rstrip("/")
    _warn_plain_http(url)
    return OpenAIEngine(
        settings,
        base_url=url + "/v1",
        api_key="ollama",
        engine_id="ollama",
        model=settings.ollama_model,
    )


def _offline(settings: Settings) -> Engine:
    # Lazy: the offline engine pulls in tree-sitter, which OpenAI users may never need.
    from lspilot.assistant.engines.offline import OfflineEngine

    engine: Engine = OfflineEngine(settings)
    return engine


async def ollama_answers(url: str, timeout: float = OLLAMA_PROBE_TIMEOUT_S) -> bool:  # noqa: ASYNC109
    """Whether an Ollama server answers `GET {url}/api/tags` with 200 within `timeout`."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.get(url.rstrip("/") + "/api/tags")
    except (httpx.HTTPError, OSError):
        return False
    return response.status_code == 200


async def select_engine(settings: Settings) -> tuple[Engine, str]:
    """The engine for `settings` and the reason it was chosen (also logged)."""
    provider = settings.provider
    engine: Engine
    if provider == "openai":
        engine = _openai(settings)
        reason = f"provider is openai ({public_url(engine.describe()['endpoint'])})"
        if not settings.api_key and not settings.base_url:
            reason += "; no API key is set, so requests will be refused"
    elif provider == "ollama":
        engine = _ollama(settings)
        reason = f"provider is ollama ({public_url(settings.ollama_url)})"
    elif provider == "offline":
        engine = _offline(settings)
        reason = "provider is offline"
    elif settings.api_key:
        engine = _openai(settings)
        reason = "an API key is set"
    elif settings.base_url:
        engine = _openai(settings)
        reason = f"baseUrl is set ({public_url(settings.base_url)})"
    elif await ollama_answers(settings.ollama_url):
        engine = _ollama(settings)
        reason = f"Ollama answered at {public_url(settings.ollama_url)}"
    else:
        engine = _offline(settings)
        reason = "no model configured (no API key, no baseUrl, no Ollama): offline engine"
    log.info("engine: %s (%s)", engine.id, reason)
    return engine, reason
