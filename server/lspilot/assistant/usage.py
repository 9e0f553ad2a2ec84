"""The local record of model requests: one JSON line per request, under the cache folder.

Each line says when, which task, engine and model, how many tokens (and who counted them:
the server, the model's tokenizer, or our estimate: `token_source`), how long it took,
whether the cache answered and how it ended. Never code, prompts, answers or secrets: the
record is safe to share in a bug report.
Files rotate at `ROTATE_BYTES` (``usage.jsonl`` → ``usage.jsonl.1`` ... ``.KEEP``). Appends are
single ``write`` calls on a file opened for appending, so several processes share one log.

`lspilot usage` reads it back (`read_entries`, `summarize`); prices per model (`price_of`)
turn tokens into an approximate cost.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

LOG_NAME = "usage.jsonl"
ROTATE_BYTES = 5 * 1024 * 1024
KEEP = 5

#: USD per million tokens (input, output) for common hosted models; `usage.prices` overrides
#: and extends it. Local engines (offline, Ollama) cost nothing. Prices change: these are a
#: starting point for an estimate, not a bill.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "deepseek-chat": (0.27, 1.10),
}
FREE_ENGINES = ("offline", "ollama")


@dataclass(frozen=True)
class UsageEntry:
    """One model request as recorded (no code, no prompt, no secret)."""

    ts: str  # ISO 8601, UTC
    task: str
    engine: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    counted: bool = True  # False: the endpoint sent no usage and the numbers are estimates
    #: "reported" (by the server), "tokenizer" (the model's, the server sent no usage) or
    #: "estimated"; "" on cache hits (no tokens). Older lines have only `counted`.
    token_source: str = "reported"
    latency_ms: int = 0
    cached: bool = False
    outcome: str = "ok"  # "ok", "cancelled", or the error's class name
    pid: int = field(default_factory=os.getpid)

    @property
    def tokens(self) -> int:
        """Input plus output tokens."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def day(self) -> dt.date:
        """The local day of the request."""
        return parse_ts(self.ts).astimezone().date()


def now_ts() -> str:
    """The current time as the log writes it."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def parse_ts(ts: str) -> dt.datetime:
    """A timestamp of the log as an aware datetime."""
    value = dt.datetime.fromisoformat(ts)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def price_of(
    model: str, engine: str = "", overrides: Mapping[str, tuple[float, float]] | None = None
) -> tuple[float, float] | None:
    """USD per million tokens (input, output) for `model`, or None when unknown.

    An exact name wins; else the longest known name the model starts with
    (``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``).
    """
    if engine in FREE_ENGINES:
        return (0.0, 0.0)
    table = {**DEFAULT_PRICES, **(overrides or {})}
    if model in table:
        return table[model]
    prefixes = [name for name in table if model.startswith(name)]
    return table[max(prefixes, key=len)] if prefixes else None


def cost_of(entry: UsageEntry, overrides: Mapping[str, tuple[float, float]] | None) -> float | None:
    """The entry's cost in USD, or None when its model has no known price."""
    price = price_of(entry.model, entry.engine, overrides)
    if price is None:
        return None
    return (entry.prompt_tokens * price[0] + entry.completion_tokens * price[1]) / 1_000_000


class UsageLog:
    """Appends `UsageEntry` lines under `directory`; keeps today's totals of this process.

    Call `record` from a worker thread (it writes to disk). A log that cannot be written
    degrades to counting in memory with one warning.
    """

    def __init__(self, directory: Path, *, enabled: bool = True) -> None:
        self.directory = directory
        self.path = directory / LOG_NAME
        self.enabled = enabled
        self._lock = threading.Lock()
        self._warned = False
        self._day = dt.date.today()
        self._started = now_ts()
        self.today: dict[str, int] = _empty_totals()

    def seed(self) -> None:
        """Add today's earlier requests (every process, from the log) to today's totals."""
        if not self.enabled:
            return
        midnight = dt.datetime.combine(
            self._day, dt.time(), tzinfo=dt.datetime.now().astimezone().tzinfo
        )
        started = parse_ts(self._started)
        earlier = [e for e in read_entries(self.directory, midnight) if parse_ts(e.ts) < started]
        with self._lock:
            for e in earlier:
                self._add(e)

    def _add(self, entry: UsageEntry) -> None:
        self.today["requests"] += 1
        self.today["cached"] += int(entry.cached)
        self.today["prompt_tokens"] += entry.prompt_tokens
        self.today["completion_tokens"] += entry.completion_tokens

    def record(self, entry: UsageEntry) -> None:
        """Append `entry` (thread-safe) and add it to today's totals."""
        with self._lock:
            today = dt.date.today()
            if today != self._day:
                self._day, self.today = today, _empty_totals()
            self._add(entry)
            if not self.enabled:
                return
            try:
                self._append(json.dumps(asdict(entry), separators=(",", ":")) + "\n")
            except OSError as error:
                if not self._warned:
                    self._warned = True
                    log.warning("cannot write the usage log %s: %s", self.path, error)

    def _append(self, line: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            if self.path.stat().st_size + len(line) > ROTATE_BYTES:
                self._rotate()
        except FileNotFoundError:
            pass
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)

    def _rotate(self) -> None:
        for index in range(KEEP - 1, 0, -1):
            older = self.path.with_name(f"{LOG_NAME}.{index}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{LOG_NAME}.{index + 1}"))
        if self.path.exists():
            os.replace(self.path, self.path.with_name(f"{LOG_NAME}.1"))


def _empty_totals() -> dict[str, int]:
    return {"requests": 0, "cached": 0, "prompt_tokens": 0, "completion_tokens": 0}


def log_files(directory: Path) -> list[Path]:
    """The log and its rotated files, oldest first."""
    rotated = [directory / f"{LOG_NAME}.{i}" for i in range(KEEP, 0, -1)]
    return [p for p in [*rotated, directory / LOG_NAME] if p.exists()]


def read_entries(directory: Path, since: dt.datetime | None = None) -> list[UsageEntry]:
    """Every readable entry under `directory` (newer than `since`); bad lines are skipped."""
    known = set(UsageEntry.__dataclass_fields__)
    entries: list[UsageEntry] = []
    for path in log_files(directory):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                raw = json.loads(line)
                if isinstance(raw, dict) and "token_source" not in raw:
                    raw["token_source"] = "reported" if raw.get("counted", True) else "estimated"
                entry = UsageEntry(**{k: v for k, v in raw.items() if k in known})
                when = parse_ts(entry.ts)
            except (ValueError, TypeError):
                continue
            if since is None or when >= since:
                entries.append(entry)
    return entries


def summarize(
    entries: Iterable[UsageEntry], prices: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, Any]:
    """Totals overall, per task and per model, the cache hit rate and the cost."""
    total = _Totals()
    by_task: dict[str, _Totals] = {}
    by_model: dict[str, _Totals] = {}
    for entry in entries:
        cost = cost_of(entry, prices)
        for totals in (
            total,
            by_task.setdefault(entry.task, _Totals()),
            by_model.setdefault(entry.model or entry.engine, _Totals()),
        ):
            totals.add(entry, cost)
    return {
        **total.as_dict(),
        "by_task": {name: t.as_dict() for name, t in sorted(by_task.items())},
        "by_model": {name: t.as_dict() for name, t in sorted(by_model.items())},
    }


@dataclass
class _Totals:
    requests: int = 0
    cached: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: int = 0
    tokenizer: int = 0
    reported: int = 0
    cost: float = 0.0
    unpriced: int = 0

    def add(self, entry: UsageEntry, cost: float | None) -> None:
        self.requests += 1
        self.cached += int(entry.cached)
        self.failed += int(entry.outcome != "ok")
        self.prompt_tokens += entry.prompt_tokens
        self.completion_tokens += entry.completion_tokens
        self.estimated += int(not entry.counted)
        self.tokenizer += int(entry.token_source == "tokenizer")
        self.reported += int(entry.token_source == "reported" and entry.tokens > 0)
        if cost is None:
            self.unpriced += int(entry.tokens > 0)
        else:
            self.cost += cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "cached": self.cached,
            "failed": self.failed,
            "cache_hit_rate": round(self.cached / self.requests, 3) if self.requests else 0.0,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "tokens": self.prompt_tokens + self.completion_tokens,
            "estimated": self.estimated,
            "tokenizer": self.tokenizer,
            "reported": self.reported,
            "cost_usd": round(self.cost, 6),
            "unpriced": self.unpriced,
        }
