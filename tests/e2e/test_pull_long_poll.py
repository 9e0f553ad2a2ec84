"""Neovim 0.11 pulls diagnostics without `workspace/diagnostic/refresh`: a review that lands
on save (or after a settings change) still reaches it, by the pull it has open."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from tests.e2e.conftest import WAIT_TIMEOUT, LspilotClient, capabilities_for
from tests.e2e.test_diagnostics import ADD_ISSUE, SOURCE, ReviewModel
from tests.fakes.model_server import FakeModelServer


async def pull(
    client: LspilotClient, uri: str, previous: str | None = None
) -> types.DocumentDiagnosticReport:
    return await client.text_document_diagnostic_async(
        types.DocumentDiagnosticParams(
            text_document=types.TextDocumentIdentifier(uri=uri), previous_result_id=previous
        )
    )


async def test_a_review_on_save_reaches_a_client_that_cannot_refresh(
    open_session: Callable[..., Any],
    model_env: dict[str, str],
    model_server: FakeModelServer,
    workspace: Path,
) -> None:
    model_server.responder = ReviewModel({"add": [ADD_ISSUE]})
    caps = capabilities_for("neovim", pull_diagnostics=True)
    assert caps.workspace is None or not getattr(caps.workspace.diagnostics, "refresh_support", 0)
    options = {"diagnostics": {"triggers": ["save"]}}
    async with open_session(
        "neovim", env=model_env, capabilities=caps, init_options=options
    ) as client:
        # The settings (reviews on save only) are in place once the engine is chosen.
        await client.wait_for_status(lambda s: s.get("engine") not in (None, "starting"))
        uri = client.open_doc("a.py", SOURCE)
        first = await pull(client, uri)
        assert isinstance(first, types.RelatedFullDocumentDiagnosticReport)
        assert list(first.items) == [] and first.result_id
        # The client has the current result: this pull stays open ...
        held = asyncio.ensure_future(pull(client, uri, first.result_id))
        # A round trip after it (not a sleep): the server has taken the pull in by now.
        await client.text_document_hover_async(
            types.HoverParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                position=client.position_of(uri, "import"),
            )
        )
        assert not held.done()
        client.save_doc(uri)  # ... until the review the save started has landed
        report = await asyncio.wait_for(held, WAIT_TIMEOUT)
        assert isinstance(report, types.RelatedFullDocumentDiagnosticReport), report
        assert [d.message for d in report.items] == [ADD_ISSUE["message"]]


async def test_a_settings_change_re_reviews_for_a_client_that_cannot_refresh(
    open_session: Callable[..., Any],
    model_env: dict[str, str],
    model_server: FakeModelServer,
    workspace: Path,
) -> None:
    """Reviews on save only: a settings change that changes reviews (here the model) still
    re-reviews what was reviewed, and the new review reaches the pull held open."""
    second_issue = {**ADD_ISSUE, "message": "The second model says: subtraction."}
    first, second = ReviewModel({"add": [ADD_ISSUE]}), ReviewModel({"add": [second_issue]})
    model_server.responder = lambda body: (second if body.get("model") == "second" else first)(body)
    caps = capabilities_for("neovim", pull_diagnostics=True)
    options = {"diagnostics": {"triggers": ["save"]}}
    async with open_session(
        "neovim",
        env=model_env,
        capabilities=caps,
        init_options=options,
        configuration={"": {"lspilot": {"model": "first"}}},
    ) as client:
        await client.wait_for_status(lambda s: s.get("model") == "first")
        uri = client.open_doc("a.py", SOURCE)
        report = await pull(client, uri)
        client.save_doc(uri)
        while not isinstance(report, types.RelatedFullDocumentDiagnosticReport) or not report.items:
            report = await asyncio.wait_for(pull(client, uri, report.result_id), WAIT_TIMEOUT)
        assert [d.message for d in report.items] == [ADD_ISSUE["message"]]
        held = asyncio.ensure_future(pull(client, uri, report.result_id))
        client.set_configuration({"model": "second"}, section="lspilot")
        client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings=None))
        # The held pull answers when what it shows changes; pull again until the new review.
        report = await asyncio.wait_for(held, WAIT_TIMEOUT)
        while not isinstance(report, types.RelatedFullDocumentDiagnosticReport) or [
            d.message for d in report.items
        ] != [second_issue["message"]]:
            report = await asyncio.wait_for(pull(client, uri, report.result_id), WAIT_TIMEOUT)
        models = [r.body["model"] for r in model_server.chat_requests()]
        split = models.index("second")
        assert set(models[:split]) == {"first"} and set(models[split:]) == {"second"}
