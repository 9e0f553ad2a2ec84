"""Review diagnostics while editing: triggers, versions, and push or pull to the client.

The LSP-free parts live in `lspilot.review` (anchoring, chunk bookkeeping, debouncing, the
review pass); `report` turns placed issues into LSP diagnostics; this module decides *when*
things happen:

- open / save / idle-after-typing (each switchable in `diagnostics.triggers`) schedule a review
  pass per document; a new edit cancels the pass still waiting for the typing to stop. Files
  over `maxFileLines` are reviewed only on save.
- every edit re-positions at once what is already known: the document is re-chunked and each
  chunk whose content was reviewed before shows its issues where it now stands; a changed
  chunk shows nothing until it is reviewed again. Nothing on `didChange` calls the model.
- everything shown is computed for the document's current version from content-keyed
  results, so an answer that arrives after the text moved on is shown only where its chunk
  is still unchanged, and never at offsets of an older text.
- clients that declare `textDocument.diagnostic` pull; all others get `publishDiagnostics`,
  never both. A pulling client is sent `workspace/diagnostic/refresh` when reviews land if it
  supports that; otherwise its pull waits for the review pass under way, and a pull that
  already has the current result (`previousResultId`, as Neovim 0.11 sends) is held until
  something new is known (a review on save or after a settings change, a newer pull, a
  close): a long poll, so reviews that nobody pulled for still reach the client.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.workspace import TextDocument

from lspilot.features.diagnostics.context import ChunkContexts
from lspilot.features.diagnostics.report import to_diagnostics
from lspilot.features.diagnostics.state import Plan, View
from lspilot.positions import line_count
from lspilot.review.debounce import Debouncer

if TYPE_CHECKING:  # the review pass is imported after `initialize` (lspilot.server.WARM_UP)
    from lspilot.review.layout import ReviewStore
    from lspilot.review.runner import Planned
    from lspilot.session import LspilotServer

log = logging.getLogger("lspilot.diagnostics")

FEATURE = "diagnostics"
# Texts longer than this are chunked in a worker thread, and re-positioning after an edit
# waits for a short pause in typing instead of running on every keystroke.
BIG_TEXT = 20_000
BIG_TEXT_PAUSE_S = 0.2
# Any text: re-positioning waits for this gap between keystrokes, so a burst of typing costs
# one re-chunking when it pauses, not one per keystroke (each is a parse and a chunking).
TYPING_PAUSE_S = 0.03
# How often a view is recomputed when edits keep arriving while it is being computed.
VIEW_ATTEMPTS = 10
# Settings that only change how known issues are shown; any other change means new reviews.
DISPLAY_ONLY = {"triggers", "idle_ms", "severity_floor", "max_issues_per_chunk", "max_file_lines"}


class ReviewDiagnostics:
    """The diagnostics feature's state for one server (one client)."""

    def __init__(self, ls: LspilotServer) -> None:
        self.ls = ls
        self.stores: dict[str, ReviewStore] = {}
        self.plans: dict[str, Plan] = {}
        self.views: dict[str, View] = {}
        self.pushed: dict[str, View] = {}
        self.pulled: dict[str, str] = {}  # result id last answered to a pull, per document
        self.need_fill: set[str] = set()
        # Open documents reviewed since they were opened: a settings change re-reviews them
        # whatever the triggers, or they would lose their diagnostics until the next trigger.
        self.reviewed: set[str] = set()
        # Chunks (digests) looked up in the cache in vain, per document: an edit does not
        # look again.
        self.missed: dict[str, set[bytes]] = {}
        self.reviews = Debouncer("review")
        self.placing = Debouncer("place")
        self.counters: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._refreshing = False
        self._refresh_again = False
        # Long polls of clients that cannot be told to pull again, per document.
        self._news: dict[str, asyncio.Event] = {}
        self._pulls: Counter[str] = Counter()  # pulls seen per document: a newer one wins
        self._closing = False
        self._planning = asyncio.Semaphore(1)
        self._snapshot: dict[str, Any] | None = None  # the first settings_changed sets it
        self.contexts = ChunkContexts(ls)

    # ---- mode and settings ---------------------------------------------------------------

    @property
    def pull(self) -> bool:
        """Whether this client pulls diagnostics (then we never push)."""
        return self.ls.client_supports("text_document.diagnostic")

    def _review_settings(self) -> dict[str, Any]:
        """The settings a review result depends on (model, engine, review options)."""
        dumped = self.ls.settings.model_dump(exclude={"hover", "code_actions", "log_level"})
        dumped["diagnostics"] = {
            k: v for k, v in dumped["diagnostics"].items() if k not in DISPLAY_ONLY
        }
        return dumped

    def _big(self, doc: TextDocument) -> bool:
        """Over `maxFileLines`: reviewed on save only."""
        # The document's line index is kept up to date across edits: no scan of a big text
        # on every keystroke (and a file of "\r" line breaks has lines too).
        return line_count(doc) > self.ls.settings.diagnostics.max_file_lines

    def _allowed(self, uri: str) -> bool:
        return self.ls.settings.diagnostics.enabled and self.ls.excluded(uri) is None

    def _doc(self, uri: str) -> TextDocument | None:
        return self.ls.document(uri)

    # ---- document events (these only schedule work) --------------------------------------

    def opened(self, uri: str) -> None:
        """A document was opened: show what is cached, review it if `open` is a trigger."""
        self.need_fill.add(uri)
        self.missed.pop(uri, None)
        doc = self._doc(uri)
        settings = self.ls.settings.diagnostics
        if doc is not None and "open" in settings.triggers and not self._big(doc):
            self._schedule_review(uri, 0)
        elif not self.pull:
            self._schedule_place(uri, doc)

    def changed(self, uri: str) -> None:
        """An edit: re-position known issues now, review after the typing stops."""
        self.need_fill.add(uri)
        doc = self._doc(uri)
        if not self.pull:  # a pulling client asks again by itself after an edit
            self._schedule_place(uri, doc)
        settings = self.ls.settings.diagnostics
        if doc is not None and "idle" in settings.triggers and not self._big(doc):
            self._schedule_review(uri, settings.idle_ms / 1000)

    def saved(self, uri: str) -> None:
        """A save: review (big files too, which are reviewed only now)."""
        if "save" in self.ls.settings.diagnostics.triggers:
            self._schedule_review(uri, 0)

    def closed(self, uri: str) -> None:
        """A close: stop the work for it, forget it, clear what was shown."""
        self.reviews.cancel(uri)
        self.placing.cancel(uri)
        self._pulls.pop(uri, None)
        for table in (self.stores, self.plans, self.views, self.pulled, self.missed):
            table.pop(uri, None)
        self.need_fill.discard(uri)
        self.reviewed.discard(uri)
        self.contexts.forget(uri)
        self.ls.forget(uri)
        self._tell_held(uri)
        if self.pushed.pop(uri, None) is not None:
            self._publish(uri, [], None)

    def close(self) -> None:
        """Shutdown: cancel every pending and running review and re-positioning."""
        self._closing = True
        self.reviews.cancel_all()
        self.placing.cancel_all()
        for uri in list(self._news):
            self._tell_held(uri)

    def _tell_held(self, uri: str) -> None:
        """Wake the pull held for `uri`, if any: there may be something new to answer."""
        event = self._news.pop(uri, None)
        if event is not None:
            event.set()

    def settings_changed(self) -> None:
        """Settings were re-read: withdraw, re-show or re-review every open document."""
        snapshot = self._review_settings()
        reviews_changed = snapshot != self._snapshot
        self._snapshot = snapshot
        if reviews_changed:
            self.missed.clear()
            for store in self.stores.values():
                store.clear()
        for uri in list(self.ls.workspace.text_documents):
            if not self._allowed(uri):
                self._withdraw(uri)
            elif reviews_changed:
                self.opened(uri)
                if uri in self.reviewed:  # supersedes the review `opened` may have scheduled
                    self._schedule_review(uri, 0)
            else:
                self.need_fill.add(uri)
                if self.pull:
                    self._request_refresh()
                    self._tell_held(uri)
                else:
                    self._schedule_place(uri, self._doc(uri))

    def _schedule_review(self, uri: str, delay: float) -> None:
        self.reviews.schedule(uri, delay, lambda: self._review(uri))

    def _schedule_place(self, uri: str, doc: TextDocument | None) -> None:
        pause = (
            BIG_TEXT_PAUSE_S if doc is not None and len(doc.source) > BIG_TEXT else TYPING_PAUSE_S
        )
        # The newest edit makes any running re-positioning stale: cancel it.
        self.placing.schedule(uri, pause, lambda: self._show(uri), cancel_running=True)

    # ---- computing what to show ---------------------------------------------------------

    async def _plan(self, doc: TextDocument) -> list[Planned] | None:
        """The chunks of `doc` at its current version (memoized per version and text)."""
        from lspilot.review.runner import plan

        text = doc.source
        memo = self.plans.get(doc.uri)
        fresh = memo is not None and memo.version == doc.version and memo.text == text
        if memo is not None and fresh and self.contexts.fresh(doc.uri):
            return memo.chunks
        if self._big(doc) and not (self.stores.get(doc.uri) or self.reviews.task(doc.uri)):
            return []  # big and never reviewed: nothing to show, not worth chunking megabytes
        # A first plan (or one after the workspace index changed) builds the context of
        # every chunk: 10 ms for 40 small functions on an idle machine, 60 ms and more on a
        # busy one, so it goes to a thread (which hands the loop the GIL every few ms); a
        # re-plan after a keystroke reuses the other chunks' contexts and stays here.
        again = memo is not None and self.contexts.fresh(doc.uri)
        # One document at a time: fifty opened at once would hold fifty trees (5 MB each).
        async with self._planning:
            source = await self.ls.source_of(doc)
            if source is None or source.text != doc.source:
                return None  # an unsupported language, or the text moved on meanwhile
            args = self.contexts.plan_args(doc, source)  # with what each chunk calls elsewhere
            if len(text) > BIG_TEXT or not again:
                chunks = await asyncio.to_thread(plan, *args)
            else:
                chunks = plan(*args)
        self.plans[doc.uri] = Plan(doc.version, text, chunks, frozenset(c.key for c in chunks))
        return chunks

    async def _view(self, uri: str) -> View | None:
        """The diagnostics for the current version of `uri`, from what is known now.

        Serves chunks from the assistant's cache first when an edit may have brought back
        text reviewed before. Returns None when the document is gone, excluded or disabled.
        """
        from lspilot.review.layout import ReviewStore
        from lspilot.review.runner import fill_from_cache

        assistant = await self.ls.get_assistant()
        for _ in range(VIEW_ATTEMPTS):
            doc = self._doc(uri)
            if doc is None or not self._allowed(uri):
                return None
            version = doc.version
            chunks = await self._plan(doc)
            if chunks is None:
                return None
            store = self.stores.setdefault(uri, ReviewStore())
            fill = uri in self.need_fill
            if fill:
                missed = self.missed.setdefault(uri, set())
                await fill_from_cache(assistant, chunks, store, missed)
            if self._doc(uri) is not doc or doc.version != version:
                continue  # edited meanwhile: the offsets belong to an older text
            if fill:
                self.need_fill.discard(uri)
            store.retain(c.key for c in chunks)
            return self._compute(uri, doc, chunks, store)
        return None

    def _compute(
        self, uri: str, doc: TextDocument, chunks: list[Planned], store: ReviewStore
    ) -> View:
        from lspilot.review.layout import place

        settings = self.ls.settings.diagnostics
        placed, _ = place(chunks, store, settings.severity_floor, settings.max_issues_per_chunk)
        items = to_diagnostics(doc, placed, doc.version)
        old = self.views.get(uri)
        if old is not None and old.version == doc.version and old.items == items:
            return old
        view = View(doc.version, str(next(self._ids)), items)
        self.views[uri] = view
        return view

    async def _show(self, uri: str) -> None:
        """Re-position and push (push clients only; pulling clients ask for themselves)."""
        view = await self._view(uri)
        if view is not None:
            self._push(uri, view)

    def _push(self, uri: str, view: View) -> None:
        if not self.pull and self.pushed.get(uri) is not view:
            self.pushed[uri] = view
            self._publish(uri, view.items, view.version)

    def _publish(self, uri: str, items: list[types.Diagnostic], version: int | None) -> None:
        self.ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version)
        )

    def _withdraw(self, uri: str) -> None:
        """Stop and clear everything shown for `uri` (now excluded or disabled)."""
        self.reviews.cancel(uri)
        self.placing.cancel(uri)
        self.views.pop(uri, None)
        if self.pull:
            self._request_refresh()
            self._tell_held(uri)
        elif self.pushed.pop(uri, None) is not None:
            self._publish(uri, [], None)

    # ---- the review pass ----------------------------------------------------------------

    async def _review(self, uri: str) -> None:
        """Show what is known at once, then ask the model for the chunks not reviewed yet."""
        from lspilot.review.runner import review_missing

        await self.contexts.before_review(uri)
        view = await self._view(uri)
        if view is None:
            return
        if not self.pull:
            self._push(uri, view)
        elif self.pulled.get(uri) != view.result_id:
            self._request_refresh()  # the cache knew more than the client was last told
        plan_ = self.plans.get(uri)
        store = self.stores.get(uri)
        if plan_ is None or store is None:
            return
        self.reviewed.add(uri)
        settings = self.ls.settings
        assistant = await self.ls.get_assistant()
        outcome = await review_missing(
            assistant,
            plan_.chunks,
            store,
            concurrency=settings.limits.max_concurrent,
            max_chars=settings.limits.max_input_chars,
            wanted=lambda chunk: self._still_there(uri, chunk.key),
            on_result=lambda: self._arrived(uri),
        )
        self.counters.update(
            passes=1,
            reviewed=outcome.reviewed,
            model_calls=outcome.model_calls,
            prompt_tokens=outcome.prompt_tokens,
            unanchored=outcome.dropped,
            bad_output=outcome.bad_output,
            too_big=outcome.skipped,
        )
        log.info(
            "review %s: %d chunk(s) of %d reviewed, %d model call(s), %d prompt token(s), "
            "%d issue(s) not anchored",
            uri,
            outcome.reviewed,
            len(plan_.chunks),
            outcome.model_calls,
            outcome.prompt_tokens,
            outcome.dropped,
        )
        if outcome.error is not None:
            self.ls.report_error(outcome.error, FEATURE)
        self._tell_held(uri)
        self.ls.notify_status()

    def _still_there(self, uri: str, key: bytes) -> bool:
        """Whether a chunk (its key) is in the latest plan of the (still open) document."""
        memo = self.plans.get(uri)
        return memo is not None and key in memo.keys

    def _arrived(self, uri: str) -> None:
        """A chunk's review landed: show it (coalesced with other arrivals of this moment)."""
        if self.pull:
            self._request_refresh()
            self._tell_held(uri)
        else:
            self._schedule_place(uri, self._doc(uri))

    # ---- pull ---------------------------------------------------------------------------

    async def diagnostic(
        self, params: types.DocumentDiagnosticParams
    ) -> types.DocumentDiagnosticReport:
        """`textDocument/diagnostic`: what is known for the current version."""
        uri = params.text_document.uri
        can_refresh = self._can_refresh()
        self._pulls[uri] += 1
        pull = self._pulls[uri]
        if not can_refresh:
            self._tell_held(uri)  # a newer pull: the older one answers now
            # Nothing would tell this client that a review landed, so its pull waits for the
            # review pass under way (a long poll; the client may cancel it at any time).
            while (task := self.reviews.task(uri)) is not None and not task.done():
                await asyncio.wait([task])
        self.need_fill.add(uri)
        view = await self._view(uri)
        if view is None:
            return types.RelatedFullDocumentDiagnosticReport(items=[])
        while not can_refresh and params.previous_result_id == view.result_id:
            # The client has this already: hold the pull until there is news for it. A wake-up
            # with nothing new (a settings re-read, a pass that found the same) holds on; a
            # newer pull, a close or shutdown answers now.
            news = self._news.setdefault(uri, asyncio.Event())
            await news.wait()
            self.need_fill.add(uri)
            view = await self._view(uri)
            if view is None:
                return types.RelatedFullDocumentDiagnosticReport(items=[])
            if self._closing or self._pulls[uri] != pull:
                break
        self.pulled[uri] = view.result_id
        if params.previous_result_id == view.result_id:
            return types.RelatedUnchangedDocumentDiagnosticReport(result_id=view.result_id)
        return types.RelatedFullDocumentDiagnosticReport(items=view.items, result_id=view.result_id)

    def _request_refresh(self) -> None:
        """Ask a pulling client to pull again; one request at a time, coalesced."""
        if not self._can_refresh():
            return
        if self._refreshing:
            self._refresh_again = True
            return
        self._refreshing = True
        self.ls.spawn(self._refresh(), "diagnostics-refresh")

    def _can_refresh(self) -> bool:
        return self.ls.client_supports("workspace.diagnostics.refresh_support")

    async def _refresh(self) -> None:
        try:
            again = True
            while again:
                self._refresh_again = False
                await self.ls.ask_client(
                    self.ls.workspace_diagnostic_refresh_async(None),
                    "workspace/diagnostic/refresh",
                    None,
                )
                again = self._refresh_again
        except Exception as exc:  # a client that fails the refresh still pulls on edits
            log.debug("workspace/diagnostic/refresh failed: %s", exc)
        finally:
            self._refreshing = False
