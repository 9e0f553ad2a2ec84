"""The provider layer: one task-level API (`Assistant`) in front of the engines.

Importing this package is cheap (`lspilot.settings` imports `lspilot.assistant.tasks`, which
runs this file): `Assistant` is loaded on first access, and the HTTP stack (httpx), diskcache and
the offline engine on first use.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lspilot.assistant.gateway import Assistant
    from lspilot.settings import Settings

__all__ = ["Assistant", "create_assistant"]


def __getattr__(name: str) -> Any:
    if name == "Assistant":
        from lspilot.assistant.gateway import Assistant

        return Assistant
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


async def create_assistant(settings: Settings, root: Path | None) -> Assistant:
    """Select the engine (see `selection.select_engine`), open the cache, build the Assistant.

    The cache opens lazily on first use, in a worker thread, so this never blocks on disk.
    """
    from lspilot.assistant.cache import ResultCache, cache_secrets
    from lspilot.assistant.gateway import Assistant
    from lspilot.assistant.selection import select_engine

    cache = ResultCache(settings.cache, secrets=cache_secrets(settings))
    cache.shared.start()  # the team cache connects while the engine is selected
    engine, reason = await select_engine(settings)
    return Assistant(settings, engine, cache, root=root, engine_reason=reason)
