"""The bot's outgoing queue: bounded, never blocking, within Telegram's flood limits.

Telegram allows about one message a second per chat (short bursts, then 429 with
``retry_after``) and about 30 a second across chats (HISTORY-MEMPOOL-REMOTE.md §3.1). ``put``
is synchronous and returns at once, so the engine's bus consumer never waits on the network; a
full queue drops its oldest non-urgent message and counts it. Approval prompts (and command
replies, halts) are urgent: their TTL is short, so they go before alerts waiting in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from polytui.remote.botapi import BotApi, BotApiError

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL_S = 1.0
GLOBAL_PER_S = 30
MAX_ATTEMPTS = 3
RETRY_BACKOFF_S = 2.0
MAX_RETRY_AFTER_S = 60.0

Sent = Callable[[Any], Awaitable[None] | None]


@dataclass(slots=True)
class Outgoing:
    """One method call bound for one chat (sendMessage, editMessageText)."""

    chat_id: int
    method: str
    params: dict[str, Any]
    urgent: bool = False
    on_sent: Sent | None = None
    attempts: int = 0
    not_before: float = 0.0
    created: float = field(default_factory=time.monotonic)


class Outbox:
    """Sends queued calls in order, at most 1/s per chat and 30/s overall."""

    def __init__(
        self,
        api: BotApi,
        maxsize: int,
        *,
        per_chat_interval_s: float = PER_CHAT_INTERVAL_S,
        global_per_s: int = GLOBAL_PER_S,
        retry_backoff_s: float = RETRY_BACKOFF_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.maxsize = maxsize
        self.per_chat_interval_s = per_chat_interval_s
        self.global_per_s = global_per_s
        self.retry_backoff_s = retry_backoff_s
        self.clock = clock
        self._urgent: deque[Outgoing] = deque()
        self._normal: deque[Outgoing] = deque()
        self._chat_free_at: dict[int, float] = {}
        self._recent: deque[float] = deque()
        self._wake = asyncio.Event()
        self.sent = 0
        self.dropped = 0
        self.failed = 0
        self.flood_waits = 0

    def __len__(self) -> int:
        return len(self._urgent) + len(self._normal)

    def put(self, item: Outgoing) -> None:
        """Queue ``item`` without waiting; a full queue drops (and counts) its oldest alert."""
        if len(self) >= self.maxsize:
            (self._normal or self._urgent).popleft()
            self.dropped += 1
        (self._urgent if item.urgent else self._normal).append(item)
        self._wake.set()

    def _requeue(self, item: Outgoing) -> None:
        """Back to the head of its lane (a retry keeps its place)."""
        (self._urgent if item.urgent else self._normal).appendleft(item)

    def _next(self, now: float) -> tuple[Outgoing | None, float]:
        """The first item whose chat may send now (urgent ones first), or how long until one may."""
        wait = 3600.0
        while self._recent and now - self._recent[0] >= 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.global_per_s:
            return None, 1.0 - (now - self._recent[0])
        blocked: set[int] = set()
        for lane in (self._urgent, self._normal):
            for item in lane:
                if item.chat_id in blocked:
                    continue  # an earlier message to this chat waits already: keep the order
                ready = max(self._chat_free_at.get(item.chat_id, 0.0), item.not_before)
                if ready <= now:
                    lane.remove(item)
                    return item, 0.0
                wait = min(wait, ready - now)
                blocked.add(item.chat_id)
        return None, wait

    async def run(self) -> None:
        """Send until cancelled; a failing API delays and retries, never raises out."""
        while True:
            if not len(self):
                self._wake.clear()
                await self._wake.wait()
                continue
            item, wait = self._next(self.clock())
            if item is None:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), max(wait, 0.01))
                continue
            await self._send(item)

    def mark_sent(self, chat_id: int, now: float) -> None:
        """Count one call to ``chat_id`` at ``now`` against both limits."""
        self._recent.append(now)
        self._chat_free_at[chat_id] = now + self.per_chat_interval_s

    async def _send(self, item: Outgoing) -> None:
        self.mark_sent(item.chat_id, self.clock())
        item.attempts += 1
        try:
            result = await self.api.call(item.method, item.params)
        except BotApiError as exc:
            self._failed(item, exc)
            return
        self.sent += 1
        if item.on_sent is not None:
            try:
                outcome = item.on_sent(result)
                if outcome is not None:
                    await outcome
            except Exception:  # a bookkeeping bug must not stop the sender
                log.exception("after %s", item.method)

    def _failed(self, item: Outgoing, exc: BotApiError) -> None:
        now = self.clock()
        if exc.retry_after_s is not None:
            # Flood control: this chat waits as long as Telegram says, the message keeps its place.
            self.flood_waits += 1
            pause = min(exc.retry_after_s, MAX_RETRY_AFTER_S)
            self._chat_free_at[item.chat_id] = now + pause
            item.attempts -= 1
            self._requeue(item)
            log.warning("telegram flood control: chat %s waits %.0f s", item.chat_id, pause)
            return
        if exc.temporary and item.attempts < MAX_ATTEMPTS:
            item.not_before = now + self.retry_backoff_s * item.attempts
            self._requeue(item)
            log.warning("telegram %s failed (%s); retrying", item.method, exc.description)
            return
        self.failed += 1
        log.warning("telegram %s to chat %s not sent: %s", item.method, item.chat_id, exc)
