"""A 400 that is the request's own fault, end to end: the real server over stdio against the
fake model server answering every request with a 400 that names none of the optional fields
lspilot sent (`response_format`, `stream_options`). It is not taken for a refusal of one of
them: one request, one clear message, nothing asked again without a field."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import hover_text, lsp_session
from tests.fakes.model_server import FakeModelServer, Reply

SOURCE = '''def total(prices):
    """Add up the prices."""
    return sum(prices)
'''
UNRELATED_400 = "The model `test-model` does not exist or you do not have access to it."


async def test_an_unrelated_400_is_one_request_and_one_clear_error(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.responder = lambda body: Reply(status=400, error_message=UNRELATED_400)
    async with lsp_session(env=model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "prices.py", SOURCE)
        # The review on open: a request with a JSON schema and stream options, answered 400.
        message = await client.wait_for_message("rejected the request")
        await client.wait_for_status(lambda s: s.get("errors", 0) >= 1 and not s.get("busy"))
        [review] = model_server.chat_requests()
        assert review.body is not None
        assert "response_format" in review.body and "stream_options" in review.body
        assert "check the `model` setting" in message.message

        # A hover meets the same 400: said in the hover, still one request, no new message.
        text = await hover_text(client, uri, "total")
        assert "rejected the request" in text
        await client.wait_for_status(lambda s: s.get("errors", 0) >= 2 and not s.get("busy"))
        assert len(model_server.chat_requests()) == 2
        assert [m.message for m in client.messages] == [message.message]
