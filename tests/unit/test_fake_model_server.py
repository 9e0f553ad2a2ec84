"""The fake model server, proven with the real openai SDK and httpx over real sockets."""

from __future__ import annotations

import asyncio
import json
import threading

import httpx
import openai
import pytest
from tests.fakes.model_server import DEFAULT_ANSWER, FakeModelServer, Reply

MESSAGES = [
    {"role": "system", "content": "You explain code."},
    {"role": "user", "content": "def add(a, b):\n    return a + b"},
]


def sdk(server: FakeModelServer, **kwargs: object) -> openai.AsyncOpenAI:
    """The SDK configured like lspilot's engine: one attempt, our retry policy elsewhere."""
    return openai.AsyncOpenAI(base_url=server.url, api_key="test", max_retries=0, **kwargs)


async def test_non_streamed_completion_with_usage(model_server: FakeModelServer) -> None:
    model_server.script(Reply(content="Adds two numbers.", usage=(12, 5)))
    async with sdk(model_server) as client:
        result = await client.chat.completions.create(model="test-model", messages=MESSAGES)

    assert result.choices[0].message.content == "Adds two numbers."
    assert result.choices[0].finish_reason == "stop"
    assert result.model == "test-model"
    assert result.usage is not None
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (12, 5)
    assert result.usage.total_tokens == 17

    [request] = model_server.chat_requests()
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.body is not None and request.body["model"] == "test-model"
    assert request.headers["authorization"] == "Bearer test"
    assert request.disconnected is False
    assert (
        model_server.prompt_text(request) == "You explain code.\ndef add(a, b):\n    return a + b"
    )


async def test_default_responder_and_computed_usage(model_server: FakeModelServer) -> None:
    async with sdk(model_server) as client:
        result = await client.chat.completions.create(model="test-model", messages=MESSAGES)

    assert result.choices[0].message.content == DEFAULT_ANSWER
    assert result.usage is not None
    # ~4 characters per token, rounded up.
    prompt_chars = len("You explain code.") + len("def add(a, b):\n    return a + b")
    assert result.usage.prompt_tokens == (prompt_chars + 3) // 4
    assert result.usage.completion_tokens == (len(DEFAULT_ANSWER) + 3) // 4


async def test_responder_sees_the_body_and_may_return_a_reply(
    model_server: FakeModelServer,
) -> None:
    model_server.responder = lambda body: Reply(content=f"model={body['model']}", usage=(1, 1))
    async with sdk(model_server) as client:
        result = await client.chat.completions.create(model="test-model", messages=MESSAGES)
    assert result.choices[0].message.content == "model=test-model"


async def test_streamed_completion_in_chunks_with_usage(model_server: FakeModelServer) -> None:
    text = "This function adds a and b and returns the sum."
    model_server.script(Reply(content=text, usage=(30, 11)))
    pieces: list[str] = []
    usage = None
    async with sdk(model_server) as client:
        stream = await client.chat.completions.create(
            model="test-model",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.usage is not None:
                usage = chunk.usage

    assert "".join(pieces) == text
    assert len(pieces) > 1, "streaming must really split the answer"
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (30, 11, 41)
    [request] = model_server.chat_requests()
    assert request.stream is True


async def test_stream_without_include_usage_has_no_usage_chunk(
    model_server: FakeModelServer,
) -> None:
    async with sdk(model_server) as client:
        stream = await client.chat.completions.create(
            model="test-model", messages=MESSAGES, stream=True
        )
        chunks = [chunk async for chunk in stream]
    assert all(chunk.usage is None for chunk in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == DEFAULT_ANSWER


async def test_keep_alive_connection_is_reused(model_server: FakeModelServer) -> None:
    """Content-Length and chunked framing are right, so one connection serves many calls."""
    model_server.script("one", "two", "three")
    async with sdk(model_server) as client:
        first = await client.chat.completions.create(model="test-model", messages=MESSAGES)
        stream = await client.chat.completions.create(
            model="test-model", messages=MESSAGES, stream=True
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
        third = await client.chat.completions.create(model="test-model", messages=MESSAGES)

    assert [first.choices[0].message.content, streamed, third.choices[0].message.content] == [
        "one",
        "two",
        "three",
    ]
    # One socket: the client's port is the same for all three requests.
    ports = {request.peer_port for request in model_server.chat_requests()}
    assert len(ports) == 1


async def test_scripted_429_with_retry_after(model_server: FakeModelServer) -> None:
    model_server.script(
        Reply(status=429, headers={"Retry-After": "7"}, error_message="slow down"), "fine"
    )
    async with sdk(model_server) as client:
        with pytest.raises(openai.RateLimitError) as caught:
            await client.chat.completions.create(model="test-model", messages=MESSAGES)
        again = await client.chat.completions.create(model="test-model", messages=MESSAGES)

    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.body == {
        "message": "slow down",
        "type": "rate_limit_error",
        "param": None,
        "code": "rate_limit_exceeded",
    }
    assert again.choices[0].message.content == "fine"
    assert len(model_server.chat_requests()) == 2


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, openai.BadRequestError),
        (401, openai.AuthenticationError),
        (404, openai.NotFoundError),
        (500, openai.InternalServerError),
    ],
)
async def test_scripted_error_statuses(
    model_server: FakeModelServer, status: int, error: type[openai.APIStatusError]
) -> None:
    model_server.script(Reply(status=status))
    async with sdk(model_server) as client:
        with pytest.raises(error) as caught:
            await client.chat.completions.create(model="test-model", messages=MESSAGES)
    assert caught.value.status_code == status


async def test_stall_then_client_cancel_is_recorded_as_disconnect(
    model_server: FakeModelServer,
) -> None:
    model_server.script(Reply(stall=True))
    async with sdk(model_server) as client:
        call = asyncio.create_task(
            client.chat.completions.create(model="test-model", messages=MESSAGES)
        )
        assert await model_server.await_requests(1)
        assert model_server.chat_requests()[0].disconnected is False
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert await model_server.await_disconnect()

    [request] = model_server.chat_requests()
    assert request.disconnected is True


async def test_stall_then_client_timeout_is_recorded_as_disconnect(
    model_server: FakeModelServer,
) -> None:
    model_server.script(Reply(stall=True))
    async with sdk(model_server, timeout=0.2) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model="test-model", messages=MESSAGES)
    assert await model_server.await_disconnect()


async def test_disconnect_during_slow_stream_is_recorded(model_server: FakeModelServer) -> None:
    model_server.script(Reply(content="a b c d e f g h", chunk_delay=30))
    async with sdk(model_server) as client:
        stream = await client.chat.completions.create(
            model="test-model", messages=MESSAGES, stream=True
        )
        first = await anext(aiter(stream))
        assert first.choices[0].delta.role == "assistant"
        await stream.close()
    assert await model_server.await_disconnect()


async def test_drop_is_a_connection_error(model_server: FakeModelServer) -> None:
    model_server.script(Reply(drop=True), "after the drop")
    async with sdk(model_server) as client:
        with pytest.raises(openai.APIConnectionError):
            await client.chat.completions.create(model="test-model", messages=MESSAGES)
        again = await client.chat.completions.create(model="test-model", messages=MESSAGES)
    assert again.choices[0].message.content == "after the drop"


async def test_raw_malformed_body(model_server: FakeModelServer) -> None:
    model_server.script(Reply(raw_body=b'{"choices": [ {"message": '))
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{model_server.url}/chat/completions",
            json={"model": "test-model", "messages": MESSAGES},
        )
    assert response.status_code == 200
    assert response.content == b'{"choices": [ {"message": '
    with pytest.raises(json.JSONDecodeError):
        response.json()


async def test_raw_malformed_body_through_the_sdk(model_server: FakeModelServer) -> None:
    """What the engine must handle: the SDK does not wrap a body that is not JSON at all."""
    model_server.script(Reply(raw_body=b"not json at all"))
    async with sdk(model_server) as client:
        with pytest.raises(json.JSONDecodeError):
            await client.chat.completions.create(model="test-model", messages=MESSAGES)


async def test_models_list(model_server: FakeModelServer) -> None:
    model_server.models = ["test-model", "big-model"]
    async with sdk(model_server) as client:
        page = await client.models.list()
    assert [m.id for m in page.data] == ["test-model", "big-model"]
    [request] = model_server.requests
    assert (request.method, request.path, request.body) == ("GET", "/v1/models", None)
    assert model_server.chat_requests() == []


async def test_strict_models_rejects_unknown_model(model_server: FakeModelServer) -> None:
    model_server.strict_models = True
    model_server.script("kept for the next valid request")
    async with sdk(model_server) as client:
        with pytest.raises(openai.NotFoundError) as caught:
            await client.chat.completions.create(model="nope", messages=MESSAGES)
        ok = await client.chat.completions.create(model="test-model", messages=MESSAGES)
    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"] == "model not found"
    assert ok.choices[0].message.content == "kept for the next valid request"


async def test_reject_response_format(model_server: FakeModelServer) -> None:
    model_server.reject_response_format = True
    model_server.script('{"issues": []}')
    async with sdk(model_server) as client:
        with pytest.raises(openai.BadRequestError) as caught:
            await client.chat.completions.create(
                model="test-model",
                messages=MESSAGES,
                response_format={"type": "json_object"},
            )
        plain = await client.chat.completions.create(model="test-model", messages=MESSAGES)

    assert isinstance(caught.value.body, dict)
    assert caught.value.body["message"] == "response_format is not supported"
    assert caught.value.body["param"] == "response_format"
    # The refusal did not consume the scripted reply: the fallback request gets it.
    assert plain.choices[0].message.content == '{"issues": []}'


async def test_delay_is_honoured_before_answering(model_server: FakeModelServer) -> None:
    """A delay longer than the client's timeout turns into a timeout and a disconnect."""
    model_server.script(Reply(delay=30))
    async with sdk(model_server, timeout=0.2) as client:
        with pytest.raises(openai.APITimeoutError):
            await client.chat.completions.create(model="test-model", messages=MESSAGES)
    assert await model_server.await_disconnect()


def test_wait_for_requests_times_out_without_requests(model_server: FakeModelServer) -> None:
    assert model_server.wait_for_requests(1, timeout=0.05) is False
    assert model_server.wait_for_disconnect(timeout=0.05) is False


def test_reset_forgets_requests_but_keeps_the_setup(model_server: FakeModelServer) -> None:
    model_server.responder = lambda body: "from the responder"
    model_server.script("first")
    with httpx.Client() as http:
        first = http.post(f"{model_server.url}/chat/completions", json={"model": "x"})
        model_server.script("queued")
        model_server.reset()
        assert model_server.requests == []
        assert model_server.pending_replies() == 1
        model_server.clear_script()
        assert model_server.pending_replies() == 0
        second = http.post(f"{model_server.url}/chat/completions", json={"model": "x"})
    assert first.json()["choices"][0]["message"]["content"] == "first"
    assert second.json()["choices"][0]["message"]["content"] == "from the responder"
    assert len(model_server.requests) == 1


def test_stop_ends_a_stalled_handler_promptly() -> None:
    """stop() returns although a handler is stalled on an open connection."""
    server = FakeModelServer().start()
    server.script(Reply(stall=True))
    errors: list[Exception] = []

    def call() -> None:
        try:
            with httpx.Client(timeout=30) as http:
                http.post(f"{server.url}/chat/completions", json={"model": "m", "messages": []})
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    assert server.wait_for_requests(1)
    server.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], httpx.RemoteProtocolError)


def test_context_manager_and_url() -> None:
    with FakeModelServer(models=["m1"]) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/v1"
        response = httpx.get(f"{server.url}/models")
        assert response.json() == {
            "object": "list",
            "data": [{"id": "m1", "object": "model", "owned_by": "fake"}],
        }
    with pytest.raises(RuntimeError):
        _ = server.port


@pytest.mark.parametrize("content", ["", "x" * 200_000], ids=["empty", "huge"])
async def test_empty_and_huge_output(model_server: FakeModelServer, content: str) -> None:
    model_server.script(Reply(content=content, finish_reason="length"), Reply(content=content))
    async with sdk(model_server) as client:
        plain = await client.chat.completions.create(model="test-model", messages=MESSAGES)
        stream = await client.chat.completions.create(
            model="test-model", messages=MESSAGES, stream=True
        )
        streamed = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert plain.choices[0].message.content == content
    assert plain.choices[0].finish_reason == "length"
    assert streamed == content
