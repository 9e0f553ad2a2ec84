"""The result cache: keys, disk round trips, sharing, and degrading to memory."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest

from lspilot.assistant.cache import ResultCache
from lspilot.assistant.tasks import (
    ExplainInput,
    ExplainResult,
    ResultMeta,
    ReviewInput,
    ReviewIssue,
    ReviewResult,
    Usage,
)
from lspilot.settings import CacheSettings

CODE = "def add(a, b):\n    return a + b\n"
PARAMS = {"temperature": 0.2, "max_tokens": 1024}


def key(request: object = None, **overrides: object) -> str:
    args: dict[str, object] = {
        "engine_id": "openai",
        "model": "m1",
        "task": "explain",
        "prompt_version": "1",
        "request": request or ExplainInput(code=CODE),
        "params": PARAMS,
    }
    args.update(overrides)
    return ResultCache.key(**args)  # type: ignore[arg-type]


def result(text: str = "Adds two numbers.") -> ExplainResult:
    meta = ResultMeta(
        engine="openai", model="m1", usage=Usage(prompt_tokens=10, completion_tokens=5)
    )
    return ExplainResult(markdown=text, meta=meta)


# ---- keys ----


def test_key_is_stable_and_ignores_invisible_whitespace() -> None:
    assert key() == key()
    assert len(key()) == 64
    crlf = ExplainInput(code="def add(a, b):   \r\n    return a + b\t\r\n")
    assert key(crlf) == key()


@pytest.mark.parametrize(
    "change",
    [
        {"engine_id": "ollama"},
        {"model": "m2"},
        {"task": "review"},
        {"prompt_version": "2"},
        {"request": ExplainInput(code=CODE.replace("+", "-"))},
        {"request": ExplainInput(code=CODE, feedback="too long")},
        {"request": ExplainInput(code=CODE, language="javascript")},
        {"params": {**PARAMS, "temperature": 0.7}},
        {"params": {**PARAMS, "style": "numpy"}},
    ],
)
def test_key_changes_with_everything_that_changes_the_answer(change: dict[str, object]) -> None:
    assert key(**change) != key()


def test_the_key_is_the_hash_of_the_documented_canonical_json() -> None:
    # Kept byte for byte across lspilot versions: entries cached before stay found.
    import hashlib
    import json

    request = ExplainInput(code="def f():  \r\n    return 'é'\n", context="ctx\t\n")
    payload = {
        "format": 1,
        "engine": "openai",
        "endpoint": "http://host/v1",
        "model": "m1",
        "task": "explain",
        "prompt": "1",
        "input": {
            **request.model_dump(mode="json"),
            "code": "def f():\n    return 'é'\n",
            "context": "ctx\n",
        },
        "params": PARAMS,
    }
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert key(request, endpoint="http://host/v1") == expected


def test_normalizing_strips_what_rstrip_strips_on_every_line() -> None:
    from lspilot.assistant.cache import _normalize

    text = "a \u3000\r\nb\x0b\rc\u2028\n\td\xa0 \n \n"
    assert _normalize(text) == "a\nb\nc\n\td\n\n"
    assert _normalize({"k": [text, 1]}) == {"k": ["a\nb\nc\n\td\n\n", 1]}


def test_indentation_is_part_of_the_key() -> None:
    # Leading whitespace is meaningful in Python; only trailing whitespace is normalized.
    assert key(ExplainInput(code="  x = 1")) != key(ExplainInput(code="x = 1"))


# ---- disk ----


async def test_round_trip_on_disk_in_a_private_directory(tmp_path: Path) -> None:
    cache = ResultCache(CacheSettings(dir=str(tmp_path / "c")))
    assert await cache.get(key()) is None
    await cache.set(key(), result())
    assert await cache.get(key()) == result()
    stats = cache.stats()
    assert stats["mode"] == "disk"
    assert stats["entries"] == 1
    assert stats["size_bytes"] > 0
    assert stats["directory"] == str(tmp_path / "c")
    mode = stat.S_IMODE((tmp_path / "c" / "results").stat().st_mode)
    assert mode == 0o700
    await cache.aclose()


async def test_closing_leaves_no_write_ahead_log(tmp_path: Path) -> None:
    # One SQLite connection, on the cache's own thread, closed there: SQLite folds its WAL
    # into the database and removes it (connections left open per thread kept 4 MiB each).
    cache = ResultCache(CacheSettings(dir=str(tmp_path)))
    for index in range(50):
        await cache.set(key(model=f"m{index}"), result())
        await cache.get(key(model=f"m{index}"))
    assert (tmp_path / "results" / "cache.db-wal").exists()
    await cache.aclose()
    assert not (tmp_path / "results" / "cache.db-wal").exists()
    again = ResultCache(CacheSettings(dir=str(tmp_path)))
    assert await again.get(key(model="m7")) == result()  # reopens and reads from disk
    assert again.clear() == 50
    again.close()
    assert not (tmp_path / "results" / "cache.db-wal").exists()


async def test_memory_hits_are_each_the_callers_own(tmp_path: Path) -> None:
    cache = ResultCache(CacheSettings(dir=str(tmp_path)))
    stored = result()
    await cache.set(key(), stored)
    stored.markdown = "changed by the caller"
    first, level = await cache.lookup(key())
    assert level == "memory"
    assert isinstance(first, ExplainResult) and first.markdown == "Adds two numbers."
    first.markdown = "changed by the first caller"
    second, level = await cache.lookup(key())
    assert level == "memory" and second is not first
    assert isinstance(second, ExplainResult) and second.markdown == "Adds two numbers."
    cache.memory.clear()
    from_disk, level = await cache.lookup(key())
    assert level == "disk" and from_disk == second
    assert (await cache.lookup(key()))[1] == "memory"  # kept on its way in from the disk
    await cache.aclose()


async def test_review_results_keep_their_issues(tmp_path: Path) -> None:
    cache = ResultCache(CacheSettings(dir=str(tmp_path)))
    review = ReviewResult(issues=[ReviewIssue(quote="a + b", message="m", fix="a - b")])
    k = key(ReviewInput(code=CODE), task="review")
    await cache.set(k, review)
    assert await cache.get(k) == review
    await cache.aclose()


async def test_memory_counts_what_it_keeps(tmp_path: Path) -> None:
    """L1 keeps a result's JSON text, and its cap counts exactly that text: 2,500 review
    results with no issues take ~0.5 MiB of it (as objects they took ~3 MiB)."""
    cache = ResultCache(CacheSettings(dir=str(tmp_path)))
    issue = ReviewIssue(quote="a + b", message="m", fix="a - b")
    review = ReviewResult(issues=[issue])
    k = key(ReviewInput(code=CODE), task="review")
    await cache.set(k, review)
    review.issues.append(ReviewIssue(quote="b", message="added by the caller"))
    kept, level = await cache.lookup(k)
    assert level == "memory" and kept == ReviewResult(issues=[issue])
    assert cache.memory.size_bytes == len(ReviewResult(issues=[issue]).model_dump_json())
    for n in range(2500):
        await cache.set(key(ReviewInput(code=f"x = {n}\n"), task="review"), ReviewResult())
    assert cache.memory.size_bytes < 2500 * 250
    await cache.aclose()


async def test_two_caches_on_one_directory_share_entries(tmp_path: Path) -> None:
    # Two servers (two editors) on one cache directory. Without L1 (memoryLimitMb = 0): each
    # process keeps what it read in memory, so an overwrite by the other is seen from disk only.
    first = ResultCache(CacheSettings(dir=str(tmp_path), memory_limit_mb=0))
    second = ResultCache(CacheSettings(dir=str(tmp_path), memory_limit_mb=0))
    await first.set(key(), result("from the first"))
    assert await second.get(key()) == result("from the first")
    await second.set(key(), result("from the second"))
    assert await first.get(key()) == result("from the second")
    await first.aclose()
    await second.aclose()


async def test_values_are_json_data_with_their_task(tmp_path: Path) -> None:
    cache = ResultCache(CacheSettings(dir=str(tmp_path)))
    await cache.set(key(), result())
    import diskcache

    with diskcache.Cache(str(tmp_path / "results")) as raw:
        stored = raw.get(key())
    assert stored == {"task": "explain", "result": result().model_dump(mode="json")}
    await cache.aclose()


async def test_clear_removes_everything(tmp_path: Path) -> None:
    cache = ResultCache(CacheSettings(dir=str(tmp_path)))
    await cache.set(key(), result())
    await cache.set(key(model="m2"), result())
    assert cache.clear() == 2
    assert await cache.get(key()) is None
    assert cache.stats()["entries"] == 0
    await cache.aclose()


async def test_disabled_cache_stores_nothing(tmp_path: Path) -> None:
    cache = ResultCache(CacheSettings(dir=str(tmp_path), enabled=False))
    await cache.set(key(), result())
    assert await cache.get(key()) is None
    assert cache.stats()["mode"] == "off"
    assert not (tmp_path / "results").exists()


# ---- degrading ----


def warnings_from_cache(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.name == "lspilot.assistant.cache" and r.levelno == logging.WARNING
    ]


async def test_unusable_directory_falls_back_to_memory_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    cache = ResultCache(CacheSettings(dir=str(blocker)))
    with caplog.at_level(logging.WARNING):
        assert await cache.get(key()) is None
        await cache.set(key(), result())
        await cache.set(key(model="m2"), result("two"))
        assert await cache.get(key()) == result()
        assert await cache.get(key(model="m2")) == result("two")
    assert cache.stats()["mode"] == "memory"
    assert cache.stats()["entries"] == 2
    assert len(warnings_from_cache(caplog)) == 1


async def test_corrupt_database_falls_back_to_memory_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "cache.db").write_bytes(b"this is not an sqlite database" * 100)
    cache = ResultCache(CacheSettings(dir=str(tmp_path)))
    with caplog.at_level(logging.WARNING):
        await cache.set(key(), result())
        assert await cache.get(key()) == result()
        await cache.set(key(), result("again"))
    assert cache.stats()["mode"] == "memory"
    assert len(warnings_from_cache(caplog)) == 1
