"""The server class the features use: what all of them share.

The settings, the assistant (created once the client is initialized), the privacy rules,
parsed sources per document version, background tasks, error reporting and the status
notification. Features import this module; `lspilot.server` builds the server and wires the
features in, so no feature imports the wiring.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from lspilot import __version__
from lspilot.assistant.tasks import Task
from lspilot.logs import set_level
from lspilot.settings import Settings, load_settings

if TYPE_CHECKING:
    from lspilot.assistant import Assistant
    from lspilot.privacy import Privacy
    from lspilot.syntax import Source

log = logging.getLogger("lspilot.server")

StatusBuilder = Callable[[], dict[str, Any]]

# Parsing a document smaller than this on the event loop costs well under a millisecond;
# bigger ones go to a thread so typing never waits on the parser.
PARSE_INLINE_LIMIT = 20_000


class LspilotServer(LanguageServer):
    """The lspilot language server."""

    def __init__(self) -> None:
        super().__init__("lspilot", __version__)
        self.settings = Settings()
        self.settings_problems: list[Any] = []
        self.settings_sources: dict[str, str] = {}
        self.root: Path | None = None
        self.init_options: dict[str, Any] | None = None
        self.pushed_config: dict[str, Any] | None = None
        self.engine_reason = ""
        self.on_settings_changed: list[Callable[[], None]] = []
        self._assistant: Assistant | None = None
        self._assistant_ready: asyncio.Future[Assistant] | None = None
        self._privacy: Privacy | None = None
        self._sources: dict[str, tuple[int | None, int, Source]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reported: set[str] = set()
        self._status_handle: asyncio.TimerHandle | None = None
        # The status feature sets the builder; other features add their counters by name.
        self.status_builder: StatusBuilder | None = None
        self.status_sections: dict[str, StatusBuilder] = {}

    # ---- shared services -------------------------------------------------------------------

    @property
    def privacy(self) -> Privacy:
        """Exclusion and redaction rules for the current settings."""
        if self._privacy is None:
            from lspilot.privacy import Privacy

            # Trust .lspilotignore for a second: no disk access per request or keystroke.
            self._privacy = Privacy(self.settings.privacy, self.root, recheck_s=1.0)
        return self._privacy

    @property
    def cache_dir(self) -> Path:
        """Where lspilot keeps files of its own (cache, explanation documents)."""
        if self.settings.cache.dir:
            return Path(self.settings.cache.dir).expanduser()
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("lspilot"))

    async def get_assistant(self) -> Assistant:
        """The assistant, once the server is initialized (waits for it if needed)."""
        if self._assistant is not None:
            return self._assistant
        if self._assistant_ready is None:
            self._assistant_ready = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._assistant_ready)

    @property
    def assistant_or_none(self) -> Assistant | None:
        """The assistant if it is ready, without waiting."""
        return self._assistant

    async def start_assistant(self) -> None:
        """Select the engine and open the cache (called once, after `initialized`)."""
        from lspilot.assistant import create_assistant

        assistant = await create_assistant(self.settings, self.root)
        self._assistant = assistant
        assistant.on_change = self.notify_status
        self.engine_reason = assistant.engine_reason
        log.info(
            "engine %s (model %s): %s",
            assistant.engine.id,
            assistant.engine.model_for(Task.EXPLAIN),
            self.engine_reason,
        )
        if self._assistant_ready is None:
            self._assistant_ready = asyncio.get_running_loop().create_future()
        if not self._assistant_ready.done():
            self._assistant_ready.set_result(assistant)
        self.notify_status()

    def excluded(self, uri: str) -> str | None:
        """Why `uri` gets no model features, or None when it may use them."""
        path = to_fs_path(uri)
        if path is None:
            return None
        return self.privacy.excluded(path)

    async def source_of(self, doc: TextDocument) -> Source | None:
        """The syntax tree of `doc` at its current version; None for unknown languages."""
        from lspilot.syntax import language_of, parse, parse_plain, plain_language

        language = language_of(doc.uri, doc.language_id)
        parser = parse
        if language is None:  # no grammar: what the text allows (see syntax/text.py)
            language, parser = plain_language(doc.uri, doc.language_id), parse_plain
            if language is None:
                return None
        text = doc.source
        key = hash(text)
        cached = self._sources.get(doc.uri)
        if cached is not None and cached[0] == doc.version and cached[1] == key:
            return cached[2]
        if len(text) > PARSE_INLINE_LIMIT:
            source = await asyncio.to_thread(parser, text, language)
        else:
            source = parser(text, language)
        self._sources[doc.uri] = (doc.version, key, source)
        return source

    def forget(self, uri: str) -> None:
        """Drop what is kept for a closed document."""
        self._sources.pop(uri, None)

    def client_supports(self, field: str) -> bool:
        """Whether the client declared the capability at dotted `field` (pygls names)."""
        return bool(get_capability(self.client_capabilities, field, None))

    # ---- background work and errors ------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coro` in the background, keep it referenced, log (never raise) its failure."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self.report_error(exc, task.get_name())

    def report_error(self, err: BaseException, feature: str) -> None:
        """Tell the user once per kind of failure; log every time; never raise."""
        from lspilot.assistant.errors import AssistantError, AuthError

        if isinstance(err, AssistantError):
            kind = type(err).__name__
            log.warning("%s: %s (%s)", feature, err.user_message, err)
            message = f"lspilot: {err.user_message}"
            message_type = (
                types.MessageType.Error if isinstance(err, AuthError) else types.MessageType.Warning
            )
        else:
            kind = f"internal:{feature}"
            log.error("%s failed", feature, exc_info=err)
            message = f"lspilot: {feature} failed unexpectedly ({type(err).__name__}); see the log."
            message_type = types.MessageType.Error
        if kind not in self._reported:
            self._reported.add(kind)
            self.window_show_message(types.ShowMessageParams(type=message_type, message=message))
        self.notify_status()

    def notify_status(self) -> None:
        """Send `lspilot/status` soon (coalesced: many changes, one notification)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._status_handle is not None:
            return

        def send() -> None:
            self._status_handle = None
            if self.status_builder is None:
                return
            try:
                self.protocol.notify("lspilot/status", self.status_builder())
            except Exception:  # the client may be gone; status is best effort
                log.debug("could not send status", exc_info=True)

        self._status_handle = loop.call_later(0.1, send)

    # ---- settings ------------------------------------------------------------------------

    async def reload_settings(self) -> None:
        """Read every settings source again and apply the result."""
        client_config = self.pushed_config
        if self.client_supports("workspace.configuration"):
            try:
                scope = self.root.as_uri() if self.root else None
                answer = await self.workspace_configuration_async(
                    types.ConfigurationParams(
                        items=[types.ConfigurationItem(section="lspilot", scope_uri=scope)]
                    )
                )
                if answer and isinstance(answer[0], dict):
                    client_config = answer[0]
            except Exception as exc:  # a client that fails here must not stop the server
                log.warning("workspace/configuration failed: %s", exc)
        loaded = load_settings(
            self.root, init_options=self.init_options, client_config=client_config
        )
        old = self.settings
        self.settings = loaded.settings
        self.settings_sources = loaded.sources
        self._privacy = None
        set_level(self.settings.log_level)
        new_problems = [p for p in loaded.problems if p not in self.settings_problems]
        self.settings_problems = loaded.problems
        for problem in new_problems:
            log.warning("settings: %s", problem.message)
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning, message=f"lspilot: {problem.message}"
                )
            )
        if self._assistant is not None and old != self.settings:
            self._reported.clear()
            self._assistant.reconfigure(self.settings)
        for callback in self.on_settings_changed:
            callback()
        self.notify_status()

    async def aclose(self) -> None:
        """Stop background work and close the assistant."""
        for task in list(self._tasks):
            task.cancel()
        if self._assistant is not None:
            await self._assistant.aclose()
