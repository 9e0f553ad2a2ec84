"""lspilot's OpenAI-compatible HTTP client against the fake model server, over real HTTP:
the event stream as servers really send it (and as they break it), refusals, transport
failures, and the bounds on what a server may send."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.fakes.model_server import FakeModelServer, Reply

from lspilot.assistant.engines import chat_client
from lspilot.assistant.engines.chat_client import (
    ChatClient,
    EndpointConnectionError,
    EndpointStatusError,
    EndpointTimeoutError,
    MalformedAnswerError,
    StreamErrorEvent,
)

BODY: dict[str, Any] = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
async def client(model_server: FakeModelServer) -> AsyncIterator[ChatClient]:
    c = ChatClient(model_server.url, "k-test", timeout_s=30, connect_timeout_s=30)
    yield c
    await c.close()


async def chunks(client: ChatClient, body: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    stream = await client.stream(body or BODY)
    try:
        return [chunk async for chunk in stream]
    finally:
        await stream.close()


def text_of(got: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in got if c.get("choices"))


async def test_a_stream_is_read_to_done_with_the_key_and_json_body(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(content="Hello, wörld 👋 漢字"))
    got = await chunks(client, {**BODY, "stream_options": {"include_usage": True}})
    assert text_of(got) == "Hello, wörld 👋 漢字"
    assert any(c.get("usage") for c in got)
    [sent] = model_server.chat_requests()
    assert sent.headers["authorization"] == "Bearer k-test"
    assert sent.headers["content-type"] == "application/json"
    assert sent.body is not None and sent.body["stream"] is True
    assert sent.body["messages"] == BODY["messages"]


@pytest.mark.parametrize(
    "raw",
    [
        # CRLF line ends, a comment, an event name and an id: only `data` counts.
        b': keep-alive\r\nevent: message\r\nid: 1\r\ndata: {"n": 1}\r\n\r\ndata:{"n": 2}\r\n\r\n'
        b"data: [DONE]\r\n\r\n",
        # CR alone, and the last event without its blank line or [DONE].
        b'data: {"n": 1}\r\rdata: {"n": 2}',
    ],
)
async def test_events_are_split_as_sse_says(
    client: ChatClient, model_server: FakeModelServer, raw: bytes
) -> None:
    model_server.script(Reply(raw_body=raw))
    assert await chunks(client) == [{"n": 1}, {"n": 2}]


async def test_a_multi_line_event_is_joined(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(raw_body=b'data: {"n":\ndata: 3}\n\n'))
    assert await chunks(client) == [{"n": 3}]


@pytest.mark.parametrize("raw", [b"data: {not json\n\n", b"data: [1, 2]\n\n", b'data: "text"\n\n'])
async def test_an_event_that_is_no_json_object_is_malformed(
    client: ChatClient, model_server: FakeModelServer, raw: bytes
) -> None:
    model_server.script(Reply(raw_body=raw))
    with pytest.raises(MalformedAnswerError):
        await chunks(client)


async def test_an_endless_line_is_cut_off_not_buffered(
    client: ChatClient, model_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_client, "MAX_EVENT_BYTES", 1000)
    model_server.script(Reply(raw_body=b"data: " + b"x" * 5000))
    with pytest.raises(MalformedAnswerError, match="over 1000 bytes"):
        await chunks(client)


async def test_an_error_in_the_stream_is_raised_with_its_message(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    raw = b'data: {"error": {"code": 400, "message": "the prompt exceeds the context"}}\n\n'
    model_server.script(Reply(raw_body=raw))
    with pytest.raises(StreamErrorEvent, match="the prompt exceeds the context"):
        await chunks(client)


async def test_invalid_utf8_is_replaced_not_raised(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(raw_body=b'data: {"s": "a\xff\xfeb"}\n\n'))
    assert await chunks(client) == [{"s": "a\ufffd\ufffdb"}]


async def test_a_lone_surrogate_is_sent_as_valid_json(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(content="ok"))
    await chunks(client, {**BODY, "messages": [{"role": "user", "content": "a\ud800b"}]})
    [sent] = model_server.chat_requests()
    assert sent.body is not None
    assert sent.body["messages"][0]["content"] == "a\ud800b"


async def test_a_refusal_keeps_status_headers_and_body(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(status=429, headers={"Retry-After": "7"}, error_message="slow down"))
    with pytest.raises(EndpointStatusError) as caught:
        await chunks(client)
    assert caught.value.status_code == 429
    assert caught.value.headers["retry-after"] == "7"
    assert caught.value.message == "slow down"
    assert json.loads(caught.value.body)["error"]["message"] == "slow down"


async def test_a_refusal_that_is_not_json_says_its_text(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(status=502, raw_body=b"<html>Bad   gateway</html>"))
    with pytest.raises(EndpointStatusError) as caught:
        await chunks(client)
    assert caught.value.status_code == 502
    assert caught.value.message == "<html>Bad gateway</html>"


async def test_no_key_sends_no_authorization(model_server: FakeModelServer) -> None:
    client = ChatClient(model_server.url, None, timeout_s=30, connect_timeout_s=30)
    try:
        model_server.script(Reply(content="ok"))
        assert text_of(await chunks(client)) == "ok"
    finally:
        await client.close()
    [sent] = model_server.chat_requests()
    assert "authorization" not in sent.headers


async def test_a_dropped_connection_is_a_connection_error(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(drop=True))
    with pytest.raises(EndpointConnectionError):
        await chunks(client)


async def test_a_connection_cut_mid_stream_is_a_connection_error(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(content="a b c d e f", stall_after=2))
    stream = await client.stream(BODY)
    got = [await stream.__anext__(), await stream.__anext__()]
    assert got
    model_server.stop()  # the server goes away while the answer is half sent
    with pytest.raises(EndpointConnectionError):
        await stream.__anext__()
    await stream.close()


async def test_nobody_listening_is_a_connection_error() -> None:
    client = ChatClient("http://127.0.0.1:9/v1", None, timeout_s=5, connect_timeout_s=5)
    try:
        with pytest.raises(EndpointConnectionError, match=r"127\.0\.0\.1:9"):
            await client.stream(BODY)
    finally:
        await client.close()


async def test_no_response_in_time_is_a_timeout(model_server: FakeModelServer) -> None:
    client = ChatClient(model_server.url, None, timeout_s=0.2, connect_timeout_s=30)
    model_server.script(Reply(stall=True))
    try:
        with pytest.raises(EndpointTimeoutError):
            await client.stream(BODY)
    finally:
        await client.close()


async def test_closing_a_stream_hangs_up_on_the_server(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(content="a b c d", stall_after=1))
    stream = await client.stream(BODY)
    await stream.__anext__()
    await stream.close()
    assert await model_server.await_disconnect(timeout=60)


async def test_a_plain_completion_and_the_model_list(
    client: ChatClient, model_server: FakeModelServer
) -> None:
    model_server.script(Reply(content="OK"))
    answer = await client.complete({**BODY, "stream_options": {"include_usage": True}})
    assert answer["choices"][0]["message"]["content"] == "OK"
    [sent] = model_server.chat_requests()
    assert sent.body is not None and sent.body["stream"] is False
    assert "stream_options" not in sent.body
    assert await client.models() == list(model_server.models)


async def test_a_plain_answer_over_the_cap_is_malformed(
    client: ChatClient, model_server: FakeModelServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_client, "MAX_EVENT_BYTES", 1000)
    model_server.script(Reply(raw_body=b'{"x": "' + b"y" * 5000 + b'"}'))
    with pytest.raises(MalformedAnswerError):
        await client.complete(BODY)
