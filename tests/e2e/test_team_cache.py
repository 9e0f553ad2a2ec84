"""The team cache end to end: real servers over stdio, a real `redis-server`, the fake model.

Each lspilot process gets its own disk cache; what they share is the Redis. Every count is
read from the fake model server's request log, every wait is on an event or on the store
with a generous timeout. The shared read timeout is raised (`cache.sharedTimeoutMs`) so a
loaded machine cannot turn a slow read into a model request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from tests.e2e.conftest import LspilotClient, hover_text, lsp_session, run_lspilot, wait_for
from tests.e2e.conftest import lspilot_status as status
from tests.fakes.model_server import FakeModelServer
from tests.fakes.redis_server import RedisServer, redis_server_binary

from lspilot.syntax import parse

NAMESPACE = "team-a"
SOURCE = '''def add(a, b):
    """Add two numbers."""
    return a - b


def greet(name):
    return "hello " + name


def double(x):
    return x * 2


total = add(1, 2)
shout = greet("you")
twice = double(2)
'''
EXPLANATION = "Explained by the model."
ADD_ISSUE = {"quote": "a - b", "message": "Subtracts instead of adding.", "severity": "error"}
#: Review requests the file costs: one per chunk.
CHUNKS = len(parse(SOURCE, "python").chunks())
# Hang guards, not timing assertions (a reconnect waits out a backoff of up to 30 s).
STORE_TIMEOUT = 60.0


def answer(body: dict[str, Any]) -> str:
    """Review JSON for review prompts (one issue in `add`), an explanation otherwise."""
    prompt = "\n".join(str(m.get("content")) for m in body.get("messages", []))
    if "Review `" in prompt:
        return json.dumps({"issues": [ADD_ISSUE] if "a - b" in prompt else []})
    return EXPLANATION


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 at a free port, killed after the test."""
    if redis_server_binary() is None:
        pytest.skip(
            "redis-server is not installed and `make test-apt` could not install it"
            " (needs apt-get and root): the team cache tests need a real Redis"
        )
    server = RedisServer(tmp_path / "redis").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake(model_server: FakeModelServer) -> FakeModelServer:
    model_server.responder = answer
    return model_server


def team_env(model_env: dict[str, str], redis: RedisServer, cache_dir: Path) -> dict[str, str]:
    """One team member: the shared Redis, the team's namespace, a disk cache of their own."""
    return {
        **model_env,
        "LSPILOT_CACHE__DIR": str(cache_dir),
        "LSPILOT_CACHE__SHARED_URL": redis.url,
        "LSPILOT_CACHE__SHARED_NAMESPACE": NAMESPACE,
        # The longest allowed: a read a loaded machine delays must still be a read (a miss
        # here would ask the model and fail the test); a stopped Redis refuses at once.
        "LSPILOT_CACHE__SHARED_TIMEOUT_MS": "5000",
    }


def shared_keys(redis: RedisServer) -> list[bytes]:
    return list(redis.client().scan_iter(match=f"lspilot:{NAMESPACE}:*"))


async def wait_for_shared(redis: RedisServer, count: int) -> list[bytes]:
    """Wait until the namespace holds at least `count` entries (writes run in the background)."""
    return await wait_for(
        lambda: (keys := shared_keys(redis)) and len(keys) >= count and keys,
        STORE_TIMEOUT,
        what=f"{count} entries in the team cache",
    )


async def wait_for_hits(client: LspilotClient, level: str, count: int) -> dict[str, Any]:
    """Wait until `count` lookups were served from `level` (the review runs in the background)."""
    latest: dict[str, Any] = {}

    async def enough() -> bool:
        latest.update((await status(client))["cache"])
        return latest["levels"][level] >= count

    loop = asyncio.get_running_loop()
    deadline = loop.time() + STORE_TIMEOUT
    while not await enough():
        assert loop.time() < deadline, f"never {count} hits from {level}: {latest}"
        await asyncio.sleep(0.05)  # re-ask the status; the deadline is only a hang guard
    return latest


async def add_diagnostic(client: LspilotClient, uri: str) -> types.Diagnostic:
    diagnostics = await client.wait_for_diagnostics(
        uri, lambda p: any(d.message == ADD_ISSUE["message"] for d in p.diagnostics)
    )
    return next(d for d in diagnostics.diagnostics if d.message == ADD_ISSUE["message"])


async def test_a_second_process_gets_hover_and_review_from_the_first_ones_redis(
    model_env: dict[str, str], workspace: Path, tmp_path: Path, redis: RedisServer, fake
) -> None:
    first = team_env(model_env, redis, tmp_path / "cache-first")
    async with lsp_session(env=first, workspace=workspace) as client:
        uri = client.open_doc(workspace / "calc.py", SOURCE)
        await add_diagnostic(client, uri)
        assert EXPLANATION in await hover_text(client, uri, "add(1, 2)")
        answers = CHUNKS + 1  # the review of each chunk and one explanation
        await wait_for(lambda: len(fake.chat_requests()) >= answers, STORE_TIMEOUT)
        await wait_for_shared(redis, answers)
        assert (await status(client))["cache"]["shared"]["state"] == "up"
    # Counted once the first process is gone: whatever it asked (a retried request too) is done.
    asked = len(fake.chat_requests())

    second = team_env(model_env, redis, tmp_path / "cache-second")
    async with lsp_session(env=second, workspace=workspace) as client:
        uri = client.open_doc(workspace / "calc.py", SOURCE)
        found = await add_diagnostic(client, uri)
        assert client.text_in(uri, found.range) == "a - b"
        assert EXPLANATION in await hover_text(client, uri, "add(1, 2)")
        cache = await wait_for_hits(client, "shared", answers)
        new = [fake.prompt_text(r)[-300:] for r in fake.chat_requests()[asked:]]
        assert new == [], json.dumps(cache)  # not one model request
        assert cache["shared"]["namespace"] == NAMESPACE
    # The second one filled its own disk cache from the team's.
    assert (tmp_path / "cache-second" / "results").is_dir()


async def test_redis_stopped_mid_session_one_warning_then_recovery(
    model_env: dict[str, str], workspace: Path, tmp_path: Path, redis: RedisServer, fake
) -> None:
    env = {
        **team_env(model_env, redis, tmp_path / "cache"),
        "LSPILOT_DIAGNOSTICS__ENABLED": "false",
    }
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "calc.py", SOURCE)
        assert EXPLANATION in await hover_text(client, uri, "add(1, 2)")
        await wait_for_shared(redis, 1)

        redis.stop()
        # Features keep working on memory and disk, and the model for what is new.
        assert EXPLANATION in await hover_text(client, uri, "greet(")
        asked = len(fake.chat_requests())
        assert EXPLANATION in await hover_text(client, uri, "add(1, 2)")  # from memory
        assert len(fake.chat_requests()) == asked
        down = (await status(client))["cache"]["shared"]
        assert down["state"] in ("down", "connecting"), down
        assert down["reason"]
        assert down["warnings"] == 1  # one warning for the whole outage
        assert (await status(client))["cache"]["levels"]["memory"] >= 1

        seen = len(client.statuses)
        redis.start()  # the same port, empty
        await client.wait_for_status(
            lambda s: s.get("cache", {}).get("shared", {}).get("state") == "up",
            STORE_TIMEOUT,
            since=seen,
        )
        assert EXPLANATION in await hover_text(client, uri, "double(2)")
        await wait_for_shared(redis, 1)  # written to the restarted store again
        assert (await status(client))["cache"]["shared"]["warnings"] == 1


POISONS = {
    "wrong schema": {"task": "explain", "result": {"text": "not an explain result"}},
    "huge": {"task": "explain", "result": {"markdown": "x" * 400_000}},
    "placeholder": {"task": "explain", "result": {"markdown": "key is «redacted:api-key» here"}},
}


@pytest.mark.parametrize("poison", list(POISONS))
async def test_a_poisoned_entry_is_ignored(
    poison: str,
    model_env: dict[str, str],
    workspace: Path,
    tmp_path: Path,
    redis: RedisServer,
    fake,
) -> None:
    env = {**team_env(model_env, redis, tmp_path / "one"), "LSPILOT_DIAGNOSTICS__ENABLED": "false"}
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "calc.py", SOURCE)
        assert EXPLANATION in await hover_text(client, uri, "add(1, 2)")
    (key,) = await wait_for_shared(redis, 1)
    asked = len(fake.chat_requests())
    redis.client().set(key, json.dumps(POISONS[poison]).encode("utf-8"))

    env["LSPILOT_CACHE__DIR"] = str(tmp_path / "two")
    async with lsp_session(env=env, workspace=workspace) as client:
        uri = client.open_doc(workspace / "calc.py", SOURCE)
        text = await hover_text(client, uri, "add(1, 2)")
        assert EXPLANATION in text and "redacted" not in text and "xxxx" not in text
        assert len(fake.chat_requests()) > asked  # the poisoned entry cost a model request
        shared = (await status(client))["cache"]["shared"]
        assert shared["dropped"] >= 1, shared
        assert (await status(client))["cache"]["levels"]["shared"] == 0


async def test_check_fills_the_team_cache_for_the_editor(
    model_env: dict[str, str], workspace: Path, tmp_path: Path, redis: RedisServer, fake
) -> None:
    (workspace / "calc.py").write_text(SOURCE, encoding="utf-8")
    ci = team_env(model_env, redis, tmp_path / "cache-ci")
    done = await asyncio.to_thread(run_lspilot, ci, workspace, "check", ".")
    assert done.returncode == 1, done.stderr  # the error-level issue in `add`
    assert ADD_ISSUE["message"] in done.stdout
    reviews = len(fake.chat_requests())
    assert reviews >= CHUNKS
    # `check` waits for its writes before it exits: the store has them all already.
    assert len(shared_keys(redis)) == CHUNKS

    editor = team_env(model_env, redis, tmp_path / "cache-editor")
    async with lsp_session(env=editor, workspace=workspace) as client:
        uri = client.open_doc(workspace / "calc.py", SOURCE)
        await add_diagnostic(client, uri)
        await wait_for_hits(client, "shared", CHUNKS)
        assert len(fake.chat_requests()) == reviews  # no review request from the editor

    # The command line: hits per level (kept across sessions), the namespace's size, doctor,
    # and clearing the namespace only.
    stats = json.loads(run_lspilot(editor, workspace, "cache", "stats", "--json").stdout)
    assert stats["levels"]["shared"] >= CHUNKS, stats
    assert stats["shared"]["state"] == "up" and stats["shared"]["entries"] == CHUNKS
    doctor = run_lspilot(editor, workspace, "doctor", "--no-probe").stdout
    assert f"team cache {redis.url} namespace {NAMESPACE}: {CHUNKS} entries" in doctor
    other_team = b"lspilot:team-b:" + b"0" * 64
    redis.client().set(other_team, b"{}")
    cleared = run_lspilot(editor, workspace, "cache", "clear", "--shared")
    assert cleared.stdout.strip() == f"removed {CHUNKS} shared answers from namespace {NAMESPACE}"
    assert shared_keys(redis) == []
    assert redis.client().exists(other_team) == 1  # another team's namespace is untouched
    assert (tmp_path / "cache-editor" / "results").is_dir()  # the disk cache is untouched


async def test_a_rejected_answer_is_taken_back_from_the_team_cache(redis: RedisServer) -> None:
    # What `Assistant.run_validated` does when its validator rejects an answer it shared.
    from lspilot.assistant.shared_cache import SharedCache
    from lspilot.settings import CacheSettings

    settings = CacheSettings(shared_url=redis.url, shared_namespace=NAMESPACE)
    shared = SharedCache(settings)
    value = {"task": "explain", "result": {"markdown": "An answer."}}
    shared.set("kept", value)
    shared.set("rejected", value)
    await wait_for_shared(redis, 2)
    shared.forget("rejected")  # after its write landed
    shared.set("rejected-at-once", value)
    shared.forget("rejected-at-once")  # before its write could start
    await shared.aclose()  # waits for the delete
    assert [k.decode() for k in shared_keys(redis)] == [f"lspilot:{NAMESPACE}:kept"]
