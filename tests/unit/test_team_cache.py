"""The team cache's rules on their own: what may be shared, what is read back, URLs, L1's cap,
and `cache.sharedUrl` being a user-level setting. (The real Redis is in tests/e2e.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lspilot.assistant.cache import ResultCache, cache_secrets
from lspilot.assistant.memory_cache import MemoryCache, entry_size
from lspilot.assistant.shared_cache import (
    MAX_ENTRY_BYTES,
    SharedCache,
    decode_entry,
    entry_problem,
    shown_url,
    url_problem,
)
from lspilot.redaction import placeholder
from lspilot.settings import CacheSettings, Settings, load_settings

GOOD = {"task": "explain", "result": {"markdown": "Adds two numbers."}}


def test_a_plain_result_may_be_shared_and_read_back() -> None:
    assert entry_problem(GOOD) is None
    assert decode_entry(json.dumps(GOOD).encode()) == (GOOD, "")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ({"task": "explain", "result": {"markdown": f"uses {placeholder('api-key')}"}}, "place"),
        ({"task": "explain", "result": {"markdown": "x" * (MAX_ENTRY_BYTES + 1)}}, "larger"),
        ({"task": "explain", "result": {"text": "no markdown"}}, "schema"),
        ({"task": "nonsense", "result": {"markdown": "m"}}, "schema"),
        ({"task": "explain"}, "schema"),
        # An AWS-style key id, built at run time (no key-shaped text in the source).
        ({"task": "explain", "result": {"markdown": "key " + "AKIA" + "Q" * 16}}, "secret"),
    ],
)
def test_entries_that_are_never_shared_nor_accepted(value: dict, why: str) -> None:
    problem = entry_problem(value)
    assert problem is not None and why in problem
    assert decode_entry(json.dumps(value).encode()) == (None, problem)


def test_the_users_key_is_never_shared() -> None:
    key = "sk-test-" + "q" * 24  # built at run time: no key in the source
    value = {"task": "explain", "result": {"markdown": f"the key is {key[3:]}"}}
    assert entry_problem(value, (key[3:],)) == "it holds the API key"
    settings = Settings.model_validate({"apiKey": key})
    assert cache_secrets(settings) == (key,)


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"not json", b"[1, 2]"])
def test_unreadable_entries_are_dropped(raw: bytes) -> None:
    value, why = decode_entry(raw)
    assert value is None and why


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://127.0.0.1:6379/0", None),
        ("rediss://cache.example.com:6380", None),
        ("unix:///run/redis/redis.sock", None),
        ("http://127.0.0.1:6379", "must start with"),
        ("redis://user:pw@127.0.0.1:6379", "LSPILOT_REDIS_PASSWORD"),
        ("redis://:pw@127.0.0.1:6379", "must not hold"),
        ("redis://127.0.0.1:99999", "not a valid URL"),
    ],
)
def test_shared_urls(url: str, problem: str | None) -> None:
    found = url_problem(url)
    assert (found is None) if problem is None else (found is not None and problem in found)
    state = SharedCache(CacheSettings(shared_url=url)).stats()
    assert state["state"] == ("idle" if problem is None else "off")
    assert "pw" not in json.dumps(state)


def test_shown_url_has_no_credentials() -> None:
    assert shown_url("rediss://u:secretpw@host:6380/2?x=1") == "rediss://host:6380/2"


def test_without_a_url_the_team_cache_is_off_and_says_why() -> None:
    shared = SharedCache(CacheSettings())
    assert not shared.configured
    assert shared.stats()["reason"] == "cache.sharedUrl is not set"
    off = SharedCache(CacheSettings(enabled=False, shared_url="redis://127.0.0.1:1"))
    assert not off.configured and "cache.enabled" in off.reason


def test_memory_level_is_bounded_by_size() -> None:
    one = {"task": "explain", "result": {"markdown": "m" * 100}}
    memory = MemoryCache(entry_size(one) * 3)
    for index in range(5):
        memory.set(f"k{index}", one)
    assert len(memory) == 3 and memory.size_bytes <= memory.max_bytes
    assert memory.get("k0") is None and memory.get("k4") == one
    memory.set("k2", one)  # recently used: survives the next eviction
    memory.set("k5", one)
    assert memory.get("k2") == one and memory.get("k3") is None
    assert MemoryCache(0).get("x") is None


async def test_a_disk_hit_fills_memory_and_hits_are_counted_per_level(tmp_path: Path) -> None:
    from lspilot.assistant.tasks import ExplainResult

    writer = ResultCache(CacheSettings(dir=str(tmp_path)))
    await writer.set("k", ExplainResult(markdown="from disk"))
    await writer.aclose()
    reader = ResultCache(CacheSettings(dir=str(tmp_path)))
    assert (await reader.lookup("k"))[1] == "disk"
    assert (await reader.lookup("k"))[1] == "memory"
    assert await reader.lookup("missing") == (None, "")
    stats = reader.stats()
    assert stats["levels"] == {"memory": 1, "disk": 1, "shared": 0} and stats["misses"] == 1
    await reader.aclose()
    # Kept across sessions for `lspilot cache stats`, reset by a clear.
    again = ResultCache(CacheSettings(dir=str(tmp_path)))
    assert again.saved_hits() == {"memory": 1, "disk": 1, "shared": 0}
    again.clear()
    assert again.saved_hits() == {"memory": 0, "disk": 0, "shared": 0}
    again.close()


@pytest.mark.parametrize("file", ["pyproject.toml", ".lspilot.toml"])
def test_shared_url_from_a_workspace_file_is_ignored(tmp_path: Path, file: str) -> None:
    table = "[tool.lspilot.cache]" if file == "pyproject.toml" else "[cache]"
    (tmp_path / file).write_text(
        f'{table}\nsharedUrl = "redis://attacker.example:6379"\nsharedNamespace = "team"\n',
        encoding="utf-8",
    )
    loaded = load_settings(tmp_path, environ={})
    assert loaded.settings.cache.shared_url is None
    # The namespace counts from a workspace file only once the user trusts it.
    assert loaded.settings.cache.shared_namespace != "team"
    assert any(p.untrusted and "cache.sharedNamespace" in p.message for p in loaded.problems)
    assert loaded.sources["cache.sharedUrl"] == "default"
    (problem,) = [p for p in loaded.problems if p.key == "cache.sharedUrl"]
    assert problem.source == file and "user-level settings only" in problem.message
    # The environment (user-level) is honoured, and wins without a complaint.
    env = load_settings(tmp_path, environ={"LSPILOT_CACHE__SHARED_URL": "redis://127.0.0.1:1"})
    assert env.settings.cache.shared_url == "redis://127.0.0.1:1"
    assert not [p for p in env.problems if p.key == "cache.sharedUrl"]


def test_shared_url_from_the_editor_is_honoured(tmp_path: Path) -> None:
    loaded = load_settings(
        tmp_path, environ={}, client_config={"cache": {"sharedUrl": "redis://127.0.0.1:1"}}
    )
    assert loaded.settings.cache.shared_url == "redis://127.0.0.1:1"


def test_namespace_is_validated() -> None:
    with pytest.raises(ValueError):
        CacheSettings(shared_namespace="a b")
