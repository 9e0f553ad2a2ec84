"""Tokens counted without usage, end to end: the real server over stdio against the fake
model server behaving like llama.cpp (no usage in streams) with llama.cpp's or
llama-cpp-python's tokenize route, or none; what the status, the usage log, `lspilot usage`
and `lspilot doctor` say about who counted."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.e2e.conftest import LspilotClient, lsp_session, wait_for
from tests.fakes.model_server import FakeModelServer, fake_tokens

LSPILOT = [sys.executable, "-m", "lspilot"]
SOURCE = '''def total(prices):
    """Add up the prices."""
    result = 0
    for price in prices:
        result = result + price
    return result


def count(items):
    return len(items)
'''
ANSWER = "`total` adds up the prices, one by one."
ROUTES = {
    "llama.cpp": "llama.cpp /tokenize",
    "llama-cpp-python": "llama-cpp-python /extras/tokenize/count",
}


def local_env(model_env: dict[str, str]) -> dict[str, str]:
    """A loopback llama.cpp-like server: one request at a time, no review noise."""
    env = {**model_env, "LSPILOT_DIAGNOSTICS__ENABLED": "false"}
    del env["LSPILOT_LIMITS__MAX_CONCURRENT"]
    return env


async def hover(client: LspilotClient, uri: str, needle: str) -> str:
    result = await client.text_document_hover_async(
        types.HoverParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            position=client.position(uri, client.find(uri, needle) + 1),
        )
    )
    assert result is not None and isinstance(result.contents, types.MarkupContent)
    return result.contents.value


async def status_of(client: LspilotClient) -> dict[str, Any]:
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="lspilot.status", arguments=[])
    )
    assert isinstance(result, dict)
    return result


def usage_lines(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["LSPILOT_CACHE__DIR"]) / "usage" / "usage.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def run_cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*LSPILOT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize("server", ["llama.cpp", "llama-cpp-python"])
async def test_tokens_are_counted_by_the_servers_tokenizer(
    server: str, model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.mimic_llama_cpp = True
    model_server.tokenize = server
    model_server.responder = lambda body: ANSWER
    env = local_env(model_env)
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "prices.py", SOURCE)
        assert "adds up the prices" in await hover(client, uri, "total")
        status = await client.wait_for_status(
            lambda s: s.get("tokensCounted") == "tokenizer" and not s.get("busy")
        )
        assert status["errors"] == 0
        assert status["tokenCounting"].endswith(
            f"counted by the model's tokenizer ({ROUTES[server]})"
        )
        assert f"{status['tokensIn']} in, {status['tokensOut']} out" in status["tokenCounting"]
        assert status["tokensOut"] == len(fake_tokens(ANSWER))
        lines = await wait_for(lambda: usage_lines(env) or None, what="a usage line")
    [line] = lines
    assert line["token_source"] == "tokenizer" and line["counted"] is True
    assert (line["prompt_tokens"], line["completion_tokens"]) == (
        status["tokensIn"],
        status["tokensOut"],
    )
    # Probed with the fixed text and an empty one first; then the prompt and the answer.
    tokenized = model_server.tokenize_requests()
    served = [r for r in tokenized if r.path != "/tokenize" or server == "llama.cpp"]
    assert len(served) == 4
    report = await asyncio.to_thread(run_cli, env, workspace, "usage", "--json")
    totals = json.loads(report.stdout)
    assert (totals["tokenizer"], totals["estimated"], totals["reported"]) == (1, 0, 0)
    text = await asyncio.to_thread(run_cli, env, workspace, "usage")
    assert "(1 counted by the model's tokenizer)" in text.stdout


async def test_without_a_tokenizer_tokens_are_estimated_and_it_is_asked_once(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.mimic_llama_cpp = True  # and no tokenize route: 404 on each
    model_server.responder = lambda body: ANSWER
    env = local_env(model_env)
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "prices.py", SOURCE)
        await hover(client, uri, "total")
        await hover(client, uri, "count")
        status = await client.wait_for_status(
            lambda s: s.get("requests") == 2 and not s.get("busy")
        )
        assert status["tokensCounted"] == "estimated"
        lines = await wait_for(
            lambda: (found := usage_lines(env)) and len(found) == 2 and found, what="two lines"
        )
        status = await status_of(client)
        assert "estimated: the server sent no usage and has no tokenizer" in status["tokenCounting"]
    assert {line["token_source"] for line in lines} == {"estimated"}
    assert len(model_server.tokenize_requests()) == 3  # each route once, for both answers
    totals = json.loads(
        (await asyncio.to_thread(run_cli, env, workspace, "usage", "--json")).stdout
    )
    assert (totals["tokenizer"], totals["estimated"]) == (0, 2)


async def test_a_tokenizer_that_hangs_never_holds_the_answer_up(
    model_env: dict[str, str], workspace: Path, model_server: FakeModelServer
) -> None:
    model_server.mimic_llama_cpp = True
    model_server.tokenize = "llama.cpp"
    model_server.tokenize_stall = True
    model_server.responder = lambda body: ANSWER
    env = local_env(model_env)
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "prices.py", SOURCE)
        assert "adds up the prices" in await hover(client, uri, "total")
        assert await model_server.await_requests(1, 30, path="/tokenize")
        # The answer came while the tokenizer hangs; then its timeout leaves the estimate.
        lines = await wait_for(lambda: usage_lines(env) or None, what="a usage line", timeout=60)
    assert [line["token_source"] for line in lines] == ["estimated"]


def test_doctor_says_which_count_the_endpoint_gets(
    model_env: dict[str, str], tmp_path: Path, model_server: FakeModelServer
) -> None:
    model_server.mimic_llama_cpp = True
    model_server.tokenize = "llama-cpp-python"
    counted = run_cli(model_env, tmp_path, "doctor")
    assert "Traceback" not in counted.stdout + counted.stderr
    assert (
        "ok    usage: the endpoint sends no usage; lspilot counts tokens with the model's"
        " tokenizer (llama-cpp-python /extras/tokenize/count)"
    ) in counted.stdout
    model_server.tokenize = None
    estimated = run_cli(model_env, tmp_path, "doctor")
    assert "warn  usage: the endpoint sends no usage; lspilot estimates tokens" in estimated.stdout
    assert "no tokenizer to ask on the server" in estimated.stdout
