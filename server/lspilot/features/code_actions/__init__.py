"""Code actions: generate from comment, document, explain, fix.

Listing (`listing`) is instant and model-free; the model runs when the user picks an action:
in `codeAction/resolve`, or in the `lspilot.runAction` command for clients without resolve
support (the server then applies the edit with `workspace/applyEdit`). See `perform`.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from lspilot.features.code_actions.listing import RUN_ACTION, code_actions
from lspilot.features.code_actions.offers import KINDS

# A runtime import, not TYPE_CHECKING: pygls resolves the command handler's annotations.
from lspilot.session import LspilotServer

# Performing an action (perform: syntax, answers, the task models) is imported when one is
# picked, not before `initialize` is answered.
if TYPE_CHECKING:
    from lspilot.features.code_actions.perform import Request

__all__ = ["RUN_ACTION", "register"]


def register(ls: LspilotServer) -> None:
    """Register the code action, resolve and command handlers."""
    # Commands run in the background; the status says how many started and finished (the
    # `lspilot/status` sent when one finishes comes after its edit or message).
    runs: Counter[str] = Counter()
    ls.status_sections["actions"] = lambda: {
        "started": runs["started"],
        "finished": runs["finished"],
        "running": runs["started"] - runs["finished"],
    }

    async def run_counted(request: Any) -> None:
        runs["started"] += 1
        try:
            await run_action(ls, request)
        finally:
            runs["finished"] += 1
            ls.notify_status()

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.QuickFix,
                types.CodeActionKind.Refactor,
                *KINDS,
            ],
            resolve_provider=True,
        ),
    )
    async def on_code_action(
        ls: LspilotServer, params: types.CodeActionParams
    ) -> list[types.CodeAction | types.Command] | None:
        return await code_actions(ls, params)

    @ls.feature(types.CODE_ACTION_RESOLVE)
    async def on_resolve(ls: LspilotServer, action: types.CodeAction) -> types.CodeAction:
        from lspilot.features.code_actions.perform import Request, compute_edit

        request = Request.decode(action.data)
        if request is None or request.action == "explain" or action.edit is not None:
            return action
        edit = await compute_edit(ls, request)
        if edit is not None:
            action.edit = edit
        return action

    @ls.command(RUN_ACTION)
    async def on_run_action(ls: LspilotServer, *args: Any) -> None:
        # Answered at once: clients such as eglot wait for a command's answer and freeze
        # until it comes. The work goes on in the background under $/progress, and its edit
        # follows by workspace/applyEdit.
        from lspilot.features.code_actions.perform import Request

        request = Request.decode(args[0]) if args else None
        if request is not None:
            ls.spawn(run_counted(request), name=f"code action {request.action}")


async def run_action(ls: LspilotServer, request: Request) -> None:
    """Perform a picked action for a client without resolve: explain, or edit by applyEdit."""
    from lspilot.features.code_actions.perform import compute_edit, explain, tell

    if request.action == "explain":
        await explain(ls, request)
        return
    edit = await compute_edit(ls, request)
    if edit is None:
        return
    result = await ls.ask_client(
        ls.workspace_apply_edit_async(
            types.ApplyWorkspaceEditParams(edit=edit, label=request.title)
        ),
        "workspace/applyEdit",
        None,
    )
    if result is None:
        tell(
            ls,
            f"lspilot: the editor did not confirm “{request.title}”; check the file.",
            types.MessageType.Warning,
        )
    elif not result.applied:
        reason = f" ({result.failure_reason})" if result.failure_reason else ""
        tell(
            ls,
            f"lspilot: the editor did not apply “{request.title}”{reason}.",
            types.MessageType.Warning,
        )
