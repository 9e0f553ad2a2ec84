"""L3 of the result cache: a team's shared Redis/Valkey (`cache.sharedUrl`), never in the way.

Keys are ``lspilot:<namespace>:<key>`` (the key is the content hash `ResultCache.key` makes:
no input can be read back from it); values are the validated result as compact JSON, kept
`cache.sharedTtlDays`. Only results that hold no redaction placeholder, nothing that looks like
a secret and not the user's key are written; an entry read back is checked the same way, and
against the result's schema and the size cap, and dropped when it does not fit.

Reads wait at most `cache.sharedTimeoutMs`; writes run in the background. On any error or
timeout the level goes "down" with one warning, lspilot carries on with memory and disk, and
it reconnects in the background with a growing pause. redis-py is imported only when a URL is
set; user and password come from LSPILOT_REDIS_USERNAME / LSPILOT_REDIS_PASSWORD only.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from lspilot.assistant.tasks import RESULT_TYPES, Task
from lspilot.redaction import PLACEHOLDER_MARK, redact, strings_in

if TYPE_CHECKING:
    from lspilot.settings import CacheSettings

log = logging.getLogger(__name__)

SCHEMES = ("redis", "rediss", "unix")
USERNAME_ENV = "LSPILOT_REDIS_USERNAME"
PASSWORD_ENV = "LSPILOT_REDIS_PASSWORD"
#: Largest entry written or accepted: an explanation or a review is a few KiB.
MAX_ENTRY_BYTES = 256 * 1024
#: Connecting (and its first PING) and background writes may take longer than a read: at
#: least this, or ten reads' worth (`SharedCache.slow_s`).
SLOW_TIMEOUT_S = 2.0
#: Pause before reconnecting after a failure, doubled on each failure up to the maximum.
FIRST_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
#: Keys per SCAN round for `size` and `clear`.
SCAN_BATCH = 500


def entry_problem(value: dict[str, Any], secrets: tuple[str, ...] = ()) -> str | None:
    """Why `value` ({task, result}) may not go to (or come from) the team cache, or None."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if len(text.encode("utf-8")) > MAX_ENTRY_BYTES:
        return f"larger than {MAX_ENTRY_BYTES // 1024} KiB"
    if PLACEHOLDER_MARK in text:
        return "it holds a redaction placeholder"
    if any(secret and secret in text for secret in secrets):
        return "it holds the API key"
    if any(redact(s) != s for s in strings_in(value.get("result"))):
        return "it holds something that looks like a secret"
    try:
        RESULT_TYPES[Task(value["task"])].model_validate(value["result"])
    except (KeyError, TypeError, ValueError):
        return "it does not fit the result schema"
    return None


def decode_entry(raw: bytes, secrets: tuple[str, ...] = ()) -> tuple[dict[str, Any] | None, str]:
    """A stored entry checked again: (value, "") or (None, why it was dropped)."""
    if len(raw) > MAX_ENTRY_BYTES:
        return None, f"larger than {MAX_ENTRY_BYTES // 1024} KiB"
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "not JSON"
    if not isinstance(value, dict):
        return None, "not a result entry"
    problem = entry_problem(value, secrets)
    return (None, problem) if problem else (value, "")


def shown_url(url: str) -> str:
    """`url` without user, password or query, for status and logs."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def url_problem(url: str) -> str | None:
    """Why `url` cannot be used as the team cache, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as error:
        return f"cache.sharedUrl is not a valid URL ({error})"
    if parts.scheme not in SCHEMES:
        return "cache.sharedUrl must start with redis://, rediss:// or unix://"
    if parts.username or parts.password:
        return (
            f"cache.sharedUrl must not hold a user or password: set {USERNAME_ENV} and"
            f" {PASSWORD_ENV} in the environment instead"
        )
    return None


class SharedCache:
    """The team cache: `get` within a short timeout, `set` in the background, never raising."""

    def __init__(self, settings: CacheSettings, secrets: tuple[str, ...] = ()) -> None:
        self.url = settings.shared_url
        self.namespace = settings.shared_namespace
        self.prefix = f"lspilot:{self.namespace}:"
        self.ttl_s = settings.shared_ttl_days * 86_400
        self.timeout_s = settings.shared_timeout_ms / 1000
        #: Bound of what nobody waits for: connecting, background writes, the command line.
        self.slow_s = max(SLOW_TIMEOUT_S, self.timeout_s * 10)
        self.secrets = secrets
        self.state = "off"
        self.reason = "cache.sharedUrl is not set"
        if not settings.enabled and self.url:
            self.reason = "the cache is off (cache.enabled = false)"
        elif self.url:
            problem = url_problem(self.url)
            self.state, self.reason = ("off", problem) if problem else ("idle", "")
        #: Called when the state changes (the server then sends its status).
        self.on_change: Callable[[], None] | None = None
        self._client: Any = None
        self._connecting: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._writes: dict[str, asyncio.Task[Any]] = {}  # by Redis key, until written
        self._backoff = FIRST_BACKOFF_S
        self.retry_at = 0.0
        self._warned = False
        self._closing = False
        self.counters = dict.fromkeys(("hits", "misses", "writes", "refused", "dropped"), 0)
        self.warnings = 0
        #: The namespace's size as `size()` last found it (the command line fills these).
        self.entries = 0
        self.size_bytes = 0

    # ---- connection ---------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        """A usable URL is set (the store may still be down)."""
        return self.state != "off"

    def _make_client(self) -> Any:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        assert self.url is not None
        return aioredis.Redis.from_url(
            self.url,
            username=os.environ.get(USERNAME_ENV) or None,
            password=os.environ.get(PASSWORD_ENV) or None,
            socket_connect_timeout=self.slow_s,
            socket_timeout=self.slow_s,
            # We time out and reconnect ourselves; redis-py's own retries would hold a read.
            retry=Retry(NoBackoff(), 0),
        )

    def start(self) -> None:
        """Connect in the background (needs a running loop); a no-op when off or started."""
        if self.state == "idle":
            self._set_state("connecting", "")
            self._connecting = self._spawn(self._connect())

    async def _connect(self) -> None:
        client = None
        try:
            client = self._make_client()
            await asyncio.wait_for(client.ping(), self.slow_s)
        except Exception as error:
            if client is not None:
                self._spawn(self._close_client(client))
            self._down(error)
            return
        self._client = client
        self._backoff = FIRST_BACKOFF_S
        if self._warned:
            log.warning("team cache at %s is reachable again", shown_url(self.url or ""))
        self._warned = False
        self._set_state("up", "")

    def _down(self, error: BaseException) -> None:
        """Stop using the store, warn once per outage, reconnect after a pause."""
        if self.state == "down" or self._closing:
            return  # a concurrent failure of the same outage, or connections ending with us
        kind = "timed out" if isinstance(error, TimeoutError) else type(error).__name__
        detail = str(error).splitlines()[0][:160] if str(error) else ""
        reason = f"{kind}: {detail}" if detail else kind
        client, self._client = self._client, None
        if client is not None:
            self._spawn(self._close_client(client))
        if not self._warned:
            self._warned = True
            self.warnings += 1
            log.warning(
                "team cache at %s is unavailable (%s); using the memory and disk caches,"
                " reconnecting in the background",
                shown_url(self.url or ""),
                reason,
            )
        self.retry_at = time.monotonic() + self._backoff
        delay, self._backoff = self._backoff, min(self._backoff * 2, MAX_BACKOFF_S)
        self._set_state("down", reason)
        self._connecting = self._spawn(self._reconnect_after(delay))

    async def _reconnect_after(self, delay: float) -> None:
        await asyncio.sleep(delay)
        self._set_state("connecting", self.reason)
        await self._connect()

    async def _close_client(self, client: Any) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.aclose(), self.slow_s)

    def _set_state(self, state: str, reason: str) -> None:
        changed = state != self.state
        self.state, self.reason = state, reason
        if changed and self.on_change is not None:
            self.on_change()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name="lspilot-shared-cache")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _ready(self, wait: float) -> bool:
        """True when the store can be asked now; waits up to `wait` for the first connection.

        Only the first attempt since start is worth a wait (a reconnect never is): an editor
        waits no longer than a read may take, a write or the command line longer.
        """
        self.start()
        first = self._connecting
        if self.state == "connecting" and first is not None and self.retry_at == 0.0:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(first), wait)
        return self.state == "up" and self._client is not None

    # ---- entries ------------------------------------------------------------------------

    async def get(self, key: str) -> dict[str, Any] | None:
        """The checked entry under `key`, or None (missing, dropped, store down or slow)."""
        if not self.configured or not await self._ready(self.timeout_s):
            return None
        try:
            raw = await asyncio.wait_for(self._client.get(self.prefix + key), self.timeout_s)
        except Exception as error:
            self._down(error)
            return None
        if raw is None:
            self.counters["misses"] += 1
            return None
        value, why = decode_entry(bytes(raw), self.secrets)
        if value is None:
            self.counters["dropped"] += 1
            log.info("team cache entry %s… dropped: %s", key[:12], why)
            return None
        self.counters["hits"] += 1
        return value

    def set(self, key: str, value: dict[str, Any]) -> None:
        """Share `value` in the background, when it may be shared and the store is up."""
        if not self.configured:
            return
        problem = entry_problem(value, self.secrets)
        if problem is not None:
            self.counters["refused"] += 1
            log.debug("result %s… not shared: %s", key[:12], problem)
            return
        self.start()
        if self.state in ("up", "connecting"):
            data = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            name = self.prefix + key
            write = self._writes[name] = self._spawn(self._write(name, data))
            write.add_done_callback(functools.partial(self._written, name))

    def _written(self, name: str, task: asyncio.Task[Any]) -> None:
        if self._writes.get(name) is task:
            del self._writes[name]

    def forget(self, key: str) -> None:
        """Take back what `set` shared under `key` (an answer its validator then rejected)."""
        if not self.configured:
            return
        name = self.prefix + key
        pending = self._writes.pop(name, None)
        if pending is not None and not pending.done():
            pending.cancel()
        if self.state == "up":
            self._spawn(self._delete(name))

    async def _delete(self, name: str) -> None:
        client = self._client
        if client is None:
            return
        try:
            await asyncio.wait_for(client.delete(name), self.slow_s)
        except Exception as error:
            if self._client is client:
                self._down(error)

    async def _write(self, name: str, data: bytes) -> None:
        # `lspilot check` answers its first chunks while the connection is still being made.
        if not await self._ready(self.slow_s):
            return
        client = self._client
        try:
            await asyncio.wait_for(client.set(name, data, ex=self.ttl_s), self.slow_s)
            self.counters["writes"] += 1
        except Exception as error:
            if self._client is client:
                self._down(error)

    # ---- the namespace as a whole (command line) ----------------------------------------

    async def _scan(self, each: Callable[[Any, list[bytes]], Any]) -> None:
        if not await self._ready(self.slow_s):
            raise ConnectionError(self.reason or "the team cache is not reachable")
        cursor: Any = 0
        while True:
            cursor, names = await asyncio.wait_for(
                self._client.scan(cursor, match=self.prefix + "*", count=SCAN_BATCH),
                self.slow_s,
            )
            if names:
                await asyncio.wait_for(each(self._client, list(names)), self.slow_s)
            if int(cursor) == 0:
                return

    async def size(self) -> tuple[int, int]:
        """(entries, bytes of values) in this namespace. Raises ConnectionError when down."""
        totals = [0, 0]

        async def count(client: Any, names: list[bytes]) -> None:
            async with client.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.strlen(name)
                sizes = await pipe.execute()
            totals[0] += len(names)
            totals[1] += sum(int(s) for s in sizes)

        await self._scan(count)
        return totals[0], totals[1]

    async def clear(self) -> int:
        """Remove every entry of this namespace only. Raises ConnectionError when down."""
        removed = [0]

        async def unlink(client: Any, names: list[bytes]) -> None:
            removed[0] += int(await client.unlink(*names))

        await self._scan(unlink)
        return removed[0]

    def stats(self) -> dict[str, Any]:
        """State, why it is not used, where (no user or password) and counters."""
        return {
            "state": self.state,
            "reason": self.reason,
            "url": shown_url(self.url) if self.url and self.state != "off" else "",
            "namespace": self.namespace,
            "ttl_days": self.ttl_s // 86_400,
            "warnings": self.warnings,
            **self.counters,
        }

    async def aclose(self) -> None:
        """Let pending writes finish (bounded), stop reconnecting, close the connection."""
        self._closing = True
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=self.slow_s * 2)
        for task in pending:
            task.cancel()
        client, self._client = self._client, None
        if client is not None:
            await self._close_client(client)
