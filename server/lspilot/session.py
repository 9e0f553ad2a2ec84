"""The server class the features use: what all of them share.

The settings, the assistant (created once the client is initialized), the privacy rules,
parsed sources per document version, background tasks, error reporting and the status
notification. Features import this module; `lspilot.server` builds the server and wires the
features in, so no feature imports the wiring.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from lspilot import __version__
from lspilot.documents import ParsedDocuments
from lspilot.logs import set_level
from lspilot.transport import LspilotProtocol, serve_stdio

if TYPE_CHECKING:
    from lspilot.assistant import Assistant
    from lspilot.privacy import Privacy
    from lspilot.settings import LoadedSettings, Settings
    from lspilot.syntax import Source

log = logging.getLogger("lspilot.server")

StatusBuilder = Callable[[], dict[str, Any]]
T = TypeVar("T")

# How long a request we send the client (showDocument, applyEdit, configuration, progress,
# refresh, registerCapability) may go unanswered before we carry on without its answer.
CLIENT_REPLY_TIMEOUT_S = 30.0
# Read at start-up, not a setting: tests of a client that never answers need not wait 30 s.
CLIENT_REPLY_TIMEOUT_ENV = "LSPILOT_CLIENT_REPLY_TIMEOUT_MS"
# The warm-up imports a module only after the client has been quiet this long.
WARM_UP_QUIET_S = 0.05
# What `create_assistant` imports, leaves first: `start_assistant` imports them one per loop
# step. At once they held the loop for 50 ms (idle) to 300 ms (busy machine) right after
# `initialized` (the loop-lag monitor's log), while the client sends didOpen and requests.
ASSISTANT_MODULES = (
    "tenacity",
    "pathspec",
    "lspilot.privacy",
    "lspilot.assistant.cache",
    "lspilot.assistant.metering",
    "lspilot.assistant.retry",
    "lspilot.assistant.gateway",
    "lspilot.answers",
    "lspilot.assistant.engines.openai_engine",
    "lspilot.assistant.selection",
)


def client_reply_timeout_s(environ: Mapping[str, str] = os.environ) -> float:
    """`CLIENT_REPLY_TIMEOUT_S`, or the positive number of ms in `CLIENT_REPLY_TIMEOUT_ENV`."""
    raw = environ.get(CLIENT_REPLY_TIMEOUT_ENV, "")
    ms = float(raw) if raw.replace(".", "", 1).isdigit() else 0.0
    return ms / 1000 if ms > 0 else CLIENT_REPLY_TIMEOUT_S


class LspilotServer(LanguageServer):
    """The lspilot language server."""

    def __init__(self) -> None:
        super().__init__("lspilot", __version__, protocol_cls=LspilotProtocol)
        # Validated on first use (`settings`): pydantic is not imported before `initialize`.
        self._settings: Settings | None = None
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
        #: The syntax trees of recently used documents (others are parsed again when asked).
        self.parsed = ParsedDocuments()
        #: Called at shutdown, before background tasks are cancelled (debouncers, timers).
        self.on_close: list[Callable[[], None]] = []
        #: Called with the URI of a document the editor closed (its buffer is gone).
        self.on_document_closed: list[Callable[[str], None]] = []
        #: True from `shutdown` on: failures then are the shutdown's, not the user's business.
        self.closing = False
        self.client_reply_timeout_s = client_reply_timeout_s()
        #: How serving over stdio ended: 0, 1 (`exit` without `shutdown`), 130 (Ctrl-C).
        self.exit_code = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reported: set[str] = set()
        self._status_handle: asyncio.TimerHandle | None = None
        # The status feature sets the builder; other features add their counters by name.
        self.status_builder: StatusBuilder | None = None
        self.status_sections: dict[str, StatusBuilder] = {}

    # ---- shared services -------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The settings in force.

        Read after `initialized` (`reload_settings`); a request served before that (the
        client's configuration is still on its way) gets them validated from what is known
        (initializationOptions, the workspace files, the environment), with the same
        messages: no request sees unvalidated settings.
        """
        if self._settings is None:
            self._apply_settings(self._load_settings(self.pushed_config))
        assert self._settings is not None
        return self._settings

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
        for name in ASSISTANT_MODULES:
            if name not in sys.modules:
                importlib.import_module(name)
                await asyncio.sleep(0)  # messages that arrived meanwhile come first
        from lspilot.assistant import create_assistant
        from lspilot.model import Task

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
        return await self.parsed.source_of(doc)

    def document(self, uri: str) -> TextDocument | None:
        """The open document `uri`, or None; never made up from disk for a closed one.

        (pygls's `get_text_document` reads the file when the client has not opened it,
        which fails for a missing file or an `untitled:` URI.)
        """
        doc: TextDocument | None = self.workspace.text_documents.get(unquote(uri))
        return doc

    async def ask_client(self, request: Awaitable[T], what: str, default: T) -> T:
        """The client's answer to a request we sent, or `default` if it fails or never comes."""
        try:
            return await asyncio.wait_for(request, self.client_reply_timeout_s)
        except TimeoutError:
            log.warning("%s: no answer from the client in %.1fs", what, self.client_reply_timeout_s)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
            log.info("%s: cancelled (shutdown)", what)  # pygls cancels it at shutdown
        except Exception as exc:  # a client error must not stop the feature
            log.warning("%s failed: %s", what, exc)
        return default

    async def create_progress_token(self, token: str, what: str) -> bool:
        """True once the client granted `token` (False if it refused or never answered)."""
        # Granted: answered (with null); `ask_client` gives False for an error or no answer.
        return (
            await self.ask_client(self.work_done_progress.create_async(token), what, False)
            is not False
        )

    def forget(self, uri: str) -> None:
        """Drop what is kept for a closed document."""
        self.parsed.forget(uri)

    # ---- transport -----------------------------------------------------------------------

    def start_io(self, stdin: Any = None, stdout: Any = None) -> None:
        """Serve over stdio until `exit` or end of input (`exit_code` says how it ended)."""
        self.exit_code = serve_stdio(self, stdin, stdout)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """pygls's report of a failure: logged; shown only for our own notification handlers.

        pygls pops up "Error in server" for every malformed message; a bad message is the
        client's business and gets a log line (and, for a request, the JSON-RPC error).
        """
        from pygls.exceptions import FeatureNotificationError

        if source is FeatureNotificationError and not self.closing:
            self.report_error(error, "a notification handler")
            return
        name = getattr(source, "__name__", str(source))
        if self.closing or getattr(self.protocol, "closed", False):
            log.debug("%s after shutdown: %s", name, error)
        else:
            log.warning("%s: %s", name, error)

    def client_supports(self, field: str) -> bool:
        """Whether the client declared the capability at dotted `field` (pygls names)."""
        return bool(get_capability(self.client_capabilities, field, None))

    # ---- background work and errors ------------------------------------------------------

    async def warm_up(self, modules: Iterable[str]) -> None:
        """Import `modules` (in order) one at a time, each when the client is quiet.

        What the features need (pydantic, the settings model, the parsers, ...) is not
        imported before `initialize` is answered. A request that needs a module imports it
        itself; otherwise it is imported here, between messages: an import holds the event
        loop (and, in a thread, the GIL), so one module per step, listed leaves first, keeps
        each step short. Never raises (a module that fails to import is the request's to
        report). Then the engine's `preload` (its HTTP client, built in a worker thread).
        """
        began, spent, count = time.perf_counter(), 0.0, 0
        for name in modules:
            if name in sys.modules:
                continue
            await self._client_quiet(WARM_UP_QUIET_S)
            if self.closing:
                return
            started = time.perf_counter()
            try:
                importlib.import_module(name)
            except Exception as exc:  # e.g. an optional dependency that is not installed
                log.debug("warm-up: %s not imported: %r", name, exc)
            else:
                count += 1
                log.debug("warm-up: %s in %.0f ms", name, (time.perf_counter() - started) * 1e3)
            spent += time.perf_counter() - started
            await asyncio.sleep(0)  # messages that arrived meanwhile come first
        log.debug(
            "warm-up done: %d module(s) imported in %.0f ms over %.1f s",
            count,
            spent * 1e3,
            time.perf_counter() - began,
        )
        # What was imported lives as long as the process: keep it out of every later full
        # garbage collection (the server's own start-up objects are frozen already, see
        # lspilot.cli.serve).
        gc.freeze()
        # Last, what the engine builds in a thread of its own (its HTTP client).
        assistant = await self.get_assistant()
        preload = getattr(assistant.engine, "preload", None)
        if preload is not None and not self.closing:
            await self._client_quiet(WARM_UP_QUIET_S)
            preload()

    async def _client_quiet(self, quiet_s: float) -> None:
        """Return once no message has come from the client for `quiet_s` seconds."""
        protocol: Any = self.protocol
        while True:
            left = quiet_s - (time.monotonic() - protocol.last_message_at)
            if left <= 0:
                return
            await asyncio.sleep(left)

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

        if self.closing:
            log.debug("%s failed during shutdown: %r", feature, err)
            return

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
        if self._status_handle is not None or self.closing:
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
            scope = self.root.as_uri() if self.root else None
            answer: Any = await self.ask_client(
                self.workspace_configuration_async(
                    types.ConfigurationParams(
                        items=[types.ConfigurationItem(section="lspilot", scope_uri=scope)]
                    )
                ),
                "workspace/configuration",
                None,
            )
            if answer and isinstance(answer[0], dict):
                client_config = answer[0]
        old = self._settings
        self._apply_settings(self._load_settings(client_config))
        if self._assistant is not None and old != self.settings:
            self._reported.clear()
            self._assistant.reconfigure(self.settings)
        for callback in self.on_settings_changed:
            callback()
        self.notify_status()

    def _load_settings(self, client_config: dict[str, Any] | None) -> LoadedSettings:
        from lspilot.settings import load_settings

        return load_settings(self.root, init_options=self.init_options, client_config=client_config)

    def _apply_settings(self, loaded: LoadedSettings) -> None:
        """Put `loaded` in force; tell the user about each problem not told before."""
        self._settings = loaded.settings
        self.settings_sources = loaded.sources
        self._privacy = None
        set_level(loaded.settings.log_level)
        new_problems = [p for p in loaded.problems if p not in self.settings_problems]
        self.settings_problems = loaded.problems
        for problem in new_problems:
            log.warning("settings: %s", problem.message)
            self.window_show_message(
                types.ShowMessageParams(
                    type=types.MessageType.Warning, message=f"lspilot: {problem.message}"
                )
            )

    async def aclose(self) -> None:
        """Stop background work and timers, then close the assistant (at `shutdown`)."""
        self.closing = True
        for callback in self.on_close:
            try:
                callback()
            except Exception:  # one feature's cleanup must not keep the others from theirs
                log.exception("cleanup at shutdown failed")
        if self._status_handle is not None:
            self._status_handle.cancel()
            self._status_handle = None
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)
        if self._assistant is not None:
            await self._assistant.aclose()
