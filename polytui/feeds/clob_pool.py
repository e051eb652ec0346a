"""The market channel's connections: at most ``max_assets`` tokens on each one.

The market channel documents no cap, but connections holding more than about 200 assets have
been seen to stall silently — the socket stays open, no data comes — and nautilus_trader caps
its connections at 200 for that reason (``WS_DEFAULT_SUBSCRIPTIONS``). So tokens go to the first
connection with room, a new connection opens when every one is full, and an extra connection
that loses its last token closes. Each connection is its own :class:`WsFeed` — its own silence
watchdog, backoff and health row (``clob``, ``clob-2``, …) — so one stalled connection is torn
down and reopened alone while the others keep their books.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from polytui.feeds.connection import WsFeed
from polytui.model import FeedState, FeedStatus

MAX_ASSETS_PER_CONNECTION = 200


class Shard:
    """One connection and the tokens subscribed on it."""

    __slots__ = ("connected_at", "name", "tokens", "ws")

    def __init__(self, name: str) -> None:
        self.name = name
        self.tokens: set[str] = set()
        self.connected_at: float | None = None
        self.ws: WsFeed  # set by the pool right after construction


class ShardPool:
    """Assigns tokens to connections of at most ``max_assets`` and runs them all."""

    def __init__(self, name: str, make_ws: Callable[[Shard], WsFeed], *, max_assets: int) -> None:
        self.name = name
        self.make_ws = make_ws
        self.max_assets = max(1, max_assets)
        self.shards: list[Shard] = []
        self._of: dict[str, Shard] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._running = False
        self._stopped = asyncio.Event()
        self._serial = 0
        self._new_shard()

    def _new_shard(self) -> Shard:
        self._serial += 1
        shard = Shard(self.name if self._serial == 1 else f"{self.name}-{self._serial}")
        shard.ws = self.make_ws(shard)
        self.shards.append(shard)
        if self._running:
            self._start(shard)
        return shard

    def shard_of(self, token: str) -> Shard | None:
        """The connection a token is subscribed on."""
        return self._of.get(token)

    def add(self, tokens: list[str]) -> list[tuple[Shard, list[str]]]:
        """Place new tokens (first connection with room first); returns what went where."""
        placed: dict[str, list[str]] = {}
        for token in tokens:
            if token in self._of:
                continue
            shard = next((s for s in self.shards if len(s.tokens) < self.max_assets), None)
            if shard is None:
                shard = self._new_shard()
            shard.tokens.add(token)
            self._of[token] = shard
            placed.setdefault(shard.name, []).append(token)
        return [(self._by_name(name), added) for name, added in placed.items()]

    def remove(self, tokens: list[str]) -> list[tuple[Shard, list[str]]]:
        """Take tokens off their connections; returns what left where (emptied extra
        connections are closed, the first one stays)."""
        taken: dict[str, list[str]] = {}
        for token in tokens:
            shard = self._of.pop(token, None)
            if shard is None:
                continue
            shard.tokens.discard(token)
            taken.setdefault(shard.name, []).append(token)
        out = [(self._by_name(name), gone) for name, gone in taken.items()]
        for shard in [s for s in self.shards[1:] if not s.tokens]:
            self.shards.remove(shard)
            self._close(shard)
        return out

    def _by_name(self, name: str) -> Shard:
        return next(s for s in self.shards if s.name == name)

    # --- lifecycle ------------------------------------------------------------------------------

    def _start(self, shard: Shard) -> None:
        self._tasks[shard.name] = asyncio.get_running_loop().create_task(
            shard.ws.run(), name=f"feed:{shard.name}"
        )

    def _close(self, shard: Shard) -> None:
        task = self._tasks.pop(shard.name, None)
        if task is None:
            return

        async def close() -> None:
            await shard.ws.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        with contextlib.suppress(RuntimeError):
            asyncio.get_running_loop().create_task(close())

    async def run(self) -> None:
        """Run every connection (those opened later too) until ``stop()``."""
        self._running = True
        self._stopped.clear()
        for shard in self.shards:
            self._start(shard)
        try:
            await self._stopped.wait()
        finally:
            self._running = False
            tasks = list(self._tasks.values())
            self._tasks.clear()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def stop(self) -> None:
        """Close every connection and end ``run()``."""
        for shard in self.shards:
            await shard.ws.stop()
        self._stopped.set()


# Worst first: a summed row is as bad as its worst connection.
_STATE_ORDER = (FeedState.DOWN, FeedState.DEGRADED, FeedState.CONNECTING, FeedState.LIVE)


def combined_status(name: str, rows: tuple[FeedStatus, ...]) -> FeedStatus:
    """Every connection's counters in one row: sums, the oldest data, the worst state."""
    if len(rows) == 1:
        return rows[0]
    states = [r.state for r in rows]
    worst = next((st for st in _STATE_ORDER if st in states), rows[0].state)
    ages = [r.last_data_age_s for r in rows if r.last_data_age_s is not None]
    latencies = [r.latency_ms for r in rows if r.latency_ms is not None]
    return FeedStatus(
        name=name,
        state=worst,
        connected=all(r.connected for r in rows),
        last_data_age_s=max(ages) if ages else None,
        messages=sum(r.messages for r in rows),
        rejected=sum(r.rejected for r in rows),
        reconnects=sum(r.reconnects for r in rows),
        connections=sum(r.connections for r in rows),
        latency_ms=max(latencies) if latencies else None,
        messages_per_s=sum(r.messages_per_s for r in rows),
        detail="; ".join(r.detail for r in rows if r.detail),
    )
