"""Feed supervision: the feed tasks, their health, and the books the engine waits for.

``FeedSupervisor`` runs and stops every feed, reports one health row per connection (the merged
whale stream as its sources make it), judges the whale feed stale, and subscribes the market
channel to traded markets. ``BookWatch`` is the part the market channel calls back: it exists
before the channel does, so ``wiring`` can hand the channel its callback first.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Iterable, Mapping
from dataclasses import replace

from polytui.engine.ports import BookChannel, Books, Feed, ShardedFeed, WalletWatcher
from polytui.model import FeedState, FeedStatus, Market

WHALE_SOURCES = frozenset({"activity", "chain", "dataapi", "mempool"})
FREEZE_AFTER_S = 15.0  # the longest wait for every feed to connect before the heap is frozen
BOOK_WAIT_S = 2.0
_heap_frozen = False


def freeze_heap() -> None:
    """Collect once, then freeze what is alive (modules, config, caches) out of the collector.

    A full collection walks every tracked object; with web3 and Textual loaded one took 14-31 ms
    on the chain-latency benchmark, and no frame is read meanwhile. Frozen objects are never
    scanned again, so later full collections cost what the session itself allocated. Once per
    process: whatever is frozen is never freed.
    """
    global _heap_frozen
    if _heap_frozen:
        return
    _heap_frozen = True
    gc.collect()
    gc.freeze()


# Best first: the merged stream is as healthy as its healthiest source.
_STATE_RANK = (FeedState.LIVE, FeedState.DEGRADED, FeedState.CONNECTING, FeedState.DOWN)


def merged_stream_status(stream: FeedStatus, statuses: list[FeedStatus]) -> FeedStatus:
    """The merged whale stream as its sources make it: live while one whale source is live,
    else the best of their states, and down when no source runs at all. The stream itself
    only deduplicates (it never fails), so on its own it would read "live" while every source
    is down."""
    sources = [s for s in statuses if s.name in WHALE_SOURCES and s.state is not FeedState.DISABLED]
    states = [s.state for s in sources]
    state = next((rank for rank in _STATE_RANK if rank in states), FeedState.DOWN)
    named = ", ".join(f"{s.name} {s.state.value}" for s in sources) or "no whale source runs"
    return replace(
        stream,
        state=state,
        connected=any(s.connected for s in sources),
        detail=f"sources: {named}; {stream.detail}" if stream.detail else f"sources: {named}",
    )


class BookWatch:
    """Books that changed since the last tick, and trades waiting for a book to arrive."""

    def __init__(self, books: Books) -> None:
        self.books = books
        self._dirty: set[str] = set()
        self._waiters: dict[str, asyncio.Future[None]] = {}

    def note_changed(self, token_id: str) -> None:
        """Market channel callback: a book changed (coalesced per token for the UI)."""
        self._dirty.add(token_id)
        waiter = self._waiters.pop(token_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def take_dirty(self) -> list[str]:
        """The tokens whose book changed since the last call."""
        dirty = list(self._dirty)
        self._dirty.clear()
        return dirty

    async def wait_for(self, token_id: str, timeout_s: float = BOOK_WAIT_S) -> None:
        """Give a newly subscribed book a moment to arrive before sizing on it."""
        book = self.books.get(token_id)
        if book is not None and not book.stale:
            return
        waiter = self._waiters.get(token_id)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[token_id] = waiter
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), timeout_s)


class FeedSupervisor:
    """Runs the feeds, reports their health and keeps the market channel on traded markets.

    ``feeds`` are run and shown in their order; those also in ``sharded`` show one row per
    connection; those in ``watchers`` follow a new watch list. ``channel`` is the market
    channel's subscriptions (None: no books asked for).
    """

    def __init__(
        self,
        feeds: Mapping[str, Feed],
        *,
        sharded: Mapping[str, ShardedFeed] | None = None,
        watchers: Mapping[str, WalletWatcher] | None = None,
        channel: BookChannel | None = None,
        watch: BookWatch,
    ) -> None:
        self.feeds: dict[str, Feed] = dict(feeds)
        self._sharded: dict[str, ShardedFeed] = dict(sharded or {})
        self._watchers: dict[str, WalletWatcher] = dict(watchers or {})
        self._watching: set[asyncio.Task[None]] = set()
        self.channel = channel
        self.watch = watch

    def start(self) -> list[asyncio.Task[None]]:
        """One task per feed."""
        return [
            asyncio.create_task(feed.run(), name=f"feed:{name}")
            for name, feed in self.feeds.items()
        ]

    async def stop(self) -> None:
        """Stop every feed; one that fails to stop does not keep the others running."""
        for feed in self.feeds.values():
            with contextlib.suppress(Exception):
                await feed.stop()

    def watch_wallets(self, wallets: Iterable[str]) -> None:
        """The watch list changed (a reload): point every whale source at it, no reconnect.

        RTDS, the mempool, the data-api and the warm-up filter or ask on our side, so they
        follow at once (the data-api and the warm-up from their next round); the chain feed
        swaps its node-side filter on the same connection, in a task of its own.
        """
        wanted = {w.lower() for w in wallets}
        for name, watcher in self._watchers.items():
            task = asyncio.get_running_loop().create_task(
                watcher.watch(set(wanted)), name=f"watch:{name}"
            )
            self._watching.add(task)
            task.add_done_callback(self._watching.discard)

    def statuses(self) -> tuple[FeedStatus, ...]:
        """Every feed's counters (never touches the network); a feed with several connections
        (the market channel, past 200 assets) gives one row per connection. The merged whale
        stream's state is its sources' (see :func:`merged_stream_status`)."""
        rows: list[FeedStatus] = []
        for name, feed in self.feeds.items():
            sharded = self._sharded.get(name)
            rows.extend(sharded.statuses() if sharded is not None else (feed.status(),))
        return tuple(merged_stream_status(r, rows) if r.name == "stream" else r for r in rows)

    def whales_stale(self, limit_s: float) -> bool:
        """True when every whale source has been silent longer than ``limit_s``.

        Books are judged one by one (a stale book blocks trades in that token only); the
        chain subscription is filtered to watched wallets and may be quiet for good reasons,
        so the whale feed is stale only when no source has delivered data recently.
        """
        statuses = [feed.status() for name, feed in self.feeds.items() if name in WHALE_SOURCES]
        # a source with nothing to watch (no wallet yet, a refused mempool) is not silent
        ages = [s.last_data_age_s for s in statuses if s.state is not FeedState.DISABLED]
        if not ages:
            return False
        return all(age is None or age > limit_s for age in ages)

    def watch_book(self, token_id: str, market: Market | None, settled: set[str]) -> bool:
        """Ask the market channel for the book of a traded market (each trade renews the
        interest; the channel drops tokens nobody wants any more). False for a closed,
        settled or unsupported market: its book is not needed and is not asked for."""
        if self.channel is None:
            return False
        tokens = [token_id]
        if market is not None:
            if market.closed or market.unsupported or market.condition_id in settled:
                return False
            tokens = [o.token_id for o in market.outcomes] or tokens
        self.channel.subscribe(tokens)
        return True

    def unwatch(self, tokens: list[str]) -> None:
        """Drop books no longer needed (a settled market's)."""
        if self.channel is not None:
            self.channel.unsubscribe(tokens)

    async def freeze_heap_when_up(self) -> None:
        """Freeze the heap once the feeds are up (their libraries are imported by then)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FREEZE_AFTER_S
        while loop.time() < deadline and not all(s.connected for s in self.statuses()):
            await asyncio.sleep(0.25)
        freeze_heap()
