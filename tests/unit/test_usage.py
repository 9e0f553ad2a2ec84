"""The usage log: lines, rotation, prices, totals and the `--since` periods."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lspilot.assistant import usage
from lspilot.assistant.usage import UsageEntry, UsageLog, price_of, read_entries, summarize
from lspilot.cli.usage import since_of


def entry(**fields: object) -> UsageEntry:
    base: dict[str, object] = {"ts": usage.now_ts(), "task": "explain", "engine": "openai"}
    return UsageEntry(**{"model": "gpt-4o-mini", **base, **fields})


def test_lines_are_written_read_back_and_totalled(tmp_path: Path) -> None:
    log = UsageLog(tmp_path)
    log.record(entry(prompt_tokens=1_000_000, completion_tokens=1_000_000))
    log.record(entry(cached=True))
    log.record(entry(task="review", model="my-model", prompt_tokens=10, outcome="RateLimitError"))
    (tmp_path / "usage.jsonl").open("a").write("not json\n")
    entries = read_entries(tmp_path)
    assert len(entries) == 3
    summary = summarize(entries, {"my-model": (1.0, 2.0)})
    assert (summary["requests"], summary["cached"], summary["failed"]) == (3, 1, 1)
    assert summary["cost_usd"] == pytest.approx(0.15 + 0.60 + 10 / 1_000_000)
    assert summary["by_task"]["review"]["tokens"] == 10
    assert summary["by_model"]["gpt-4o-mini"]["cache_hit_rate"] == 0.5
    assert log.today["requests"] == 3 and log.today["cached"] == 1


def test_the_log_rotates_and_keeps_a_few_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(usage, "ROTATE_BYTES", 600)
    log = UsageLog(tmp_path)
    for _ in range(100):
        log.record(entry())
    files = usage.log_files(tmp_path)
    assert len(files) == usage.KEEP + 1
    assert all(p.stat().st_size <= 600 for p in files)
    assert 0 < len(read_entries(tmp_path)) < 100


def test_prices_exact_prefix_free_and_unknown() -> None:
    assert price_of("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert price_of("gpt-4o-2024-08-06") == (2.50, 10.00)
    assert price_of("qwen2.5-coder:7b", "ollama") == (0.0, 0.0)
    assert price_of("mystery") is None
    assert price_of("mystery", overrides={"mystery": (1.0, 1.0)}) == (1.0, 1.0)


def test_since_periods() -> None:
    now = dt.datetime(2026, 1, 8, tzinfo=dt.UTC)
    assert since_of("7d", now) == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert since_of("12h", now) == dt.datetime(2026, 1, 7, 12, tzinfo=dt.UTC)
    assert since_of("1w", now) == since_of("7d", now)
    assert since_of("all", now) is None
    with pytest.raises(ValueError, match="--since"):
        since_of("yesterday", now)


def test_old_entries_are_left_out_of_a_period(tmp_path: Path) -> None:
    log = UsageLog(tmp_path)
    log.record(entry(ts="2020-01-01T00:00:00+00:00"))
    log.record(entry())
    assert len(read_entries(tmp_path, since_of("7d"))) == 1


def test_todays_totals_start_from_what_every_process_logged_today(tmp_path: Path) -> None:
    earlier = UsageLog(tmp_path)
    # A moment before the next log starts (timestamps have millisecond resolution).
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(milliseconds=5)
    earlier.record(entry(ts=moment.isoformat(timespec="milliseconds"), prompt_tokens=5))
    earlier.record(entry(ts="2020-01-01T00:00:00+00:00", prompt_tokens=7))  # not today
    later = UsageLog(tmp_path)
    later.seed()
    later.record(entry(prompt_tokens=1))  # after the seed: counted once
    assert later.today["requests"] == 2 and later.today["prompt_tokens"] == 6
