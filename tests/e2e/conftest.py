"""End-to-end test harness: a real pytest-lsp client drives the real server over stdio.

The server runs as ``python -m lspilot serve`` in a subprocess with an isolated environment
(no user config, no real key, a cache under ``tmp_path``), usually pointed at the fake model
server. The client announces the capabilities of a real editor (pytest-lsp's recorded VS Code
and Neovim capability sets), optionally varied: position encodings, ``codeAction/resolve``,
pull diagnostics. Everything the server sends is recorded so tests can assert on it, and every
wait is an event wait with a timeout (a hang guard), never a sleep.

Fixtures:

- ``client_name``: parametrizes a test over ``CLIENTS`` (ids ``vscode`` / ``neovim``).
- ``workspace``: an empty workspace folder under ``tmp_path``.
- ``model_env``: environment pointing the server at the ``model_server`` fake.
- ``offline_env``: environment forcing the offline engine.
- ``init_options``: ``initializationOptions`` for ``lsp_client`` (None; override it in a module
  or with ``@pytest.mark.parametrize("init_options", [...])``).
- ``lsp_client``: a started session for ``client_name`` with ``model_env`` and ``init_options``.
- ``open_session``: the :func:`lsp_session` factory with ``workspace`` and ``isolated_env`` as
  defaults, for tests that need other variants::

      async with open_session(client="neovim", env=model_env, resolve=False) as client:
          uri = client.open_doc(workspace / "a.py", "def f():\\n    pass\\n")
          hover = await client.text_document_hover_async(...)

- ``quiet_model_env``: ``model_env`` with review diagnostics off.
- ``shared_sessions`` (module scope, tests marked ``@SHARED``): servers started once per module
  for read-only tests, against ``shared_model_server`` (``shared_model``: the same fake as one
  test sees it, its own requests only). See "servers shared by the read-only tests" below.

Helpers for test files: ``action_session``, ``actions_at``, ``pick``, ``perform``,
``run_command``, ``fenced`` (code actions), ``hover_text``, ``lspilot_status``, ``run_lspilot``
(the command line). ``model_env`` sets a long ``hover.timeoutMs`` (a hang guard): a hover
waits for the model instead of a placeholder after the 4 s default; tests of the placeholder
set their own. Every timeout here is a hang guard, never a margin a loaded machine can miss.

Spec checks: ``LspSpecificationWarning`` is an error. Besides pytest-lsp's own checks, this
module checks that the server only uses ``workspace/applyEdit``, ``documentChanges``,
``window/showDocument`` and dynamic registration when the client announced them. A failed
check or a failing client handler fails the session when it closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.uris import from_fs_path, to_fs_path
from pytest_lsp import LanguageClient, LanguageClientProtocol, client_capabilities
from pytest_lsp.checks import PARAMS_CHECKS, check_params_of
from pytest_lsp.client import register_lsp_features
from tests.fakes.model_server import FakeModelServer

T = TypeVar("T")

CLIENTS = ["visual-studio-code", "neovim"]
CLIENT_IDS = {"visual-studio-code": "vscode", "neovim": "neovim"}
# What the recorded capability sets announce as clientInfo (pytest-lsp's latest files).
CLIENT_INFO = {
    "visual-studio-code": types.ClientInfo(name="Visual Studio Code", version="1.65.2"),
    "neovim": types.ClientInfo(name="Neovim", version="0.11.0"),
}
# Position encodings offered by default: VS Code speaks UTF-16 only (its recorded capabilities
# predate `general.positionEncodings`, so say it explicitly); Neovim prefers UTF-8.
DEFAULT_ENCODINGS = {"visual-studio-code": ["utf-16"], "neovim": ["utf-8", "utf-16"]}

SERVER_CMD = [sys.executable, "-m", "lspilot", "serve"]
FAKE_API_KEY = "test-key-not-a-secret"
TEST_MODEL = "test-model"

# Hang guards, not timing assertions: generous so a loaded machine never flakes (the suite runs
# beside other CPU-bound work on 2 cores; a server's shutdown and exit then take well over 10 s).
# They only decide how long a test that is failing anyway takes to say so.
STARTUP_TIMEOUT = 60.0
WAIT_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 60.0
#: How long a fake model request may be held or awaited (`await_requests`, `release.wait`).
MODEL_TIMEOUT = 60.0
#: `hover.timeoutMs` in ``model_env``: a hover waits for the model's answer (an event), never
#: for a 4 s default that a loaded machine can miss. Tests of the placeholder set their own.
HOVER_TIMEOUT_MS = "120000"
# wait_for also re-checks its predicate this often, for state that changes without a message
# from the server (the fake model server's log, files on disk).
_RECHECK_S = 0.05


def pytest_configure(config: pytest.Config) -> None:
    """Spec warnings are errors even if pyproject's filterwarnings changes."""
    config.addinivalue_line("filterwarnings", "error::pytest_lsp.checks.LspSpecificationWarning")


# ---- positions, independent of pygls ------------------------------------------------------
#
# The client computes positions and applies edits with its own code, not pygls's codec: a test
# oracle that shared the server's library would share its bugs.

_EOL = re.compile(r"\r\n|\r|\n")


def _units(text: str, encoding: str) -> int:
    """Length of `text` in code units of the position encoding (a lone surrogate, which an
    editor may send, is one UTF-16 unit and three UTF-8 bytes)."""
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _EOL.finditer(text))]


def _line_end(text: str, starts: list[int], line: int) -> int:
    """Offset of the end of `line`, before its line break."""
    if line + 1 < len(starts):
        end = starts[line + 1]
        while end > starts[line] and text[end - 1] in "\r\n":
            end -= 1
        return end
    return len(text)


def position_at(text: str, offset: int, encoding: str = "utf-16") -> types.Position:
    """The LSP position of string offset `offset` (code points) in `text`."""
    if not 0 <= offset <= len(text):
        raise ValueError(f"offset {offset} outside the text (length {len(text)})")
    starts = _line_starts(text)
    line = max(i for i, start in enumerate(starts) if start <= offset)
    return types.Position(line=line, character=_units(text[starts[line] : offset], encoding))


def offset_at(text: str, position: types.Position, encoding: str = "utf-16") -> int:
    """The string offset of an LSP position, strictly.

    A character past the end of its line means the end of the line and a line past the end
    means the end of the text (as the spec and editors do); a position inside a character
    (half a surrogate pair, inside a UTF-8 sequence) raises ValueError: that is the bug
    class this harness exists to catch.
    """
    starts = _line_starts(text)
    if position.line >= len(starts):
        return len(text)
    start, end = starts[position.line], _line_end(text, starts, position.line)
    units = 0
    for index in range(start, end):
        if units == position.character:
            return index
        units += _units(text[index], encoding)
        if units > position.character:
            raise ValueError(
                f"{position} splits the character {text[index]!r} ({encoding}) on line "
                f"{position.line}"
            )
    return end


def range_of(text: str, start: int, end: int, encoding: str = "utf-16") -> types.Range:
    """The LSP range of string offsets ``[start, end)``."""
    return types.Range(position_at(text, start, encoding), position_at(text, end, encoding))


def apply_text_edits(
    text: str, edits: Sequence[types.TextEdit | types.AnnotatedTextEdit], encoding: str = "utf-16"
) -> str:
    """Apply LSP text edits the way an editor does: all relative to the original text.

    Overlapping edits are a spec violation and raise ValueError. Inserts at the same
    position keep their order in the array.
    """
    spans = []
    for index, edit in enumerate(edits):
        start = offset_at(text, edit.range.start, encoding)
        end = offset_at(text, edit.range.end, encoding)
        if end < start:
            raise ValueError(f"edit {index} has its end before its start: {edit.range}")
        spans.append((start, end, index, edit.new_text))
    spans.sort(key=lambda span: (span[0], span[2]))
    out, cursor = [], 0
    for start, end, index, new_text in spans:
        if start < cursor:
            raise ValueError(f"edit {index} overlaps an earlier edit")
        out.append(text[cursor:start])
        out.append(new_text)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


# ---- capabilities -------------------------------------------------------------------------


def capabilities_for(
    client: str = "visual-studio-code",
    *,
    encodings: str | Sequence[str] | None = None,
    resolve: bool | None = None,
    pull_diagnostics: bool | None = None,
    work_done_progress: bool | None = None,
    show_document: bool | None = None,
    document_changes: bool | None = None,
    apply_edit: bool | None = None,
) -> types.ClientCapabilities:
    """A real editor's recorded capabilities, with the variants tests care about.

    Every keyword left as None keeps what the editor announces (and ``encodings`` keeps
    ``DEFAULT_ENCODINGS``); True/False forces support on or off.
    """
    caps = client_capabilities(client)
    if isinstance(encodings, str):
        encodings = [encodings]
    offered = list(encodings) if encodings is not None else DEFAULT_ENCODINGS.get(client)
    if offered is not None:
        caps.general = caps.general or types.GeneralClientCapabilities()
        caps.general.position_encodings = [types.PositionEncodingKind(e) for e in offered]

    text_document = caps.text_document = (
        caps.text_document or types.TextDocumentClientCapabilities()
    )
    if resolve is not None:
        code_action = text_document.code_action = (
            text_document.code_action or types.CodeActionClientCapabilities()
        )
        code_action.data_support = True if resolve else code_action.data_support
        code_action.resolve_support = (
            types.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None
        )
    if pull_diagnostics is not None:
        text_document.diagnostic = (
            types.DiagnosticClientCapabilities(dynamic_registration=False)
            if pull_diagnostics
            else None
        )
    window = caps.window = caps.window or types.WindowClientCapabilities()
    if work_done_progress is not None:
        window.work_done_progress = work_done_progress
    if show_document is not None:
        window.show_document = (
            types.ShowDocumentClientCapabilities(support=True) if show_document else None
        )
    workspace = caps.workspace = caps.workspace or types.WorkspaceClientCapabilities()
    if apply_edit is not None:
        workspace.apply_edit = apply_edit
    if document_changes is not None:
        workspace.workspace_edit = (
            workspace.workspace_edit or types.WorkspaceEditClientCapabilities()
        )
        workspace.workspace_edit.document_changes = document_changes
    return caps


# ---- extra spec checks on what the server asks of the client -------------------------------


def _register_check(method: str, check: Callable[[types.ClientCapabilities, Any], None]) -> None:
    # The registry is global to pytest-lsp; registering twice raises, so be idempotent.
    if method not in PARAMS_CHECKS:
        check_params_of(method=method)(check)


def _check_apply_edit(
    caps: types.ClientCapabilities, params: types.ApplyWorkspaceEditParams
) -> None:
    assert get_capability(caps, "workspace.apply_edit", False), (
        "Client does not support 'workspace/applyEdit'"
    )
    if params.edit.document_changes:
        assert get_capability(caps, "workspace.workspace_edit.document_changes", False), (
            "Client does not support 'documentChanges' in workspace edits"
        )


def _check_show_document(caps: types.ClientCapabilities, params: types.ShowDocumentParams) -> None:
    assert get_capability(caps, "window.show_document.support", False), (
        "Client does not support 'window/showDocument'"
    )


# Dynamic registration is only allowed where the client says `dynamicRegistration: true`.
_DYNAMIC = {
    types.WORKSPACE_DID_CHANGE_CONFIGURATION: "workspace.did_change_configuration",
    types.WORKSPACE_DID_CHANGE_WATCHED_FILES: "workspace.did_change_watched_files",
    types.WORKSPACE_EXECUTE_COMMAND: "workspace.execute_command",
    types.WORKSPACE_SYMBOL: "workspace.symbol",
    types.TEXT_DOCUMENT_DID_OPEN: "text_document.synchronization",
    types.TEXT_DOCUMENT_DID_CHANGE: "text_document.synchronization",
    types.TEXT_DOCUMENT_DID_CLOSE: "text_document.synchronization",
    types.TEXT_DOCUMENT_DID_SAVE: "text_document.synchronization",
    types.TEXT_DOCUMENT_HOVER: "text_document.hover",
    types.TEXT_DOCUMENT_CODE_ACTION: "text_document.code_action",
    types.TEXT_DOCUMENT_DIAGNOSTIC: "text_document.diagnostic",
    types.TEXT_DOCUMENT_COMPLETION: "text_document.completion",
}


def _check_register(caps: types.ClientCapabilities, params: types.RegistrationParams) -> None:
    for registration in params.registrations:
        path = _DYNAMIC.get(registration.method)
        if path is None:
            continue
        assert get_capability(caps, f"{path}.dynamic_registration", False), (
            f"Client does not support dynamic registration of {registration.method!r}"
        )


_register_check(types.WORKSPACE_APPLY_EDIT, _check_apply_edit)
_register_check(types.WINDOW_SHOW_DOCUMENT, _check_show_document)
_register_check(types.CLIENT_REGISTER_CAPABILITY, _check_register)


# ---- the client ---------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """pygls hands params of custom methods over as namedtuples; turn them into dicts."""
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


@dataclass
class OpenDocument:
    """A document as the client sees it."""

    uri: str
    text: str
    version: int
    language_id: str


class EditRejected(Exception):
    """A workspace edit the client refuses (stale version, bad range); the reason is sent."""


class _Protocol(LanguageClientProtocol):
    """Records every notification and wakes waiters on every incoming message."""

    _server: LspilotClient

    def _handle_notification(self, method_name: str, params: Any) -> None:
        self._server.notifications.append((method_name, params))
        super()._handle_notification(method_name, params)

    def handle_message(self, message: Any) -> None:
        try:
            super().handle_message(message)
        finally:
            # Handlers of the test client are synchronous, so what they record is in place
            # by now.
            self._server._wake()


class LspilotClient(LanguageClient):
    """pytest-lsp's client plus recording, document tracking and waiting helpers.

    Recorded (besides pytest-lsp's ``messages``, ``log_messages``, ``diagnostics``,
    ``progress_reports``, ``shown_documents``):

    - ``notifications``: every ``(method, params)`` in arrival order;
    - ``statuses``: ``lspilot/status`` params as plain dicts;
    - ``applied_edits``: ``workspace/applyEdit`` params (applied to open documents, version
      checked, unless ``accept_edits`` is False);
    - ``message_requests``: ``window/showMessageRequest`` params (answered with
      ``message_request_choice``, default: the first action);
    - ``registrations``: dynamic registrations;
    - ``handler_errors``: failures in client handlers and spec-check failures.
    """

    protocol: _Protocol

    def __init__(self, configuration: dict[str, Any] | None = None) -> None:
        super().__init__(protocol_cls=_Protocol, configuration=configuration)
        self.notifications: list[tuple[str, Any]] = []
        self.statuses: list[dict[str, Any]] = []
        self.applied_edits: list[types.ApplyWorkspaceEditParams] = []
        self.message_requests: list[types.ShowMessageRequestParams] = []
        self.registrations: list[types.Registration] = []
        self.handler_errors: list[str] = []
        self.documents: dict[str, OpenDocument] = {}
        self.accept_edits = True
        self.message_request_choice: Callable[
            [types.ShowMessageRequestParams], types.MessageActionItem | None
        ] = lambda params: params.actions[0] if params.actions else None
        self.init_result: types.InitializeResult | None = None
        self.workspace: Path | None = None
        self._event = asyncio.Event()
        self._progress_tokens = 0

    # -- plumbing --

    def _wake(self) -> None:
        self._event.set()

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Keep every failure (pytest-lsp only surfaces some) so the session can fail."""
        self.handler_errors.append(f"{getattr(source, '__name__', source)}: {error!r}")
        super().report_server_error(error, source)

    @property
    def server_capabilities(self) -> types.ServerCapabilities:
        """What the server announced in its ``initialize`` result."""
        assert self.init_result is not None, "session not initialized"
        return self.init_result.capabilities

    @property
    def position_encoding(self) -> str:
        """The negotiated position encoding ("utf-16" when the server names none)."""
        encoding = self.server_capabilities.position_encoding
        return str(getattr(encoding, "value", encoding) or "utf-16")

    @property
    def returncode(self) -> int | None:
        """The server process's exit code, None while it runs."""
        return self._server.returncode if self._server else None

    # -- waiting --

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109 - a deadline over many waits
        what: str | None = None,
    ) -> T:
        """Wait until ``predicate()`` is truthy and return its value.

        Re-checked after every message from the server (and every ~50 ms, for state outside
        the session). Raises AssertionError naming `what` on timeout or if the server exits.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if self.returncode is not None:
                raise AssertionError(
                    f"server exited (code {self.returncode}) while waiting for {what or predicate}"
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
            self._event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._event.wait(), min(remaining, _RECHECK_S))

    def notifications_of(self, method: str) -> list[Any]:
        """Params of every notification `method` received so far."""
        return [params for name, params in self.notifications if name == method]

    async def wait_for_notification_matching(
        self,
        method: str,
        where: Callable[[Any], bool] = lambda params: True,
        *,
        since: int = 0,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109
    ) -> Any:
        """The first `method` notification at index >= `since` (in ``notifications``) that
        satisfies `where`. Pass ``since=len(client.notifications)`` to ignore earlier ones."""

        def found() -> Any:
            for name, params in self.notifications[since:]:
                if name == method and where(params):
                    return (params,)
            return None

        return (await self.wait_for(found, timeout, what=method))[0]

    async def wait_for_diagnostics(
        self,
        uri: str,
        where: Callable[[types.PublishDiagnosticsParams], bool] = lambda params: True,
        *,
        since: int = 0,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109
    ) -> types.PublishDiagnosticsParams:
        """The first ``publishDiagnostics`` for `uri` (from index `since`) matching `where`."""
        return await self.wait_for_notification_matching(
            types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
            lambda params: params.uri == uri and where(params),
            since=since,
            timeout=timeout,
        )

    async def wait_for_status(
        self,
        where: Callable[[dict[str, Any]], bool] = lambda status: True,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109
        *,
        since: int | None = None,
    ) -> dict[str, Any]:
        """The server's state once `where` holds for it: the latest ``lspilot/status`` (as a
        dict), waited for until it matches. An older status that matched says nothing about
        now (a test that took the first match read a stale state).

        For a passing state (``busy`` during one request), pass ``since=len(client.statuses)``
        taken before the request: the first status from that index on that matches.
        """

        def found() -> dict[str, Any] | None:
            if since is not None:
                return next((s for s in self.statuses[since:] if where(s)), None)
            latest = self.statuses[-1] if self.statuses else None
            return latest if latest is not None and where(latest) else None

        what = "lspilot/status" if since is None else f"lspilot/status from #{since}"
        return await self.wait_for(found, timeout, what=what)

    async def wait_for_message(
        self,
        pattern: str,
        *,
        log: bool = False,
        type: types.MessageType | None = None,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109
    ) -> types.ShowMessageParams | types.LogMessageParams:
        """The first ``window/showMessage`` (or ``logMessage`` with ``log=True``) whose text
        matches the regular expression `pattern` (and `type`, if given)."""
        regex = re.compile(pattern)

        def found() -> Any:
            pool = self.log_messages if log else self.messages
            return next(
                (m for m in pool if regex.search(m.message) and (type is None or m.type == type)),
                None,
            )

        kind = "logMessage" if log else "showMessage"
        return await self.wait_for(found, timeout, what=f"{kind} matching {pattern!r}")

    def new_progress_token(self) -> str:
        """A client-created work-done token, known to pytest-lsp's ``$/progress`` check."""
        self._progress_tokens += 1
        token = f"test-progress-{self._progress_tokens}"
        self.progress_reports.setdefault(token, [])
        return token

    async def wait_for_progress_end(
        self,
        token: types.ProgressToken | None = None,
        timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109
    ) -> list[Any]:
        """The reports of the first progress (or of `token`) that has ended."""

        def found() -> list[Any] | None:
            for key, reports in self.progress_reports.items():
                if token is not None and key != token:
                    continue
                if reports and isinstance(reports[-1], types.WorkDoneProgressEnd):
                    return reports
            return None

        return await self.wait_for(found, timeout, what=f"progress end {token or ''}")

    # -- documents --

    def uri_of(self, path_or_uri: str | Path) -> str:
        """A file URI for a path (relative paths are under the workspace), or the URI."""
        if isinstance(path_or_uri, str) and "://" in path_or_uri:
            return path_or_uri
        path = Path(path_or_uri)
        if not path.is_absolute():
            assert self.workspace is not None, "relative path without a workspace"
            path = self.workspace / path
        uri = from_fs_path(str(path))
        assert uri is not None
        return uri

    def open_doc(
        self,
        path_or_uri: str | Path,
        text: str,
        language_id: str = "python",
        version: int = 1,
        *,
        write: bool = True,
    ) -> str:
        """Write the file (for a path, unless ``write=False``), send ``didOpen``; the URI."""
        uri = self.uri_of(path_or_uri)
        path = to_fs_path(uri) if uri.startswith("file:") else None
        if write and path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text, encoding="utf-8", newline="")
        self.documents[uri] = OpenDocument(uri, text, version, language_id)
        self.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=uri, language_id=language_id, version=version, text=text)
            )
        )
        return uri

    def text(self, uri: str) -> str:
        """The client's current text of an open document."""
        return self.documents[uri].text

    def change_doc(self, uri: str, text: str) -> int:
        """Replace the whole text (``didChange``); returns the new version."""
        doc = self.documents[uri]
        doc.text, doc.version = text, doc.version + 1
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
            )
        )
        return doc.version

    def edit_doc(self, uri: str, start: int, end: int, new_text: str) -> int:
        """Replace string offsets ``[start, end)`` with an incremental ``didChange`` whose
        range is in the negotiated encoding (what typing in an editor sends)."""
        doc = self.documents[uri]
        change = types.TextDocumentContentChangePartial(
            range=range_of(doc.text, start, end, self.position_encoding), text=new_text
        )
        doc.text = doc.text[:start] + new_text + doc.text[end:]
        doc.version += 1
        self.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=doc.version),
                content_changes=[change],
            )
        )
        return doc.version

    def save_doc(self, uri: str) -> None:
        """Write the client's text to disk and send ``didSave`` (with the text)."""
        doc = self.documents[uri]
        path = to_fs_path(uri)
        if path is not None:
            Path(path).write_text(doc.text, encoding="utf-8", newline="")
        self.text_document_did_save(
            types.DidSaveTextDocumentParams(
                text_document=types.TextDocumentIdentifier(uri=uri), text=doc.text
            )
        )

    def close_doc(self, uri: str) -> None:
        """Send ``didClose`` and forget the document."""
        self.documents.pop(uri, None)
        self.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )

    def position(self, uri: str, offset: int) -> types.Position:
        """The position of a string offset, in the negotiated encoding."""
        return position_at(self.text(uri), offset, self.position_encoding)

    def offset(self, uri: str, position: types.Position) -> int:
        """The string offset of a position in the negotiated encoding."""
        return offset_at(self.text(uri), position, self.position_encoding)

    def find(self, uri: str, needle: str, occurrence: int = 0) -> int:
        """String offset of the `occurrence`-th `needle` in the document."""
        text, index = self.text(uri), -1
        for _ in range(occurrence + 1):
            index = text.find(needle, index + 1)
            assert index >= 0, f"{needle!r} (occurrence {occurrence}) not in {uri}"
        return index

    def position_of(
        self, uri: str, needle: str, occurrence: int = 0, delta: int = 0
    ) -> types.Position:
        """Position of `needle` (plus `delta` characters), e.g. ``position_of(uri, "add(")``."""
        return self.position(uri, self.find(uri, needle, occurrence) + delta)

    def range_of(self, uri: str, needle: str, occurrence: int = 0) -> types.Range:
        """Range covering `needle` in the negotiated encoding."""
        start = self.find(uri, needle, occurrence)
        return range_of(self.text(uri), start, start + len(needle), self.position_encoding)

    def text_in(self, uri: str, rng: types.Range) -> str:
        """The text a range covers (checks the server's range is well-formed)."""
        text = self.text(uri)
        return text[
            offset_at(text, rng.start, self.position_encoding) : offset_at(
                text, rng.end, self.position_encoding
            )
        ]

    def apply_workspace_edit(self, edit: types.WorkspaceEdit) -> dict[str, str]:
        """Apply an edit to the open documents (all or nothing); the new texts by URI.

        A ``TextDocumentEdit`` whose version is not the document's current version is
        rejected (EditRejected), as VS Code does: the edit was computed for other text.
        Documents that are not open are edited on disk.
        """
        per_uri: list[tuple[str, int | None, Sequence[Any]]] = []
        for change in edit.document_changes or []:
            if not isinstance(change, types.TextDocumentEdit):
                raise EditRejected(f"unsupported resource operation {type(change).__name__}")
            per_uri.append((change.text_document.uri, change.text_document.version, change.edits))
        for uri, edits in (edit.changes or {}).items():
            per_uri.append((uri, None, edits))

        new_texts: dict[str, str] = {}
        for uri, version, edits in per_uri:
            doc = self.documents.get(uri)
            if doc is not None:
                if version is not None and version != doc.version:
                    raise EditRejected(
                        f"document version {doc.version}, edit computed for {version}: {uri}"
                    )
                base = new_texts.get(uri, doc.text)
            else:
                path = to_fs_path(uri)
                if path is None or not Path(path).exists():
                    raise EditRejected(f"no such document: {uri}")
                base = new_texts.get(uri, Path(path).read_text(encoding="utf-8"))
            try:
                new_texts[uri] = apply_text_edits(base, list(edits), self.position_encoding)
            except ValueError as exc:
                raise EditRejected(str(exc)) from exc

        for uri, text in new_texts.items():
            if uri in self.documents:
                # An editor applies the edit to its buffer; the version moves on. (No
                # didChange is sent: tests that want the server to see it call change_doc.)
                self.documents[uri].text = text
                self.documents[uri].version += 1
            else:
                path = to_fs_path(uri)
                assert path is not None
                Path(path).write_text(text, encoding="utf-8", newline="")
        return new_texts


def _install_handlers(client: LspilotClient) -> None:
    """Client-side features pytest-lsp does not provide."""

    @client.feature("lspilot/status")
    def status(ls: LspilotClient, params: Any) -> None:
        ls.statuses.append(_plain(params))

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def show_message_request(
        ls: LspilotClient, params: types.ShowMessageRequestParams
    ) -> types.MessageActionItem | None:
        ls.message_requests.append(params)
        return ls.message_request_choice(params)

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(
        ls: LspilotClient, params: types.ApplyWorkspaceEditParams
    ) -> types.ApplyWorkspaceEditResult:
        ls.applied_edits.append(params)
        if not ls.accept_edits:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason="rejected by test")
        try:
            ls.apply_workspace_edit(params.edit)
        except EditRejected as exc:
            return types.ApplyWorkspaceEditResult(applied=False, failure_reason=str(exc))
        return types.ApplyWorkspaceEditResult(applied=True)

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(ls: LspilotClient, params: types.RegistrationParams) -> None:
        ls.registrations.extend(params.registrations)

    @client.feature(types.CLIENT_UNREGISTER_CAPABILITY)
    def unregister_capability(ls: LspilotClient, params: types.UnregistrationParams) -> None:
        gone = {u.id for u in params.unregisterations}
        ls.registrations[:] = [r for r in ls.registrations if r.id not in gone]


def make_client(configuration: dict[str, Any] | None = None) -> LspilotClient:
    """A client with pytest-lsp's default handlers plus ours."""
    client = LspilotClient(configuration=configuration)
    register_lsp_features(client)
    _install_handlers(client)
    return client


async def _stop(client: LspilotClient, *, graceful: bool) -> str | None:
    """shutdown/exit when possible, then make sure the process is gone.

    Waits on the real events (the ``shutdown`` answer, the process's exit) with a generous
    hang guard; a server that needs the kill is a problem, said in the returned text (None
    when it ended by itself or was not asked to).
    """
    process = client._server
    problem = None
    try:
        if graceful and process is not None and process.returncode is None:
            await asyncio.wait_for(client.shutdown_session(), SHUTDOWN_TIMEOUT)
    except TimeoutError:
        problem = f"the server did not answer shutdown and exit within {SHUTDOWN_TIMEOUT:.0f}s"
    except Exception as exc:  # died meanwhile: the exit code says it below
        problem = f"shutdown/exit failed: {exc!r}"
    finally:
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        with contextlib.suppress(TimeoutError, Exception):
            await asyncio.wait_for(client.stop(), SHUTDOWN_TIMEOUT)
    return problem if graceful else None


@contextlib.asynccontextmanager
async def lsp_session(
    client: str = "visual-studio-code",
    *,
    env: dict[str, str] | None = None,
    init_options: Any = None,
    encoding: str | Sequence[str] | None = None,
    workspace: Path | None = None,
    resolve: bool | None = None,
    pull_diagnostics: bool | None = None,
    capabilities: types.ClientCapabilities | None = None,
    configuration: dict[str, Any] | None = None,
    cmd: Sequence[str] = SERVER_CMD,
    check_exit: bool = True,
    **variants: bool | None,
) -> AsyncIterator[LspilotClient]:
    """Start the server over stdio, initialize it as `client` would, and yield the client.

    Args:
        client: A pytest-lsp client spec ("visual-studio-code", "neovim", ...).
        env: The server's whole environment (use ``isolated_env`` / ``model_env``).
        init_options: ``initializationOptions``.
        encoding: Position encoding(s) the client offers (default: ``DEFAULT_ENCODINGS``).
        workspace: The workspace folder (also the server's cwd).
        resolve / pull_diagnostics / **variants: see :func:`capabilities_for`.
        capabilities: Use these instead of a recorded set.
        configuration: What ``workspace/configuration`` answers, pytest-lsp style
            (``{"": {"lspilot": {...}}}`` for the global scope).
        check_exit: After a clean shutdown/exit, require exit code 0.

    On exit: shutdown + exit, kill if the server lingers, and fail if a client handler or
    spec check failed during the session.
    """
    caps = capabilities or capabilities_for(
        client, encodings=encoding, resolve=resolve, pull_diagnostics=pull_diagnostics, **variants
    )
    lsp = make_client(configuration)
    lsp.workspace = workspace
    await lsp.start_io(*cmd, env=env, cwd=str(workspace) if workspace else None)
    failed = False
    try:
        folder_uri = from_fs_path(str(workspace)) if workspace else None
        params = types.InitializeParams(
            capabilities=caps,
            process_id=os.getpid(),
            client_info=CLIENT_INFO.get(client),
            locale="en",
            root_path=str(workspace) if workspace else None,
            root_uri=folder_uri,
            workspace_folders=(
                [types.WorkspaceFolder(uri=folder_uri, name=workspace.name)]
                if workspace and folder_uri
                else None
            ),
            initialization_options=init_options,
        )
        lsp.init_result = await asyncio.wait_for(lsp.initialize_session(params), STARTUP_TIMEOUT)
        yield lsp
    except BaseException:
        failed = True
        raise
    finally:
        graceful = lsp.error is None and lsp.init_result is not None
        stop_problem = await _stop(lsp, graceful=graceful)
        if not failed:
            problems = list(lsp.handler_errors)
            if check_exit and stop_problem:
                problems.append(stop_problem)
            elif check_exit and graceful and lsp.returncode not in (0, None):
                problems.append(f"server exited with code {lsp.returncode} after shutdown/exit")
            if problems:
                raise AssertionError("LSP session problems:\n" + "\n".join(problems))


def open_doc(
    client: LspilotClient,
    path_or_uri: str | Path,
    text: str,
    language_id: str = "python",
    version: int = 1,
) -> str:
    """Module-level spelling of :meth:`LspilotClient.open_doc`."""
    return client.open_doc(path_or_uri, text, language_id, version)


async def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = WAIT_TIMEOUT,  # noqa: ASYNC109
    client: LspilotClient | None = None,
    what: str | None = None,
) -> T:
    """Wait until ``predicate()`` is truthy and return its value (AssertionError on timeout).

    With a client, re-checks on every server message; without, every ~50 ms.
    """
    if client is not None:
        return await client.wait_for(predicate, timeout, what)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not (value := predicate()):
        if loop.time() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await asyncio.sleep(_RECHECK_S)
    return value


# ---- fixtures -----------------------------------------------------------------------------


@pytest.fixture(params=CLIENTS, ids=[CLIENT_IDS[c] for c in CLIENTS])
def client_name(request: pytest.FixtureRequest) -> str:
    """Parametrizes a test over the VS Code and Neovim capability sets."""
    return str(request.param)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """An empty workspace folder."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    return folder


@pytest.fixture
def model_env(isolated_env: dict[str, str], model_server: FakeModelServer) -> dict[str, str]:
    """Environment pointing the server at the fake model server with a fake key."""
    return {
        **isolated_env,
        "LSPILOT_PROVIDER": "openai",
        "LSPILOT_BASE_URL": model_server.url,
        "LSPILOT_MODEL": TEST_MODEL,
        "OPENAI_API_KEY": FAKE_API_KEY,
        # The fake serves many requests at once; a loopback endpoint would otherwise get one
        # at a time (the default for local servers), which these tests do not assume.
        "LSPILOT_LIMITS__MAX_CONCURRENT": "4",
        # Initialization options and workspace/configuration still override it.
        "LSPILOT_HOVER__TIMEOUT_MS": HOVER_TIMEOUT_MS,
    }


@pytest.fixture
def offline_env(isolated_env: dict[str, str]) -> dict[str, str]:
    """Environment forcing the offline engine (no network at all)."""
    return {**isolated_env, "LSPILOT_PROVIDER": "offline"}


@pytest.fixture
def init_options() -> Any:
    """``initializationOptions`` for ``lsp_client``; override per module or parametrize."""
    return None


@pytest.fixture
def open_session(
    workspace: Path, isolated_env: dict[str, str]
) -> Callable[..., contextlib.AbstractAsyncContextManager[LspilotClient]]:
    """:func:`lsp_session` with this test's workspace and isolated env as defaults."""

    def factory(client: str = "visual-studio-code", **kwargs: Any) -> Any:
        kwargs.setdefault("workspace", workspace)
        kwargs.setdefault("env", isolated_env)
        return lsp_session(client, **kwargs)

    return factory


@pytest.fixture
async def lsp_client(
    client_name: str, model_env: dict[str, str], workspace: Path, init_options: Any
) -> AsyncIterator[LspilotClient]:
    """A started session: `client_name`'s capabilities, the fake model, `init_options`."""
    async with lsp_session(
        client_name, env=model_env, workspace=workspace, init_options=init_options
    ) as client:
        yield client


def encodings_for(clients: Iterable[str] = CLIENTS) -> list[tuple[str, str]]:
    """(client, encoding) pairs each client can offer, for ``parametrize``."""
    return [(c, e) for c in clients for e in (DEFAULT_ENCODINGS.get(c) or ["utf-16"])]


# ---- shared helpers of the test files -------------------------------------------------------
#
# One copy of what several test files did on their own: the code-action session and how an
# editor lists, picks and carries out an action; a hover's markdown; the status command; the
# command line in a subprocess.

LSPILOT = [sys.executable, "-m", "lspilot"]
#: Review diagnostics off (they would call the model on open): the model requests a test
#: counts are its own.
QUIET = {"diagnostics": {"enabled": False}}
#: ``QUIET`` and no cache, for sessions tests share: each test's request asks the model,
#: whatever an earlier test asked about the same code.
NO_CACHE = {**QUIET, "cache": {"enabled": False, "memoryLimitMb": 0}}


def fenced(code: str, language: str = "python") -> str:
    """`code` in a Markdown fence, as models answer."""
    return f"```{language}\n{code}\n```"


def _structure_actions(client: LspilotClient) -> None:
    """Code-action lists carry CodeActions with a `command` (explain, command mode).

    lsprotocol's client-side hook takes any object with a "command" key for a Command; a
    CodeAction's command is an object, a Command's is a string.
    """
    converter = client.protocol._converter

    def hook(obj: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(types.Command | types.CodeAction, hook)


@contextlib.asynccontextmanager
async def action_session(
    client_name: str, env: dict[str, str], workspace: Path, resolve: bool, **kw: Any
) -> AsyncIterator[LspilotClient]:
    """A session for code-action tests: review diagnostics off (``QUIET``, unless
    ``init_options`` is given), with or without ``codeAction/resolve``."""
    kw.setdefault("init_options", QUIET)
    async with lsp_session(client_name, env=env, workspace=workspace, resolve=resolve, **kw) as c:
        _structure_actions(c)
        yield c


async def actions_at(
    client: LspilotClient,
    uri: str,
    start: int,
    end: int | None = None,
    diagnostics: list[types.Diagnostic] | None = None,
    only: list[str] | None = None,
) -> list[types.CodeAction]:
    """The code actions for string offsets ``[start, end)`` (a cursor when `end` is None)."""
    text = client.text(uri)
    result = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=range_of(text, start, start if end is None else end, client.position_encoding),
            context=types.CodeActionContext(diagnostics=diagnostics or [], only=only),
        )
    )
    assert result is not None
    assert all(isinstance(a, types.CodeAction) for a in result)
    return [a for a in result if isinstance(a, types.CodeAction)]


def pick(actions: list[types.CodeAction], title: str) -> types.CodeAction:
    """The action titled `title` (AssertionError listing the titles when there is none)."""
    found = [a for a in actions if a.title == title]
    assert found, f"{title!r} not in {[a.title for a in actions]}"
    return found[0]


async def perform(client: LspilotClient, uri: str, action: types.CodeAction) -> bool:
    """Carry out `action` as an editor would; whether an edit was applied."""
    edit = action.edit
    if edit is None and action.data is not None:
        resolved = await client.code_action_resolve_async(action)
        edit = resolved.edit
    if edit is not None:
        client.apply_workspace_edit(edit)  # raises on a stale version or a bad range
    elif action.command is not None:
        seen = len(client.applied_edits)
        await run_command(client, action.command)
        if len(client.applied_edits) == seen:
            return False
    else:
        return False
    # Tell the server what the buffer now is, as an editor's didChange would.
    client.change_doc(uri, client.text(uri))
    return True


async def run_command(client: LspilotClient, command: types.Command) -> None:
    """Execute an action's command and wait until its background work has finished.

    The command is answered at once; the status sent after the work (its edit or message
    already out) counts it as finished.
    """
    runs = getattr(client, "actions_run", 0) + 1
    client.actions_run = runs  # type: ignore[attr-defined]
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command=command.command, arguments=command.arguments)
    )
    await client.wait_for_status(
        lambda status: status.get("actions", {}).get("finished", 0) >= runs
    )


async def hover_text(client: LspilotClient, uri: str, needle: str, occurrence: int = 0) -> str:
    """The markdown of a hover one character into the `occurrence`-th `needle`."""
    result = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client.position_of(uri, needle, occurrence, delta=1),
        )
    )
    assert result is not None and isinstance(result.contents, types.MarkupContent), result
    return result.contents.value


async def lspilot_status(client: LspilotClient, *args: object) -> dict[str, Any]:
    """The ``lspilot.status`` command's answer."""
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="lspilot.status", arguments=list(args))
    )
    assert isinstance(result, dict), result
    return result


def run_lspilot(
    env: dict[str, str], cwd: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real command line (``python -m lspilot ARGS``) in `cwd`; a hang guard."""
    return subprocess.run(
        [*LSPILOT, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def quiet_model_env(model_env: dict[str, str]) -> dict[str, str]:
    """``model_env`` with review diagnostics off: every model request is the test's own."""
    return {**model_env, "LSPILOT_DIAGNOSTICS__ENABLED": "false"}


# ---- servers shared by the read-only tests of a module ---------------------------------------
#
# Starting a server costs a second or two of CPU. Tests that only read (hover, list actions,
# status) and count model requests as differences can share one per module:
#
#     @SHARED
#     async def test_x(shared_sessions: SharedSessions) -> None:
#         client = await shared_sessions.get("neovim")
#         uri = client.open_doc("test_x.py", TEXT)  # a file name of its own
#
# A test that changes settings, the workspace or server state starts its own (``lsp_session``).

#: Marks a test that uses ``shared_sessions`` (its event loop is the module's).
SHARED = pytest.mark.asyncio(loop_scope="module")


class SharedSessions:
    """Sessions started on first use and kept for the module, one per variant."""

    def __init__(
        self, workspace: Path, model_env: dict[str, str], offline_env: dict[str, str]
    ) -> None:
        self.workspace = workspace
        self.model_env = model_env
        self.offline_env = offline_env
        self._stack = contextlib.AsyncExitStack()
        self._sessions: dict[str, LspilotClient] = {}

    async def get(
        self,
        client: str = "visual-studio-code",
        *,
        offline: bool = False,
        env: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> LspilotClient:
        """The module's session for `client` with these :func:`lsp_session` arguments: the
        offline engine or ``shared_model_server``, plus `env`'s variables."""
        key = repr((client, offline, sorted((env or {}).items()), sorted(kwargs.items())))
        if key not in self._sessions:
            base = self.offline_env if offline else self.model_env
            session = lsp_session(
                client, env={**base, **(env or {})}, workspace=self.workspace, **kwargs
            )
            started = await self._stack.enter_async_context(session)
            _structure_actions(started)
            self._sessions[key] = started
        return self._sessions[key]

    @contextlib.asynccontextmanager
    async def use(
        self, client: str = "visual-studio-code", **kwargs: Any
    ) -> AsyncIterator[LspilotClient]:
        """:meth:`get` as a block; the documents opened in it are closed at its end (so the
        next test may open the same file names)."""
        session = await self.get(client, **kwargs)
        before = set(session.documents)
        try:
            yield session
        finally:
            for uri in [u for u in session.documents if u not in before]:
                session.close_doc(uri)

    async def aclose(self) -> None:
        """Shut every session down (its clean exit and spec checks are asserted)."""
        await self._stack.aclose()


class FakeModelView:
    """The module's shared fake model server as one test sees it: only the chat requests
    made since the test began; everything else (``script``, ``responder`` ...) is the
    server's own."""

    def __init__(self, server: FakeModelServer) -> None:
        object.__setattr__(self, "server", server)
        object.__setattr__(self, "since", len(server.chat_requests()))

    def chat_requests(self) -> list[Any]:
        return list(self.server.chat_requests()[self.since :])

    def __getattr__(self, name: str) -> Any:
        return getattr(self.server, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.server, name, value)


@pytest.fixture
def shared_model(shared_model_server: FakeModelServer) -> Iterator[FakeModelView]:
    """``shared_model_server`` for one test: its own requests counted; its responder and
    script put back after it."""
    responder = shared_model_server.responder
    yield FakeModelView(shared_model_server)
    shared_model_server.responder = responder
    shared_model_server.clear_script()


@pytest.fixture(scope="module")
def shared_workspace(shared_root: Path) -> Path:
    folder = shared_root / "workspace"
    folder.mkdir(exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def shared_model_env(
    shared_isolated_env: dict[str, str], shared_model_server: FakeModelServer
) -> dict[str, str]:
    """``model_env`` for the module's shared sessions (review diagnostics off)."""
    return {
        **shared_isolated_env,
        "LSPILOT_PROVIDER": "openai",
        "LSPILOT_BASE_URL": shared_model_server.url,
        "LSPILOT_MODEL": TEST_MODEL,
        "OPENAI_API_KEY": FAKE_API_KEY,
        "LSPILOT_LIMITS__MAX_CONCURRENT": "4",
        "LSPILOT_HOVER__TIMEOUT_MS": HOVER_TIMEOUT_MS,
        "LSPILOT_DIAGNOSTICS__ENABLED": "false",
    }


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_sessions(
    shared_workspace: Path,
    shared_model_env: dict[str, str],
    shared_isolated_env: dict[str, str],
) -> AsyncIterator[SharedSessions]:
    """The module's shared sessions (against ``shared_model_server``), closed at its end."""
    sessions = SharedSessions(
        shared_workspace, shared_model_env, {**shared_isolated_env, "LSPILOT_PROVIDER": "offline"}
    )
    try:
        yield sessions
    finally:
        await sessions.aclose()
