"""Usage and budgets, end to end: the usage log, `lspilot usage`, a budget two servers share."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.e2e.conftest import hover_text as hover_on
from tests.e2e.conftest import lsp_session, wait_for
from tests.fakes.model_server import FakeModelServer, Reply

LSPILOT = [sys.executable, "-m", "lspilot"]
CODE = """def f1(x):
    return x + 1


def f2(x):
    return x + 2


def f3(x):
    return x + 3
"""


@pytest.fixture
def model_env(quiet_model_env: dict[str, str]) -> dict[str, str]:
    """Review diagnostics off: every model request is a hover's."""
    return quiet_model_env


def usage_lines(env: dict[str, str]) -> list[dict[str, Any]]:
    path = Path(env["LSPILOT_CACHE__DIR"]) / "usage" / "usage.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_usage_log_and_report_match_the_model_servers_own_log(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    model_server.script(
        Reply(content="one", usage=(101, 11)),
        Reply(content="two", usage=(202, 22)),
        Reply(content="three", usage=(303, 33)),
    )
    async with lsp_session(env=model_env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "calc.py", CODE)
        for name in ("f1(x)", "f2(x)", "f3(x)", "f1(x)"):  # the last one is a cache hit
            await hover_on(client, uri, name)
        lines = await wait_for(
            lambda: (found := usage_lines(model_env)) and len(found) == 4 and found,
            what="four usage lines",
        )
        status = await client.wait_for_status(
            lambda s: (s.get("usageToday") or {}).get("requests") == 4
        )
        assert status["usageToday"]["cached"] == 1
        assert status["cacheMisses"] == 3 and status["cacheHits"] == 1

    sent = model_server.chat_requests()
    misses = [line for line in lines if not line["cached"]]
    assert len(misses) == len(sent) == 3
    # Written from worker threads: compare as sets of (in, out), against what the fake sent.
    logged = sorted((line["prompt_tokens"], line["completion_tokens"]) for line in misses)
    assert logged == sorted(r.reply.usage for r in sent if r.reply and r.reply.usage)
    assert logged == [(101, 11), (202, 22), (303, 33)]
    assert all(line["counted"] and line["outcome"] == "ok" for line in misses)
    assert {line["model"] for line in lines} == {r.model for r in sent} == {"test-model"}
    assert {line["task"] for line in lines} == {"explain"}
    # Never code: no line carries any of the document's text.
    raw = (Path(model_env["LSPILOT_CACHE__DIR"]) / "usage" / "usage.jsonl").read_text()
    assert "return x" not in raw and "f1" not in raw

    report = await asyncio.to_thread(
        subprocess.run,
        [*LSPILOT, "usage", "--since", "1d", "--json"],
        cwd=workspace,
        env=model_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert report.returncode == 0, report.stderr
    totals = json.loads(report.stdout)
    assert (totals["requests"], totals["cached"]) == (4, 1)
    assert (totals["prompt_tokens"], totals["completion_tokens"]) == (606, 66)
    assert totals["cache_hit_rate"] == 0.25
    assert totals["by_model"]["test-model"]["requests"] == 4
    assert totals["by_task"]["explain"]["tokens"] == 672

    text = await asyncio.to_thread(
        subprocess.run,
        [*LSPILOT, "usage"],
        cwd=workspace,
        env=model_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "requests: 4, answered from the cache: 1 (hit rate 25%)" in text.stdout

    # Prices from the environment (JSON, as documented), then from the workspace file.
    priced_env = {**model_env, "LSPILOT_USAGE__PRICES": '{"test-model": [10.0, 20.0]}'}
    priced = await usage_json(workspace, priced_env)
    assert priced.stderr == ""
    assert json.loads(priced.stdout)["cost_usd"] == round((606 * 10.0 + 66 * 20.0) / 1e6, 6)
    (workspace / ".lspilot.toml").write_text('[usage.prices]\n"test-model" = [1.0, 2.0]\n')
    from_file = await usage_json(workspace, model_env)
    assert from_file.stderr == ""
    assert json.loads(from_file.stdout)["cost_usd"] == round((606 * 1.0 + 66 * 2.0) / 1e6, 6)
    # A price table that does not apply is said, not silently left out of the cost.
    bad = await usage_json(workspace, {**model_env, "LSPILOT_USAGE__PRICES": "test-model=1"})
    assert bad.returncode == 0
    assert "lspilot usage: warning:" in bad.stderr and "LSPILOT_USAGE__PRICES" in bad.stderr


async def usage_json(workspace: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`lspilot usage --since 1d --json` run in `workspace`."""
    return await asyncio.to_thread(
        subprocess.run,
        [*LSPILOT, "usage", "--since", "1d", "--json"],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_two_servers_share_one_daily_budget(
    workspace: Path, model_env: dict[str, str], model_server: FakeModelServer
) -> None:
    # A request holds ~470 tokens (its prompt, estimated generously, and 100 of output) and
    # uses 750: the first fits in 1,000, the second, from the other editor, no longer does.
    env = {
        **model_env,
        "LSPILOT_LIMITS__DAILY_TOKEN_BUDGET": "1000",
        "LSPILOT_MAX_OUTPUT_TOKENS": "100",
        "LSPILOT_CONTEXT__ENABLED": "false",
    }
    model_server.responder = lambda body: Reply(content="explained", usage=(700, 50))
    async with (
        lsp_session(env=env, workspace=workspace) as first,
        lsp_session("neovim", env=env, workspace=workspace) as second,
    ):
        uri = first.open_doc(workspace / "calc.py", CODE)
        assert "explained" in await hover_on(first, uri, "f1(x)")
        await wait_for(lambda: len(usage_lines(env)) == 1, what="the first request settled")

        other = second.open_doc(workspace / "calc.py", CODE)
        paused = await hover_on(second, other, "f2(x)")
        assert "daily token budget" in paused and "limits.dailyTokenBudget" in paused
        assert len(model_server.chat_requests()) == 1
        await second.wait_for_message("daily token budget")
        status = await second.wait_for_status(lambda s: bool(s.get("budgetExhausted")))
        assert status["budgetUsed"] == 750 and status["budgetDaily"] == 1000
        # One clear message, not one per attempt.
        await hover_on(second, other, "f3(x)")
        assert sum("daily token budget" in m.message for m in second.messages) == 1

        # A setting change (a bigger budget) resumes at once.
        second.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(
                settings={"lspilot": {"limits": {"dailyTokenBudget": 100000}}}
            )
        )
        await second.wait_for_status(lambda s: s.get("budgetDaily") == 100000)
        assert "explained" in await hover_on(second, other, "f2(x)")
        assert len(model_server.chat_requests()) == 2
