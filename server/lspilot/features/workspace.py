"""The workspace symbol index in the editor: built in the background, kept current.

After the settings are first read, the index of the workspace folder is built in a worker
thread (never on the event loop), reusing what is stored from the last session, under
``$/progress`` when the client supports server-initiated progress. It follows:

- open documents: before a context is built, every other open document whose version the
  index has not seen is re-indexed from the editor's text (so didChange and didSave need no
  handler of their own, and nothing is parsed while typing);
- ``workspace/didChangeWatchedFiles``: registered dynamically, only when the client allows it;
- ``workspace/didRenameFiles``;
- settings: new privacy rules drop what they now exclude; new context settings rebuild it.

`task_context` is what hover and code actions call for the ``context`` of a task.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.uris import to_fs_path

if TYPE_CHECKING:
    from pygls.workspace import TextDocument

    from lspilot.context import WorkspaceContext
    from lspilot.session import LspilotServer
    from lspilot.syntax import Source

log = logging.getLogger("lspilot.context")

# Report progress at most this often (in files), so 2,000 files are ~20 notifications.
PROGRESS_EVERY = 100
# A review pass waits this long at most for the index being built (then goes without it).
INDEX_WAIT_S = 10.0

_STATE: dict[int, WorkspaceIndexFeature] = {}


def watch_glob() -> str:
    """The files the index reads: every suffix the syntax layer parses."""
    from lspilot.syntax import file_suffixes  # not before `initialize` is answered

    return "**/*.{" + ",".join(suffix.removeprefix(".") for suffix in file_suffixes()) + "}"


class WorkspaceIndexFeature:
    """Owns the `WorkspaceContext` of a server and keeps it current."""

    def __init__(self, ls: LspilotServer) -> None:
        self.ls = ls
        self.context: WorkspaceContext | None = None
        self.building: asyncio.Task[Any] | None = None
        self._inputs: tuple[Any, ...] | None = None
        self._watching = False
        self._privacy: Any = None
        #: Called when what the index holds changed (the diagnostics re-plan their chunks).
        self.listeners: list[Callable[[], None]] = []
        self._seen_generation = 0
        # One sync of the open documents at a time: fifty documents opened at once start
        # fifty review passes, and each found every document stale and parsed all of them.
        self._syncing = asyncio.Lock()
        #: Closed documents being read from disk again; contexts wait for them.
        self._reloading: set[asyncio.Task[Any]] = set()

    # ---- lifecycle ------------------------------------------------------------------------

    def settings_changed(self) -> None:
        """First call: build the index. Later: follow the context and privacy settings."""
        from lspilot.context import WorkspaceContext  # not before `initialize` is answered

        settings = self.ls.settings
        inputs = (settings.context.index_max_files, str(self.ls.cache_dir), self.ls.root)
        privacy = settings.privacy
        if self.context is not None and self._inputs == inputs:
            self.context.settings = settings.context
            if self._privacy != privacy:
                self._privacy = privacy
                self.ls.spawn(self._refilter(), name="context-refilter")
            return
        self._inputs, self._privacy = inputs, privacy
        if self.building is not None:
            self.building.cancel()
        self.context = WorkspaceContext(
            self.ls.root,
            self.ls.cache_dir / "index",
            lambda rel: self.ls.privacy.excluded(rel),
            settings.context,
        )
        self.building = self.ls.spawn(self._build(self.context), name="context-index")
        if not self._watching:
            self._watching = True
            self.ls.spawn(self._watch(), name="context-watch")

    async def _build(self, context: WorkspaceContext) -> None:
        if context.index is None:
            return
        loop = asyncio.get_running_loop()
        token = await self._progress_token()
        if token is not None:
            self.ls.work_done_progress.begin(
                token,
                types.WorkDoneProgressBegin(
                    title="lspilot: indexing the workspace", percentage=0, cancellable=False
                ),
            )

        def report(done: int, total: int) -> None:
            if token is not None and (done % PROGRESS_EVERY == 0 or done == total):
                loop.call_soon_threadsafe(self._report, token, done, total)

        try:
            await asyncio.to_thread(context.build_index, report)
        finally:
            if token is not None:
                stats = context.index.stats()
                self.ls.work_done_progress.end(
                    token, types.WorkDoneProgressEnd(message=f"{stats['files']} files indexed")
                )
            self.ls.notify_status()
            if context is self.context:
                self._changed()

    def _report(self, token: str, done: int, total: int) -> None:
        percentage = int(done * 100 / total) if total else 100
        self.ls.work_done_progress.report(
            token,
            types.WorkDoneProgressReport(message=f"{done}/{total} files", percentage=percentage),
        )

    async def _progress_token(self) -> str | None:
        if not self.ls.client_supports("window.work_done_progress"):
            return None
        token = f"lspilot/index/{uuid.uuid4().hex}"
        # No progress (refused, or never answered) is no reason not to index.
        created = await self.ls.create_progress_token(token, "index progress token")
        return token if created else None

    async def _refilter(self) -> None:
        context = self.context
        if context is not None and context.index is not None:
            dropped = await asyncio.to_thread(context.index.refilter)
            if dropped:
                log.info("privacy settings changed: %d files left the index", dropped)
                self._changed()

    async def _watch(self) -> None:
        """Ask the client to send file changes, when it allows dynamic registration."""
        if not self.ls.client_supports("workspace.did_change_watched_files.dynamic_registration"):
            return
        options = types.DidChangeWatchedFilesRegistrationOptions(
            watchers=[types.FileSystemWatcher(glob_pattern=watch_glob())]
        )
        registration = types.Registration(
            id=f"lspilot-watch-{uuid.uuid4().hex[:8]}",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=options,
        )
        # Without the registration (refused or never answered) the index follows open
        # documents only; nothing waits on the answer.
        await self.ls.ask_client(
            self.ls.client_register_capability_async(
                types.RegistrationParams(registrations=[registration])
            ),
            "watching files (client/registerCapability)",
            None,
        )

    def _changed(self) -> None:
        """Tell the listeners when the index holds something new since they were last told."""
        context = self.context
        generation = context.index.generation if context and context.index else 0
        if generation != self._seen_generation:
            self._seen_generation = generation
            for listener in self.listeners:
                listener()

    def generation(self) -> int:
        """The index generation (0 without an index)."""
        context = self.context
        return context.index.generation if context and context.index else 0

    async def ready(self, timeout: float = INDEX_WAIT_S) -> None:  # noqa: ASYNC109
        """Wait (bounded) for the index being built, so a first review sees other files."""
        building = self.building
        if building is not None and not building.done():
            await asyncio.wait([building], timeout=timeout)

    # ---- events ---------------------------------------------------------------------------

    async def files_changed(self, changes: Sequence[types.FileEvent]) -> None:
        """Created, changed and deleted files on disk."""
        context = self.context
        if context is None or context.index is None:
            return
        index = context.index
        for change in changes:
            path = to_fs_path(change.uri)
            if path is None:
                continue
            if change.type == types.FileChangeType.Deleted:
                index.remove(path)
            else:
                await asyncio.to_thread(index.update_path, path)
            context.forget(path)
        await asyncio.to_thread(index.save)
        self._changed()

    async def files_renamed(self, files: Sequence[types.FileRename]) -> None:
        """Renamed (or moved) files."""
        context = self.context
        if context is None or context.index is None:
            return
        for rename in files:
            old, new = to_fs_path(rename.old_uri), to_fs_path(rename.new_uri)
            if old and new:
                await asyncio.to_thread(context.index.rename, old, new)
                context.forget(old)
        await asyncio.to_thread(context.index.save)
        self._changed()

    def document_closed(self, uri: str) -> None:
        """The editor's buffer of `uri` is gone, saved or not: the disk is the truth again."""
        context, path = self.context, to_fs_path(uri)
        if context is None or context.index is None or path is None:
            return
        task = self.ls.spawn(self._reload(context, path), name="context-reload")
        self._reloading.add(task)
        task.add_done_callback(self._reloading.discard)

    async def _reload(self, context: WorkspaceContext, path: str) -> None:
        assert context.index is not None
        await asyncio.to_thread(context.index.update_path, path)  # gone from disk: removed
        context.forget(path)
        if context is self.context:
            self._changed()

    async def sync_open_documents(self, skip: str | None = None) -> None:
        """Re-index the open documents the index has not seen at their current version
        (but the one at path `skip`)."""
        if self._reloading:  # a closed buffer's entry must not outlive the close
            await asyncio.gather(*list(self._reloading), return_exceptions=True)
        async with self._syncing:  # a pass waiting here finds what the one before synced
            context = self.context
            if context is None:
                return
            documents, versions = [], {}
            for doc in list(self.ls.workspace.text_documents.values()):
                path = to_fs_path(doc.uri)
                if path is not None and path != skip:
                    documents.append((path, doc.version, doc.source))
                    versions[path] = doc.version
            stale = context.stale(documents)
            if stale:
                log.debug("syncing %d open documents into the index", len(stale))
                await asyncio.to_thread(context.sync, stale, versions)
                log.debug("synced %d open documents into the index", len(stale))
                self._changed()

    def stats(self) -> dict[str, Any]:
        """The status section."""
        context = self.context
        if context is None or context.index is None:
            return {"files": 0, "ready": False}
        return {**context.index.stats(), "enabled": context.settings.enabled}


def feature_of(ls: LspilotServer) -> WorkspaceIndexFeature | None:
    """The index feature of `ls`, if registered."""
    return _STATE.get(id(ls))


async def task_context(
    ls: LspilotServer,
    doc: TextDocument,
    source: Source,
    start: int,
    end: int,
    task: str = "explain",
    focus: tuple[int, int] | None = None,
) -> str:
    """The workspace context of ``source.text[start:end]`` for a task input ("" when off)."""
    feature = feature_of(ls)
    if feature is None or feature.context is None or not ls.settings.context.enabled:
        return ""
    path = to_fs_path(doc.uri)
    # The context of code in `doc` reads the index for the other files only (its own names
    # come from `source`): re-indexing `doc` itself, a whole parse per keystroke, would
    # only hold up the hover or code action. Others that read it re-index it first.
    await feature.sync_open_documents(skip=path)
    context = feature.context
    return context.build(source, path, start, end, task, focus=focus)


async def review_context(ls: LspilotServer) -> WorkspaceContext | None:
    """The context for a review pass: the index built (bounded wait) and open docs synced."""
    feature = feature_of(ls)
    if feature is None or feature.context is None or not ls.settings.context.enabled:
        return None
    await feature.ready()
    await feature.sync_open_documents()
    return feature.context


def register(ls: LspilotServer) -> None:
    """Wire the workspace index into the server."""
    feature = _STATE[id(ls)] = WorkspaceIndexFeature(ls)
    ls.on_settings_changed.append(feature.settings_changed)
    ls.on_document_closed.append(feature.document_closed)
    ls.status_sections["context"] = feature.stats

    @ls.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def did_change_watched_files(
        ls: LspilotServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        await feature.files_changed(params.changes)

    @ls.feature(
        types.WORKSPACE_DID_RENAME_FILES,
        types.FileOperationRegistrationOptions(
            filters=[types.FileOperationFilter(pattern=types.FileOperationPattern(glob="**/*"))]
        ),
    )
    async def did_rename_files(ls: LspilotServer, params: types.RenameFilesParams) -> None:
        await feature.files_renamed(params.files)
