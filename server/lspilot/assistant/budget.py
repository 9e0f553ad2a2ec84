"""Token budgets shared by every lspilot process of the user (editors, restarts, `check`).

Before a request goes out, its most likely cost is *reserved* in a store on disk (diskcache:
SQLite under the cache folder, updated in transactions, so two processes never both take the
last tokens); when it ends, the reservation is *settled* with what it really used. Concurrent
requests therefore cannot overshoot the daily budget as long as an answer stays within its
reservation (the reservation counts the prompt generously and the whole output allowance).

A process that dies holding reservations does not block the others for long: reservations
older than `STALE_S` are dropped. When the store cannot be opened the budget is kept in this
process only, with one warning.

Methods touch the disk: call them from a worker thread, not the event loop. The store itself
is only touched from one thread of its own (`DiskThread`), so it has one SQLite connection,
which `close` closes: the write-ahead log is folded into the database, not left behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lspilot.assistant.disk_thread import DiskThread
from lspilot.assistant.errors import BudgetExceededError

log = logging.getLogger(__name__)

STALE_S = 15 * 60
# Characters per token when estimating a prompt: code runs at 3.5-4 with common tokenizers,
# so 3 errs on the side of reserving too much.
CHARS_PER_TOKEN = 3
# The instructions every prompt adds around the user's code (system prompt, headings).
PROMPT_OVERHEAD_TOKENS = 350
# The least output worth asking for when a limit leaves less than `maxOutputTokens`: below
# this an answer is cut short before it says anything, so the request is refused instead.
MIN_OUTPUT_TOKENS = 64


def estimate_tokens(chars: int) -> int:
    """A generous token count for a prompt of `chars` characters of input."""
    return -(-chars // CHARS_PER_TOKEN) + PROMPT_OVERHEAD_TOKENS


@dataclass(frozen=True)
class Reservation:
    """Tokens held for one request until it is settled."""

    id: str
    day: str
    tokens: int
    #: The most output the request may ask the model for (its `max_tokens`): what fits
    #: within the per-request limit and what is left of the day, next to the prompt.
    output_tokens: int = 0


def _today() -> dt.date:
    return dt.date.today()


class SharedTokenBudget:
    """`daily` tokens (in + out) per local day for all processes; 0 means no daily budget.

    `per_request` (0: none) caps one request, prompt (estimated) and output together: the
    output allowance of a reservation shrinks to fit it, and a request whose prompt leaves
    less than `MIN_OUTPUT_TOKENS` of output under it is refused. The daily budget shrinks
    the allowance the same way when less than the whole of it is left.
    """

    def __init__(
        self,
        daily: int,
        directory: Path | None,
        *,
        per_request: int = 0,
        today: Callable[[], dt.date] = _today,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.daily = daily
        self.per_request = per_request
        self._dir = directory
        self._today = today
        self._clock = clock
        self._lock = threading.Lock()
        self._store: Any = None
        self._thread = DiskThread("lspilot-budget")
        self._local: dict[str, Any] = {}
        self._warned = False
        #: Last known tokens used today (all processes), for the status without disk access.
        self.known_used = 0
        self._exhausted_on: dt.date | None = None

    @property
    def exhausted(self) -> bool:
        """Whether a request was refused today for want of budget (resets the next day)."""
        return self._exhausted_on is not None and self._exhausted_on == self._today()

    # ---- the store ----------------------------------------------------------------------

    def _open(self) -> Any:
        if self._store is not None or self._dir is None:
            return self._store
        try:
            import diskcache

            path = self._dir / "budget"
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._store = diskcache.Cache(str(path), timeout=30)
        except Exception as error:
            self._dir = None
            if not self._warned:
                self._warned = True
                log.warning("token budget kept in this process only: %s", error)
        return self._store

    def _update(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        """Apply `change` to today's record atomically across processes; return its result."""
        if self._dir is None and self._store is None:
            return self._update_here(change)  # no store: no thread hop
        return self._thread.call(self._update_here, change)

    def _update_here(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        day = self._today().isoformat()
        with self._lock:
            store = self._open()
            if store is None:
                record = self._local.setdefault(day, {"used": 0, "held": {}})
                return self._apply(record, change)
            with store.transact():
                record = store.get(f"day:{day}") or {"used": 0, "held": {}}
                result = self._apply(record, change)
                store.set(f"day:{day}", record, expire=3 * 86_400)
                return result

    def _apply(self, record: dict[str, Any], change: Callable[[dict[str, Any]], Any]) -> Any:
        now = self._clock()
        record["held"] = {
            rid: (tokens, at) for rid, (tokens, at) in record["held"].items() if now - at < STALE_S
        }
        result = change(record)
        self.known_used = record["used"]
        return result

    @staticmethod
    def _held(record: dict[str, Any]) -> int:
        return sum(tokens for tokens, _ in record["held"].values())

    # ---- the API ------------------------------------------------------------------------

    def reserve(self, prompt_tokens: int, max_output_tokens: int) -> Reservation:
        """Hold the tokens one request may use; raise `BudgetExceededError` when they do not fit.

        The reservation's `output_tokens` is the request's output allowance: at most
        `max_output_tokens`, less when a limit leaves less, never under the useful minimum.
        """
        least = min(max_output_tokens, MIN_OUTPUT_TOKENS)
        output = max_output_tokens
        if self.per_request:
            room = self.per_request - prompt_tokens
            if room < least:
                raise BudgetExceededError(
                    f"request of about {prompt_tokens} tokens is over the per-request limit",
                    user_message=(
                        f"this request would use about {prompt_tokens} tokens before any "
                        f"answer, too many for limits.maxTokensPerRequest ({self.per_request}); "
                        "select less code"
                    ),
                )
            output = min(output, room)
        rid = uuid.uuid4().hex
        day = self._today().isoformat()
        if not self.daily:
            return Reservation(rid, day, 0, output)

        def take(record: dict[str, Any]) -> int | None:
            # `exhausted` is set here, in the order the reservations were decided: set after
            # `_update` returned, a request let through could clear it after a later one was
            # refused (reservations run in several threads; seen under load).
            left = self.daily - record["used"] - self._held(record) - prompt_tokens
            allowed = min(output, left)
            if allowed < least or allowed < 0:
                self._exhausted_on = self._today()
                return None
            record["held"][rid] = (prompt_tokens + allowed, self._clock())
            self._exhausted_on = None
            return allowed

        allowed = self._update(take)
        if allowed is None:
            raise BudgetExceededError(
                f"daily token budget of {self.daily} reached",
                user_message=self.exhausted_message(),
            )
        return Reservation(rid, day, prompt_tokens + allowed, allowed)

    def settle(self, reservation: Reservation, used: int) -> None:
        """Release `reservation` and count the `used` tokens against the day."""
        used = max(used, 0)

        def done(record: dict[str, Any]) -> None:
            record["held"].pop(reservation.id, None)
            record["used"] += used

        if self.daily or used:
            self._update(done)

    def exhausted_message(self) -> str:
        """What the user is told while the budget is used up."""
        return (
            f"the daily token budget ({self.daily} tokens, limits.dailyTokenBudget) is used up; "
            "model features pause until tomorrow or until the setting changes"
        )

    def used_today(self) -> int:
        """Tokens used today by every process (reads the store)."""
        return int(self._update(lambda record: record["used"]))

    def close(self) -> None:
        """Close the store (its connection, on its thread; then the thread ends)."""
        self._thread.shutdown(self._close_store)

    def _close_store(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
