"""Sliding-window request limits, applied before a request leaves (delay, never reject).

The data-api's published limits (HISTORY-MEMPOOL-REMOTE.md §1.3) are sliding windows:
1,000 requests per 10 s overall, 200 per 10 s for ``/trades``, 150 per 10 s for ``/positions``
and ``/closed-positions``; the server queues rather than rejects, so a polite client waits its
turn here instead of finding out from a 429. The clock and the sleep are injected.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

# While every slot of a full window is still in flight there is no finish time to wait for.
IN_FLIGHT_POLL_S = 0.02


@dataclass(slots=True)
class SlidingWindow:
    """At most ``limit`` requests in any ``window_s`` seconds, as the server counts them.

    A slot is held from departure until ``window_s`` after the answer came back: the request
    reached the server at some moment before its answer, so the next request that this slot lets
    go arrives at least ``window_s`` after it, however the network delayed either of them.
    """

    limit: int
    window_s: float
    slots: list[list[float]] = field(default_factory=list)

    def wait_s(self, now: float) -> float:
        """Seconds until one more request fits (0 when it fits now)."""
        self.slots = [slot for slot in self.slots if slot[0] > now - self.window_s]
        if len(self.slots) < self.limit:
            return 0.0
        soonest = min(slot[0] for slot in self.slots)
        if soonest == math.inf:
            return IN_FLIGHT_POLL_S
        return soonest + self.window_s - now

    def take(self) -> list[float]:
        """Hold one slot (in flight until ``finish``)."""
        slot = [math.inf]
        self.slots.append(slot)
        return slot

    @staticmethod
    def finish(slot: list[float], now: float) -> None:
        """The answer to the slot's request arrived at ``now``."""
        slot[0] = now


@dataclass(frozen=True, slots=True)
class PathRule:
    """A limit shared by the request paths in ``paths`` (exact: ``/trades`` is not ``/traded``)."""

    paths: tuple[str, ...]
    limit: int

    def applies(self, path: str) -> bool:
        """True when ``path`` falls under this rule."""
        return path in self.paths


class RateLimiter:
    """An overall window plus per-path windows; ``acquire`` waits until all of them fit."""

    def __init__(
        self,
        overall_limit: int,
        rules: Sequence[PathRule] = (),
        *,
        window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.window_s = window_s
        self.overall = SlidingWindow(overall_limit, window_s)
        self.rules = [(rule, SlidingWindow(rule.limit, window_s)) for rule in rules]
        self.clock = clock
        self.sleep = sleep
        self.waited_s = 0.0
        self._lock = asyncio.Lock()

    def _windows(self, path: str) -> list[SlidingWindow]:
        return [self.overall] + [w for rule, w in self.rules if rule.applies(path)]

    async def acquire(self, path: str) -> list[list[float]]:
        """Wait until a request to ``path`` fits every window it falls under; hold its slots.

        Pass the result to :meth:`release` when the answer (or the failure) comes back.
        """
        windows = self._windows(path)
        async with self._lock:
            while True:
                now = self.clock()
                wait = max(w.wait_s(now) for w in windows)
                if wait <= 0:
                    return [window.take() for window in windows]
                self.waited_s += wait
                await self.sleep(wait)

    def release(self, ticket: list[list[float]]) -> None:
        """The request holding ``ticket`` is over; its slots free ``window_s`` from now."""
        now = self.clock()
        for slot in ticket:
            SlidingWindow.finish(slot, now)

    @contextlib.asynccontextmanager
    async def slot(self, path: str) -> AsyncIterator[None]:
        """``async with limiter.slot(path):`` around one request."""
        ticket = await self.acquire(path)
        try:
            yield
        finally:
            self.release(ticket)


def data_api_limiter(
    overall: int = 1000,
    trades: int = 200,
    positions: int = 150,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> RateLimiter:
    """The data-api's published limits (v2 paths share the v1 buckets)."""
    return RateLimiter(
        overall,
        [
            PathRule(("/trades", "/v2/trades"), trades),
            PathRule(("/positions", "/closed-positions", "/v2/positions"), positions),
        ],
        clock=clock,
        sleep=sleep,
    )
