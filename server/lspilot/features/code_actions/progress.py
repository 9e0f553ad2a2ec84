"""`$/progress` around slow work, cancellable from the editor's progress UI.

The server creates the token (``window/workDoneProgress/create``) when the client supports
server-initiated progress, reports begin/end, and turns the client's
``window/workDoneProgress/cancel`` into cancelling the work: the awaiting asyncio task is
cancelled, which aborts the model's HTTP request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from lsprotocol import types

if TYPE_CHECKING:
    from lspilot.session import LspilotServer

log = logging.getLogger("lspilot.progress")


@contextlib.asynccontextmanager
async def progress(
    ls: LspilotServer, title: str, on_cancel: Callable[[], Any]
) -> AsyncIterator[None]:
    """Show `title` as progress while the block runs; the editor's cancel calls `on_cancel`.

    Without client support (or when the client refuses the token) the block just runs.
    """
    if not ls.client_supports("window.work_done_progress"):
        yield
        return
    token = f"lspilot/{uuid.uuid4().hex}"
    # A client that refuses the token (or never answers) must not cost the user the action.
    created = await ls.create_progress_token(token, "progress token")
    if not created:
        yield
        return
    # pygls keeps a future per token and cancels it on window/workDoneProgress/cancel.
    cancelled = ls.work_done_progress.tokens.get(token)
    if cancelled is not None:
        cancelled.add_done_callback(lambda f: on_cancel() if f.cancelled() else None)
    ls.work_done_progress.begin(
        token, types.WorkDoneProgressBegin(title=f"lspilot: {title}", cancellable=True)
    )
    try:
        yield
    finally:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd())
        ls.work_done_progress.tokens.pop(token, None)


async def cancellable(ls: LspilotServer, title: str, work: asyncio.Future[Any]) -> tuple[bool, Any]:
    """Await `work` under progress; ``(False, None)`` when the user cancelled from the UI.

    A cancellation of the caller itself (``$/cancelRequest``) cancels `work` too and
    propagates as usual.
    """
    by_user = False
    # Retrieve the outcome even when nobody awaits it any more (cancelled at shutdown), so
    # asyncio does not log "exception was never retrieved".
    work.add_done_callback(lambda f: f.cancelled() or f.exception())

    def on_cancel() -> None:
        nonlocal by_user
        by_user = True
        work.cancel()

    try:
        async with progress(ls, title, on_cancel):
            return True, await work
    except asyncio.CancelledError:
        # Not `work.cancelled()`: a cancelled gather() finishes with a CancelledError
        # exception instead of the cancelled state.
        current = asyncio.current_task()
        if by_user and (current is None or not current.cancelling()):
            log.info("%s cancelled from the progress UI", title)
            return False, None
        work.cancel()
        raise
