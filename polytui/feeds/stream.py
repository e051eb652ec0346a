"""The merged whale-trade stream: four sources in, each fill out once.

The same fill reaches us from the mempool (~0.65 s, tentative), RTDS (~1.9 s), the chain
(~2.2 s) and the data-api (~5 s) (PROTOCOL.md §8). The first arrival is emitted; later ones only
record their latency so the UI can show which source is fastest. A mempool trade is pending
until the chain's log of the same transaction confirms it (the log's amounts win:
``on_confirm``) or the mempool source retracts it (dropped, replaced, reverted:
``on_withdraw``); see :mod:`polytui.feeds.tentative`. Outcome and market come from the
whale's own token id via the market lookup; a trade on a token whose market is not known yet
waits (bounded) for metadata.

Lookups run per token, concurrently: a trade waiting for a cold market's metadata never holds
up a trade in another market, and the trades of one token (one outcome of a market, the
whale's position) are handed on in arrival order. The token is the lane's key because every
source carries it from the first sighting (a chain log carries nothing else), where a
condition id comes only with some sources and, for a cold market, the token's condition is
known only after the very lookup the lane waits for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from statistics import median

from polytui.feeds.tentative import TentativeBook, confirmed
from polytui.model import FeedState, FeedStatus, Market, WhaleTrade

log = logging.getLogger(__name__)

SEEN_KEPT = 50_000
WAITING_MAX = 1_000


class WhaleStream:
    """Deduplicates fills across sources and enriches them with market metadata."""

    def __init__(
        self,
        lookup: Callable[[str], Awaitable[Market | None]],
        on_trade: Callable[[WhaleTrade], None],
        *,
        lookup_condition: Callable[[str], Awaitable[Market | None]] | None = None,
        on_retract: Callable[[object], None] | None = None,
        on_latency: Callable[[object, str, int], None] | None = None,
        on_confirm: Callable[[object, WhaleTrade], None] | None = None,
        on_withdraw: Callable[[object, str], None] | None = None,
        wait_for_metadata_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = "stream"
        self.lookup = lookup
        # A token Gamma cannot find by clobTokenIds (a Protocol V2 position id) is looked up by
        # the trade's own condition id once.
        self.lookup_condition = lookup_condition
        self.on_trade = on_trade
        self.on_retract = on_retract
        self.on_latency = on_latency
        self.on_confirm = on_confirm
        self.on_withdraw = on_withdraw
        self.tentative = TentativeBook()
        # A pending trade's fate that came while it still waited for its market: the confirmed
        # trade to emit instead, or the reason it was withdrawn (then it is not emitted).
        self._fate: dict[object, WhaleTrade | str] = {}
        self._emitted_pending: OrderedDict[object, None] = OrderedDict()
        self.confirmed = 0
        self.withdrawn = 0
        self.wait_for_metadata_s = wait_for_metadata_s
        self.monotonic = monotonic
        self._seen: OrderedDict[object, str] = OrderedDict()
        self._queue: asyncio.Queue[tuple[WhaleTrade, float]] | None = None
        self._latencies: dict[str, deque[int]] = {}
        self.first_arrivals: dict[str, int] = {}
        self.duplicates = 0
        self.emitted = 0
        self.dropped = 0
        self.retracted = 0
        self.last_emit_at: float | None = None
        # token id → its trades in arrival order, the first one being looked up by that
        # token's lane task
        self._lanes: dict[str, deque[tuple[WhaleTrade, float]]] = {}
        self._lane_tasks: set[asyncio.Task[None]] = set()

    def _ensure_queue(self) -> asyncio.Queue[tuple[WhaleTrade, float]]:
        if self._queue is None:
            self._queue = asyncio.Queue(maxsize=WAITING_MAX)
        return self._queue

    def offer(self, trade: WhaleTrade) -> None:
        """A trade from any source (sync; called from feed callbacks)."""
        key = trade.dedup_key
        source = trade.source.value
        self._latencies.setdefault(source, deque(maxlen=500)).append(trade.latency_ms)
        if not self._is_new(trade, key):
            self.duplicates += 1
            if self.on_latency is not None:
                self.on_latency(key, source, trade.latency_ms)
            return
        self._seen[key] = source
        while len(self._seen) > SEEN_KEPT:
            self._seen.popitem(last=False)
        self.first_arrivals[source] = self.first_arrivals.get(source, 0) + 1
        try:
            self._ensure_queue().put_nowait((trade, self.monotonic()))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("whale stream: backlog full, dropped a trade")

    def _is_new(self, trade: WhaleTrade, key: object) -> bool:
        """False for a fill already emitted: its key was seen, or it is a sighting of a pending
        trade (the chain's log of it confirms it), or a pending trade whose fill a settled
        source already delivered."""
        if trade.pending_tx:
            return key not in self._seen and self.tentative.add(trade)
        held = self.tentative.waiting(trade)
        pending = self.tentative.settle(trade)
        if pending is not None:
            self._confirm(pending, trade)
        return not held and key not in self._seen

    def _confirm(self, pending: WhaleTrade, settled: WhaleTrade) -> None:
        self.confirmed += 1
        self._seen[settled.dedup_key] = settled.source.value
        key = pending.dedup_key
        if key in self._emitted_pending:
            del self._emitted_pending[key]
            if self.on_confirm is not None:
                self.on_confirm(key, settled)
        else:
            self._keep_fate(key, confirmed(pending, settled))

    def withdraw(self, tx_hash: str, reason: str) -> None:
        """The mempool source gave up on a transaction (dropped, replaced, reverted)."""
        for pending in self.tentative.withdraw(tx_hash):
            self.withdrawn += 1
            key = pending.dedup_key
            if key in self._emitted_pending:
                del self._emitted_pending[key]
                if self.on_withdraw is not None:
                    self.on_withdraw(key, reason)
            else:
                self._keep_fate(key, reason)

    def _keep_fate(self, key: object, fate: WhaleTrade | str) -> None:
        # A trade dropped before its lookup (a full backlog) never takes its fate: bounded.
        self._fate[key] = fate
        while len(self._fate) > WAITING_MAX:
            self._fate.pop(next(iter(self._fate)))

    def remember(self, keys: list[object]) -> None:
        """Fills already handled before a restart: a caught-up copy of one is a duplicate."""
        for key in keys:
            self._seen[key] = "journal"
        while len(self._seen) > SEEN_KEPT:
            self._seen.popitem(last=False)

    @property
    def pending(self) -> int:
        """Trades queued or waiting for market metadata."""
        queued = self._queue.qsize() if self._queue is not None else 0
        return queued + sum(len(lane) for lane in self._lanes.values())

    def retract(self, key: object) -> None:
        """A chain reorg removed a fill."""
        self.retracted += 1
        self._seen.pop(key, None)
        if self.on_retract is not None:
            self.on_retract(key)

    async def run(self) -> None:
        """Hand each queued trade to its market's lane (started when idle)."""
        queue = self._ensure_queue()
        try:
            while True:
                trade, queued_at = await queue.get()
                key = trade.token_id  # every source carries it: one lane whatever the source
                lane = self._lanes.get(key)
                if lane is not None:
                    lane.append((trade, queued_at))
                    continue
                self._lanes[key] = deque([(trade, queued_at)])
                task = asyncio.create_task(self._run_lane(key), name=f"stream:{key[:12]}")
                self._lane_tasks.add(task)
                task.add_done_callback(self._lane_tasks.discard)
        finally:
            for task in list(self._lane_tasks):
                task.cancel()
            self._lanes.clear()

    async def _run_lane(self, key: str) -> None:
        """Enrich one token's trades in order and emit them; the lane ends when empty."""
        lane = self._lanes[key]
        try:
            while lane:
                trade, queued_at = lane[0]
                try:
                    await self._emit(trade, queued_at)
                except Exception:  # one bad trade must not stop its token's lane
                    log.exception("whale stream: emitting a trade failed")
                lane.popleft()
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _emit(self, trade: WhaleTrade, queued_at: float) -> None:
        """Look up the market, fill in outcome and condition, hand the trade on."""
        market = await self._market(trade, queued_at)
        fate = self._fate.pop(trade.dedup_key, None) if trade.pending_tx else None
        if isinstance(fate, str):
            return  # withdrawn while it waited for its market: never a signal
        if fate is not None:
            trade = fate  # mined while it waited: emitted as confirmed
        enriched = self._enriched(trade, market)
        if enriched is None:
            return
        if enriched.pending_tx:  # only a trade really handed on takes its later news
            self._emitted_pending[trade.dedup_key] = None
            while len(self._emitted_pending) > SEEN_KEPT:
                self._emitted_pending.popitem(last=False)
        self.emitted += 1
        self.last_emit_at = self.monotonic()
        self.on_trade(enriched)

    def _enriched(self, trade: WhaleTrade, market: Market | None) -> WhaleTrade | None:
        """The trade with its market's outcome and condition, or None (counted as dropped)."""
        if market is None:
            self.dropped += 1
            log.warning("whale stream: no market for token %s; trade dropped", trade.token_id)
            return None
        outcome = market.outcome_for(trade.token_id)
        if outcome is None:
            self.dropped += 1
            return None
        return replace(
            trade,
            condition_id=market.condition_id,
            outcome=outcome.name,
            outcome_index=outcome.index,
            title=trade.title or market.question,
        )

    async def _market(self, trade: WhaleTrade, queued_at: float) -> Market | None:
        delay = 0.25
        by_condition = bool(trade.condition_id)
        while True:
            try:
                market = await self.lookup(trade.token_id)
            except Exception:
                log.exception("whale stream: market lookup failed")
                market = None
            if market is not None:
                return market
            if by_condition and self.lookup_condition is not None:
                by_condition = False
                try:
                    market = await self.lookup_condition(trade.condition_id)
                except Exception:
                    log.exception("whale stream: market lookup by condition failed")
                    market = None
                if market is not None and market.outcome_for(trade.token_id) is not None:
                    return market
            if self.monotonic() - queued_at + delay > self.wait_for_metadata_s:
                return None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def stop(self) -> None:
        """Nothing to close."""

    def latency_p50(self, source: str) -> int | None:
        """Median observed latency of one source, in ms."""
        values = self._latencies.get(source)
        return int(median(values)) if values else None

    def status(self) -> FeedStatus:
        """Dedup counters (no I/O)."""
        age = None if self.last_emit_at is None else self.monotonic() - self.last_emit_at
        fastest = max(self.first_arrivals, key=lambda s: self.first_arrivals[s], default="-")
        return FeedStatus(
            name=self.name,
            state=FeedState.LIVE,
            connected=True,
            last_data_age_s=age,
            messages=self.emitted,
            rejected=self.dropped,
            reconnects=0,
            connections=0,
            detail=(
                f"{self.duplicates} duplicates merged; fastest source {fastest}; pending tx: "
                f"{len(self.tentative)} open, {self.confirmed} mined, {self.withdrawn} withdrawn"
            ),
        )
