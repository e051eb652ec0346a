"""The engine: the only owner of trading state.

It runs on one asyncio loop (hosted by the Textual app as workers, or by ``asyncio.run`` in the
daemon), receives whale trades and market events from the feeds, asks the strategy for signals
and sized intents, queues them for approval, sends approved orders through RiskGuard to the
broker, applies fills to the portfolio, journals every decision and publishes events on the bus.
It imports nothing from the UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from polytui import datadir, display
from polytui import events as ev
from polytui.bus import EventBus, Subscription
from polytui.clock import Clock, SystemClock
from polytui.model import (
    CommandResult,
    EngineState,
    FeedState,
    FeedStatus,
    Fill,
    IntentStatus,
    Market,
    Order,
    OrderStatus,
    OrderType,
    Resolution,
    Side,
    Signal,
    SignalStatus,
    TradeIntent,
    WhaleTrade,
    new_id,
)
from polytui.model.records import fill_to_record, intent_to_record, order_to_record
from polytui.settings import Settings

log = logging.getLogger(__name__)

TICK_S = 0.25
FEED_STATUS_EVERY_S = 1.0
EQUITY_EVERY_S = 60.0
SIGNALS_KEPT = ev.SIGNALS_KEPT
WHALE_SOURCES = frozenset({"activity", "chain", "dataapi", "mempool"})
# The whale sources' high-water marks (chain block, newest data-api fill, when last saved), so a
# restart catches up the trades missed while down (see ``polytui.wiring``).
CURSOR_KEY = "whale_cursor"
CURSOR_EVERY_S = 5.0


SETTLE_AFTER_S = 15.0  # the longest wait for every feed to connect before the heap is settled
_heap_settled = False


def settle_heap() -> None:
    """Collect once, then freeze what is alive (modules, config, caches) out of the collector.

    A full collection walks every tracked object; with web3 and Textual loaded one took 14-31 ms
    on the chain-latency benchmark, and no frame is read meanwhile. Frozen objects are never
    scanned again, so later full collections cost what the session itself allocated. Once per
    process: whatever is frozen is never freed.
    """
    global _heap_settled
    if _heap_settled:
        return
    _heap_settled = True
    gc.collect()
    gc.freeze()


# Best first: the merged stream is as healthy as its healthiest source.
_STATE_RANK = (FeedState.LIVE, FeedState.DEGRADED, FeedState.CONNECTING, FeedState.DOWN)


def merged_stream_status(stream: FeedStatus, statuses: list[FeedStatus]) -> FeedStatus:
    """The merged whale stream as its sources make it: live while one whale source is live,
    else the best of their states, and down when no source runs at all. The stream itself
    only deduplicates (it never fails), so on its own it would read "live" while every source
    is down."""
    sources = [
        s for s in statuses if s.name in WHALE_SOURCES and s.state is not FeedState.DISABLED
    ]
    states = [s.state for s in sources]
    state = next((rank for rank in _STATE_RANK if rank in states), FeedState.DOWN)
    named = ", ".join(f"{s.name} {s.state.value}" for s in sources) or "no whale source runs"
    return replace(
        stream,
        state=state,
        connected=any(s.connected for s in sources),
        detail=f"sources: {named}; {stream.detail}" if stream.detail else f"sources: {named}",
    )


class Engine:
    """Wires feeds → strategy → approvals → broker → portfolio, journal and bus.

    Collaborators are injected (``build_engine`` assembles the real ones) so tests can drive the
    engine with a simulator or hand-built objects.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        journal: Any,
        strategy: Any,
        broker: Any,
        portfolio: Any,
        books: Any,
        markets: Any,
        feeds: dict[str, Any] | None = None,
        stream: Any = None,
        clob: Any = None,
        bus: EventBus | None = None,
        clock: Clock | None = None,
        mode: str = "paper",
        demo: bool = False,
        journal_path: Path | None = None,
    ) -> None:
        self.settings = settings
        self.journal = journal
        self.strategy = strategy
        self.broker = broker
        self.portfolio = portfolio
        self.books = books
        self.markets = markets
        self.feeds: dict[str, Any] = dict(feeds or {})
        self.stream = stream
        self.clob = clob
        self.bus = bus or EventBus()
        self.clock: Clock = clock or SystemClock()
        self.tick_s = TICK_S  # a backtest (no screen to refresh) ticks less often
        self.mode = mode
        self.demo = demo
        self.journal_path = journal_path
        self._state = EngineState(mode=mode, demo=demo)
        self._signals: dict[str, Signal] = {}
        self._signal_order: deque[str] = deque()
        self._intent_signal: dict[str, str] = {}
        self._inflight: set[asyncio.Task[None]] = set()
        # Buy orders sent and not yet reported: order id → (condition id, token id, USD).
        self._pending_buys: dict[str, tuple[str, str, Decimal]] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = asyncio.Event()
        self._last_feed_status = 0.0
        self._last_equity = 0.0
        # Conditions already settled this run: every source may report the same result.
        self._resolved: set[str] = set()
        self.resolutions_repeated = 0
        self._running = False
        # Feeds call the engine synchronously from their own tasks; the work is queued here and
        # done by one engine task, so trading state has a single writer.
        self._inbox: asyncio.Queue[Callable[[], Awaitable[None]]] = asyncio.Queue(maxsize=10_000)
        self.inbox_dropped = 0
        self._dirty_books: set[str] = set()
        self._book_waiters: dict[str, asyncio.Future[None]] = {}
        self._inbox_busy = False
        self._cursor: dict[str, Any] = {}
        self._cursor_saved_at = 0.0
        self._started_wall: datetime | None = None
        # Set by ``wiring`` when a saved cursor was restored: whale trades matched before this
        # run started are caught up, counted, and announced once the sources have caught up.
        self.catch_up_since: datetime | None = None
        self.caught_up = 0
        self._catch_up_announced = False
        self._journal_fault = ""  # the journal's last write failure, as last announced
        self.trades_not_copied = 0  # whale trades dropped while the journal could not be written
        self._group_commit: asyncio.Future[bool] | None = None
        # Second opinions on pending buys (polytui.advisors.second_opinion), when [advisors] is on.
        self.advisors: Any = None

    # --- EngineAPI ----------------------------------------------------------------------------

    def snapshot(self) -> ev.Snapshot:
        """Everything a newly attached client needs before the live stream."""
        return ev.Snapshot(
            state=self._state,
            positions=tuple(self.portfolio.positions_by_resolution(self.clock.now())),
            intents=tuple(self.strategy.approvals.pending()),
            signals=tuple(self._signals[s] for s in self._signal_order),
            pnl=self.portfolio.pnl(),
            feeds=self.feed_statuses(),
            risk=self.risk_snapshot(),
        )

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """A bounded subscription to every event from now on."""
        return self.bus.subscribe(maxsize)

    async def command(self, name: str, **args: Any) -> CommandResult:
        """Run one operator command; bad input is answered, never raised."""
        handler: Callable[..., Awaitable[CommandResult]] | None = getattr(
            self, f"_cmd_{name}", None
        )
        if handler is None:
            return CommandResult(False, f"unknown command {name!r}")
        try:
            return await handler(**args)
        except TypeError as exc:
            return CommandResult(False, f"{name}: bad arguments ({exc})")

    # --- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run feeds and the engine loop until ``stop()``."""
        self._running = True
        self._started_wall = self.clock.now()
        self._restore()
        self._publish_state()
        self._notice("info", f"engine started in {self.mode} mode")
        self._bind_broker()
        for name, feed in self.feeds.items():
            self._tasks.append(asyncio.create_task(feed.run(), name=f"feed:{name}"))
        if hasattr(self.broker, "start"):
            self._tasks.append(asyncio.create_task(self._start_broker(), name="broker:start"))
        self._tasks.append(asyncio.create_task(self._tick_loop(), name="engine:tick"))
        self._tasks.append(asyncio.create_task(self._inbox_loop(), name="engine:inbox"))
        self._tasks.append(asyncio.create_task(self._settle_heap(), name="engine:settle-heap"))
        try:
            await self._stopping.wait()
        finally:
            await self._shutdown()

    async def stop(self) -> None:
        """Stop new entries, let in-flight fills finish, flush, close feeds."""
        self._stopping.set()

    async def _shutdown(self) -> None:
        if self._inflight:
            await asyncio.wait(self._inflight, timeout=10)
        if self.advisors is not None:
            with contextlib.suppress(Exception):
                await self.advisors.stop()
        for feed in self.feeds.values():
            with contextlib.suppress(Exception):
                await feed.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        close = getattr(self.broker, "close", None)
        if close is not None:
            with contextlib.suppress(Exception):
                await close()
        self.journal.flush()
        self._running = False

    # --- feed callbacks (sync; queue the work) --------------------------------------------------

    def submit_trade(self, trade: WhaleTrade) -> None:
        """Feed callback: a deduplicated whale trade."""
        self._enqueue(lambda: self.on_whale_trade(trade))

    def submit_resolution(
        self, condition_id: str, winning_token_id: str, at: datetime | None = None
    ) -> None:
        """Feed callback: the market WebSocket's ``market_resolved``."""
        self.submit_resolved(Resolution.winner(condition_id, winning_token_id, "ws", at))

    def submit_resolved(self, resolution: Resolution) -> None:
        """Feed callback: a market's result from any source (WebSocket or resolver)."""
        self._enqueue(lambda: self.apply_resolution(resolution))

    def resolution_candidates(self) -> list[tuple[str, str]]:
        """(condition id, a token id) of every market held or watched and not yet settled: what
        the resolver polls once the market is past its end."""
        seen: dict[str, str] = {}
        for position in self.portfolio.positions_by_resolution(self.clock.now()):
            seen.setdefault(position.condition_id, position.token_id)
        scorer = getattr(self.strategy, "scorer", None)
        for record in getattr(scorer, "records", {}).values():
            for token, (cid, *_rest) in record.open_buys.items():
                seen.setdefault(cid, token)
        return [(cid, token) for cid, token in seen.items() if cid not in self._resolved]

    def submit_retraction(self, dedup_key: object) -> None:
        """Feed callback: a chain reorg removed a trade we had seen."""
        self._enqueue(lambda: self._on_retracted(dedup_key))

    def submit_tx_mined(self, dedup_key: object, settled: WhaleTrade) -> None:
        """Stream callback: a pending-transaction trade's logs arrived (polytui.pending_tx)."""
        from polytui import pending_tx

        self._enqueue(lambda: pending_tx.confirm(self, dedup_key, settled))

    def submit_tx_gone(self, dedup_key: object, reason: str) -> None:
        """Stream callback: a pending-transaction trade will never be mined."""
        from polytui import pending_tx

        self._enqueue(lambda: pending_tx.retract(self, dedup_key, reason))

    def submit_fill(self, fill: Fill) -> None:
        """Broker callback: a fill confirmed after its order's report went back (live)."""
        self._enqueue(lambda: self._late_fill(fill))

    async def _late_fill(self, fill: Fill) -> None:
        self._apply_fill(fill, await self._market_for(fill.token_id))
        self._publish_portfolio()

    def _bind_broker(self) -> None:
        """Give a broker that reports asynchronously (live) the engine's journal and portfolio."""
        bind = getattr(self.broker, "bind", None)
        if bind is not None:
            bind(on_order=self._journal_order, on_fill=self.submit_fill, on_record=self._record)

    def _record(self, kind: str, ref: str, payload: dict[str, Any]) -> None:
        self.journal.append(kind, payload, ref=ref, durable=True)

    async def _start_broker(self) -> None:
        """Live: clock, balance and allowance checks, and reconciliation with the journal."""
        view = self._portfolio_view()
        try:
            report = await self.broker.start(view.shares_by_token, self.journal)
        except Exception as exc:  # a start-up bug must not kill the engine
            log.exception("broker start-up failed")
            self._notice("error", f"broker start-up failed: {type(exc).__name__}")
            return
        for level, message in report.notices:
            self._notice(level, message)
        balance = report.balance_usd
        fresh = self.portfolio.untouched() and self.journal.count("fill") == 0
        if report.ok and balance is not None and fresh:
            # A first live run starts from the exchange's pUSD balance, not a paper figure.
            self.portfolio.start_from(balance)
            self._persist_state()
            self._publish_portfolio()

    def _enqueue(self, job: Callable[[], Awaitable[None]]) -> None:
        try:
            self._inbox.put_nowait(job)
        except asyncio.QueueFull:
            self.inbox_dropped += 1
            log.warning("engine inbox full; dropped a feed event")

    async def _inbox_loop(self) -> None:
        while True:
            job = await self._inbox.get()
            self._inbox_busy = True
            try:
                await job()
            except Exception:  # one bad event must not stop trading
                log.exception("engine failed to process a feed event")
            finally:
                self._inbox_busy = False

    def idle(self) -> bool:
        """Nothing queued, enriching or executing (replay and tests wait for this)."""
        stream_busy = self.stream is not None and getattr(self.stream, "pending", 0) > 0
        return self._inbox.empty() and not self._inflight and not stream_busy

    async def drain(self) -> None:
        """Process everything queued so far (tests and replay)."""
        while not self._inbox.empty():
            job = self._inbox.get_nowait()
            await job()

    def note_book_changed(self, token_id: str) -> None:
        """Feed callback: a book changed (coalesced per token for the UI)."""
        self._dirty_books.add(token_id)
        waiter = self._book_waiters.pop(token_id, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _await_book(self, token_id: str, timeout_s: float = 2.0) -> None:
        """Give a newly subscribed book a moment to arrive before sizing on it."""
        book = self.books.get(token_id)
        if book is not None and not book.stale:
            return
        waiter = self._book_waiters.get(token_id)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._book_waiters[token_id] = waiter
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(waiter), timeout_s)

    def reload(self, settings: Settings) -> None:
        """Apply new risk limits, whales and approval policy without dropping feeds."""
        self.strategy.reload(settings)  # first: it refuses settings it cannot run with whole
        self.settings = settings
        if self.advisors is not None:
            note = self.advisors.reload(settings.advisors)
            if note:
                self._notice("warning", note)
        self._notice("info", "configuration reloaded")
        self.bus.publish(ev.RiskChanged(self.risk_snapshot()))

    async def _on_retracted(self, dedup_key: object) -> None:
        self._notice("warning", f"chain reorg removed a whale trade: {dedup_key}")

    # --- trade flow ---------------------------------------------------------------------------

    async def on_whale_trade(self, trade: WhaleTrade) -> None:
        """A deduplicated whale trade arrived on the merged stream."""
        if self._stopping.is_set():
            return  # stopping: new entries end first, orders in flight still finish
        self.bus.publish(ev.WhaleTradeSeen(trade))
        if self._journal_failing():
            self.trades_not_copied += 1  # a restart's catch-up sees it again
            log.warning("whale trade not copied: %s", self._journal_failing())
            return
        started = self._started_wall
        max_age_s: float | None = None  # the strategy's own bound for live trades
        if self.catch_up_since is not None and started is not None and trade.match_time < started:
            # Missed while down: bounded by the catch-up window, counted from this run's start.
            since_start = (self.clock.now() - started).total_seconds()
            max_age_s = self.settings.feeds.catch_up_s + max(0.0, since_start)
            self.caught_up += 1
            log.info(
                "caught-up whale trade (missed while down): %s %s %s token %s, matched %s, "
                "seen %d s late via %s",
                trade.wallet,
                trade.side.value,
                trade.shares,
                trade.token_id,
                trade.match_time.isoformat(timespec="seconds"),
                trade.latency_ms // 1000,
                trade.source.value,
            )
        market = await self._market_for(trade.token_id)
        if self._watch_book(trade.token_id, market):
            await self._await_book(trade.token_id)
        result = self.strategy.on_trade(
            trade,
            market,
            self.books.get(trade.token_id),
            self._portfolio_view(),
            max_age_s=max_age_s,
        )
        self._journal_records(result.journal_records)
        signal = result.signal
        self._remember_signal(signal)
        intent = result.intent
        if intent is not None:
            self._intent_signal[intent.id] = signal.id
            self.journal.append("intent", intent_to_record(intent), ref=intent.id)
            self._persist_state()
            self.bus.publish(ev.IntentUpdated(intent))
            if self.advisors is not None and self.advisors.wants(intent):
                # The decision waits for the review (at most advisors.budget_ms), never longer.
                self.advisors.request(intent, market, self._on_review)
                return
            if self.strategy.approvals.policy_for(intent.wallet) == "auto":
                await self._approve(intent.id, by="policy")

    def _on_review(self, review: Any) -> None:
        self._enqueue(lambda: self._reconsidered(review))

    async def _reconsidered(self, review: Any) -> None:
        """The advisors' review of a pending buy, applied through the strategy's bounded hook."""
        outcome = self.strategy.reconsider(
            review.intent_id, review.adjust, review.note, self._portfolio_view()
        )
        self._journal_records(outcome.journal_records)
        intent = outcome.intent
        if intent is None or not outcome.journal_records:
            return  # decided before the review came: the review is journaled, nothing more
        self._persist_state()
        self._publish_intent_if_known(intent.id)
        if intent.status is IntentStatus.PENDING and (
            self.strategy.approvals.policy_for(intent.wallet) == "auto"
        ):
            await self._approve(intent.id, by="policy")

    async def _approve(self, intent_id: str, *, by: str) -> CommandResult:
        if self._stopping.is_set():
            return CommandResult(False, "the engine is stopping; no new orders are sent")
        if self._journal_failing():
            return CommandResult(False, f"new entries are halted: {self._journal_failing()}")
        outcome = self.strategy.approve(intent_id, self._portfolio_view())
        self._journal_records(outcome.journal_records)
        if not outcome.ok or outcome.intent is None:
            self._publish_intent_if_known(intent_id)
            return CommandResult(False, outcome.message)
        intent = outcome.intent
        self.journal.append(
            "decision",
            {"intent_id": intent.id, "action": "approved", "by": by, "reason": outcome.message},
            ref=intent.id,
        )
        self._persist_state()
        self.bus.publish(ev.IntentUpdated(intent))
        self._set_signal_status(intent.id, SignalStatus.APPROVED, outcome.message)
        task = asyncio.create_task(self._execute(intent), name=f"exec:{intent.id}")
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)
        return CommandResult(
            True,
            f"approved {intent.id}: {display.shares(intent.shares)} shares · "
            f"{intent.side.value} {intent.outcome} in {intent.market_question}",
        )

    async def _execute(self, intent: TradeIntent) -> None:
        order = Order(
            id=new_id("ord"),
            intent_id=intent.id,
            token_id=intent.token_id,
            side=intent.side,
            shares=intent.shares,
            limit_price=intent.limit_price,
            order_type=OrderType(
                getattr(self.broker, "entry_order_type", self.settings.paper.order_type)
            ),
            created_at=self.clock.now(),
            broker=self.broker.name,
        )
        await self._send_order(order, intent.sized_price, intent.whale_price, intent)

    async def _send_order(
        self,
        order: Order,
        sized_price: Decimal,
        whale_price: Decimal,
        intent: TradeIntent | None,
    ) -> None:
        market = await self._market_for(order.token_id)
        self._journal_order(order)
        if order.side is Side.BUY:
            # Until the broker reports, the order's money counts against the limits: a live
            # fill reaches the portfolio only at CONFIRMED, seconds after the match.
            condition = market.condition_id if market is not None else order.token_id
            cost = order.shares * order.limit_price
            self._pending_buys[order.id] = (condition, order.token_id, cost)
        try:
            report = await self.broker.execute(
                order, market, sized_price=sized_price, whale_price=whale_price
            )
        except Exception as exc:  # a broker bug must not kill the engine
            log.exception("broker failed on %s", order.id)
            report = None
            failed = replace(order, status=OrderStatus.FAILED, reason=f"broker error: {exc}")
            self._journal_order(failed)
        finally:
            self._pending_buys.pop(order.id, None)
        if report is not None:
            # With fills to follow, the statuses join the fills' transaction: a crash between
            # two commits would leave an order journaled as filled with no fill.
            for status_order in report.orders:
                self._journal_order(status_order, durable=not report.fills)
            for fill in report.fills:
                self._apply_fill(fill, market)
        if intent is not None:
            filled = report is not None and bool(report.fills)
            reason = "" if report is None else report.reason
            final = self.strategy.finish(intent.id, filled=filled, reason=reason)
            if final is not None:
                self.journal.append("intent", intent_to_record(final), ref=final.id, durable=True)
                self.bus.publish(ev.IntentUpdated(final))
            self._set_signal_status(
                intent.id,
                SignalStatus.FILLED if filled else SignalStatus.REJECTED,
                reason or ("filled" if filled else "not filled"),
            )
        self._publish_portfolio()

    def _apply_fill(self, fill: Fill, market: Market | None) -> None:
        # The fill and the portfolio state it produces commit in one transaction, so a crash
        # can never leave one without the other.
        self.portfolio.apply_fill(fill, market)
        self.strategy.on_fill(fill)
        self.journal.append("fill", fill_to_record(fill), ref=fill.id)
        self._persist_state()
        self.bus.publish(ev.FillReceived(fill))
        self._notice("info", display.fill_text(fill, market))

    async def on_market_resolved(
        self, condition_id: str, winning_token_id: str, at: datetime | None = None
    ) -> None:
        """Settle positions in a resolved market and update wallet scores."""
        await self.apply_resolution(Resolution.winner(condition_id, winning_token_id, "ws", at))

    async def apply_resolution(self, resolution: Resolution) -> None:
        """Settle positions and score wallets once per market, whichever source spoke first."""
        condition_id = resolution.condition_id
        if condition_id in self._resolved:
            self.resolutions_repeated += 1
            return
        self._resolved.add(condition_id)
        winning_token_id = resolution.winning_token_id
        at = resolution.at or self.clock.now()
        pays = resolution.payout
        held = {
            p.token_id: p
            for p in self.portfolio.positions_by_resolution(at)
            if p.condition_id == condition_id
        }
        settled = self.portfolio.settle(condition_id, winning_token_id, pays)
        records = self.strategy.on_market_resolved(condition_id, winning_token_id, at, pays)
        if settled:
            self._notice("info", display.settlement_text(resolution, held, settled), "settlement")
        self.journal.append(
            "settlement",
            {
                "condition_id": condition_id,
                "winning_token_id": winning_token_id,
                "at": at.isoformat(),
                "source": resolution.source,
                "payouts": {token: str(value) for token, value in resolution.payouts},
                "positions": settled,
            },
            ref=condition_id,
            durable=True,
        )
        self._journal_records(records)
        self._persist_state()
        if self.clob is not None:  # a settled market's books are not needed any more
            tokens = {token for token, _value in resolution.payouts}
            for token in self.books.tokens():
                book = self.books.get(token)
                if book is not None and book.condition_id == condition_id:
                    tokens.add(token)
            self.clob.unsubscribe(sorted(tokens))
        self.bus.publish(ev.MarketResolved(condition_id, winning_token_id, at))
        self._publish_portfolio()

    # --- commands -----------------------------------------------------------------------------

    async def _cmd_approve(self, intent_id: str) -> CommandResult:
        return await self._approve(str(intent_id), by="operator")

    async def _cmd_reject(
        self, intent_id: str, reason: str = "rejected by operator"
    ) -> CommandResult:
        outcome = self.strategy.reject(str(intent_id), reason)
        self._journal_records(outcome.journal_records)
        self._persist_state()
        if outcome.ok and outcome.intent is not None:
            self.bus.publish(ev.IntentUpdated(outcome.intent))
            self._set_signal_status(outcome.intent.id, SignalStatus.REJECTED, reason)
        return CommandResult(outcome.ok, outcome.message)

    async def _cmd_pause(self) -> CommandResult:
        self.strategy.risk.paused = True
        saved = await self._persist_flags()
        self._publish_state()
        return CommandResult(True, "paused: no new entries" + saved)

    async def _cmd_resume(self) -> CommandResult:
        if self.strategy.risk.killed:
            return CommandResult(False, "kill switch is on; restart to trade again")
        self.strategy.risk.paused = False
        saved = await self._persist_flags()
        self._publish_state()
        return CommandResult(True, "resumed" + saved)

    async def _cmd_kill(self) -> CommandResult:
        rejected = self.strategy.kill(self.clock.now())
        self._journal_records(rejected.journal_records)
        for intent in rejected.intents:
            self.bus.publish(ev.IntentUpdated(intent))
            self._set_signal_status(intent.id, SignalStatus.REJECTED, "kill switch")
        cancelled = ""
        try:
            count = await self.broker.cancel_all()
            cancelled = f", {count} open order(s) cancelled" if count else ""
        except Exception as exc:  # the switch stays on even when the exchange does not answer
            log.exception("cancel-all failed")
            self._notice("error", f"kill switch: cancelling open orders failed ({exc})")
            cancelled = ", cancelling open orders FAILED"
        # Durable before it is acknowledged: in the journal, or else as a marker file that
        # needs no disk space, so a restart comes back paused either way.
        saved = await self._persist_flags()
        folder = Path(self.journal.path).parent
        if saved and datadir.write_marker(folder):
            saved = f" (the journal cannot be written; saved as {folder / datadir.KILL_MARKER})"
        elif saved:
            self._publish_state()
            return CommandResult(
                False, f"kill switch on in memory but NOT saved{saved}; a restart would trade"
            )
        self._publish_state()
        return CommandResult(
            True, f"kill switch on: {len(rejected.intents)} pending rejected{cancelled}{saved}"
        )

    async def _cmd_reset_halt(self) -> CommandResult:
        self.strategy.risk.reset_halt()
        await self._persist_flags()
        self._publish_state()
        return CommandResult(True, "daily-loss halt reset")

    async def _cmd_close_position(self, token_id: str) -> CommandResult:
        order = self.portfolio.close_position(str(token_id), self.clock.now())
        if order is None:
            return CommandResult(False, f"no open position in {token_id}")
        if self.strategy.risk.killed:
            return CommandResult(False, "kill switch is on; no orders are sent")
        self._start_exit(order, "closed by operator")
        return CommandResult(True, f"closing {display.shares(order.shares)} shares")

    def _start_exit(self, order: Order, why: str) -> None:
        # One exit per token at a time: a second close while the first is in flight would sell
        # shares that are already being sold.
        if any(t.get_name() == f"exit:{order.token_id}" for t in self._inflight):
            return
        order = replace(
            order,
            id=new_id("ord"),
            broker=self.broker.name,
            reason=why,
            order_type=getattr(self.broker, "exit_order_type", order.order_type),
        )
        book = self.books.get(order.token_id)
        reference = book.best_bid if book is not None and book.best_bid else order.limit_price
        task = asyncio.create_task(
            self._send_order(order, reference, reference, None), name=f"exit:{order.token_id}"
        )
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _cmd_status(self) -> CommandResult:
        from polytui.config import settings_to_dict

        pnl = self.portfolio.pnl()
        running = settings_to_dict(self.settings)  # what a reload changes, as it runs now
        return CommandResult(
            True,
            f"{self.mode}: equity {display.money(pnl.equity_usd)}, "
            f"cash {display.money(pnl.cash_usd)}",
            {
                "mode": self.mode,
                "paused": self._state.paused,
                "halted": self._state.halted,
                "settings": {k: running[k] for k in ("strategy", "risk", "approval")},
            },
        )

    # --- periodic work ------------------------------------------------------------------------

    async def _settle_heap(self) -> None:
        """Settle the heap once the feeds are up (their libraries are imported by then)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_AFTER_S
        while loop.time() < deadline and not all(s.connected for s in self.feed_statuses()):
            await asyncio.sleep(0.25)
        settle_heap()

    async def _tick_loop(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # the tick must survive a bug in one of its parts
                log.exception("engine tick failed")
            await asyncio.sleep(self.tick_s)

    def tick(self) -> None:
        """Expire intents, mark positions, publish health, snapshot equity, flush."""
        now = self.clock.now()
        mono = self.clock.monotonic()
        expired = self.strategy.expire_due(now)
        if expired:
            self._persist_state()
        for intent in expired:
            self.journal.append("intent", intent_to_record(intent), ref=intent.id)
            self.bus.publish(ev.IntentUpdated(intent))
            self._set_signal_status(intent.id, SignalStatus.EXPIRED, "approval TTL passed")
            self._notice("info", f"intent {intent.id} expired")
        self.strategy.probe_taxes(self.books.get)
        self._mark_positions()
        for order in self.portfolio.exits_due(now):
            self._start_exit(order, "take-profit / stop-loss")
        for token_id in self._dirty_books:
            book = self.books.get(token_id)
            if book is not None:
                self.bus.publish(ev.BookChanged(book.top()))
        self._dirty_books.clear()
        if mono - self._last_feed_status >= FEED_STATUS_EVERY_S:
            self._last_feed_status = mono
            self.bus.publish(ev.FeedStatusChanged(self.feed_statuses()))
            self.bus.publish(ev.RiskChanged(self.risk_snapshot()))
            self._publish_state()
        if mono - self._last_equity >= EQUITY_EVERY_S:
            self._last_equity = mono
            self.portfolio.record_equity()
            pnl = self.portfolio.pnl()
            self.journal.record_equity(now, pnl.equity_usd, pnl.cash_usd)
            self.journal.maybe_daily_backup(now)
        self._save_cursor()
        self._announce_catch_up()
        self.journal.flush()
        self._watch_journal()

    def _journal_failing(self) -> str:
        """Why the journal cannot be written now ("" while it can): new entries halt."""
        return str(getattr(self.journal, "fault", "") or "")

    def _watch_journal(self) -> None:
        """Announce a journal that starts or stops failing (the tick retries the writes)."""
        fault = self._journal_failing()
        if fault == self._journal_fault:
            return
        self._journal_fault = fault
        if fault:
            self._notice("error", f"{fault}: new entries halted; exits and kill still work")
        else:
            self._notice("info", "the journal is written again: new entries resume")
            if self.strategy.risk.killed or self.strategy.risk.paused:
                datadir.clear_marker(Path(self.journal.path).parent)
        self._publish_state()

    # --- catch-up after a restart -------------------------------------------------------------

    def _whales_idle(self) -> bool:
        """Every whale trade a source has emitted so far has been through the strategy."""
        stream_busy = self.stream is not None and getattr(self.stream, "pending", 0) > 0
        return self._inbox.empty() and not self._inbox_busy and not stream_busy

    def _save_cursor(self) -> None:
        """Save each whale source's high-water mark, with the tick's flush (not per frame).

        Only when no whale trade is queued or in the strategy: then every trade below the marks
        has its signal in the same transaction, so a crash can never leave a mark ahead of a
        trade that was not journaled. Not once stopping: new trades are dropped then, and the next
        run catches them up. ``at`` (when we were last alive) is refreshed every
        ``CURSOR_EVERY_S`` even when the marks did not move.
        """
        stopping = self._stopping.is_set()
        if self.settings.feeds.catch_up_s <= 0 or stopping or not self._whales_idle():
            return
        cursor = dict(self._cursor)
        chain = self.feeds.get("chain")
        block = getattr(chain, "last_block", None)
        if isinstance(block, int):
            cursor["chain_block"] = block
        newest = getattr(self.feeds.get("dataapi"), "newest", None)
        if isinstance(newest, datetime):
            cursor["dataapi_ts"] = int(newest.timestamp())
        mono = self.clock.monotonic()
        moved = {k: v for k, v in cursor.items() if k != "at"} != {
            k: v for k, v in self._cursor.items() if k != "at"
        }
        if not (moved or mono - self._cursor_saved_at >= CURSOR_EVERY_S):
            return
        cursor["at"] = self.clock.now().isoformat()
        covered_from = self.catch_up_since or self._started_wall
        if covered_from is not None:
            cursor["from"] = covered_from.isoformat()
        self.journal.set_state(CURSOR_KEY, cursor)
        self._cursor = cursor
        self._cursor_saved_at = mono

    def restore_cursor(self, cursor: dict[str, Any]) -> None:
        """Start from the marks saved by the previous run (kept until the sources pass them)."""
        self._cursor = {k: v for k, v in cursor.items() if k in ("chain_block", "dataapi_ts")}

    def _announce_catch_up(self) -> None:
        since = self.catch_up_since
        if since is None or self._catch_up_announced or not self._whales_idle():
            return
        if not all(getattr(f, "catch_up_done", True) for f in self.feeds.values()):
            return
        self._catch_up_announced = True
        self._notice(
            "info",
            f"caught up {self.caught_up} whale trades missed while down "
            f"(since {since.isoformat(timespec='seconds')})",
        )

    def _mark_positions(self) -> None:
        changed = False
        for token_id in self.portfolio.tokens():
            book = self.books.get(token_id)
            if book is None or book.stale:
                continue
            changed |= bool(self.portfolio.mark(token_id, book.best_bid, book.mid))
        if changed:
            self._publish_portfolio()

    # --- views --------------------------------------------------------------------------------

    def feed_statuses(self) -> tuple[FeedStatus, ...]:
        """Every feed's counters (never touches the network); a feed with several connections
        (the market channel, past 200 assets) gives one row per connection. The merged whale
        stream's state is its sources' (see :func:`merged_stream_status`)."""
        rows: list[FeedStatus] = []
        for feed in self.feeds.values():
            many = getattr(feed, "statuses", None)
            rows.extend(many() if many is not None else (feed.status(),))
        return tuple(merged_stream_status(r, rows) if r.name == "stream" else r for r in rows)

    def risk_snapshot(self) -> Any:
        """RiskGuard's limits and their use."""
        return self.strategy.risk_snapshot(self._portfolio_view())

    def _portfolio_view(self) -> Any:
        view = self.portfolio.view(self.clock.now(), self._feeds_stale())
        if not self._pending_buys:
            return view
        # Buys on their way (sent, not yet reported) are exposure already.
        by_market = dict(view.exposure_by_market)
        new_tokens: set[str] = set()
        for condition, token, usd_amount in self._pending_buys.values():
            by_market[condition] = by_market.get(condition, Decimal(0)) + usd_amount
            if view.shares_by_token.get(token, Decimal(0)) <= 0:
                new_tokens.add(token)
        extra = sum((usd_amount for _, _, usd_amount in self._pending_buys.values()), Decimal(0))
        return replace(
            view,
            cash_usd=view.cash_usd - extra,
            total_exposure_usd=view.total_exposure_usd + extra,
            exposure_by_market=by_market,
            open_positions=view.open_positions + len(new_tokens),
        )

    def _feeds_stale(self) -> bool:
        """True when every whale source has been silent longer than ``stale_feed_halt_s``.

        Books are judged one by one (a stale book blocks trades in that token only); the
        chain subscription is filtered to watched wallets and may be quiet for good reasons,
        so the whale feed is stale only when no source has delivered data recently.
        """
        limit = self.settings.risk.stale_feed_halt_s
        ages = [
            feed.status().last_data_age_s
            for name, feed in self.feeds.items()
            if name in WHALE_SOURCES
        ]
        if not ages:
            return False
        return all(age is None or age > limit for age in ages)

    # --- helpers ------------------------------------------------------------------------------

    async def _market_for(self, token_id: str) -> Market | None:
        # The directory answers from its cache within the TTL and asks Gamma again after it,
        # so fees, ticks and the closed state of a long-running engine follow the market.
        try:
            market: Market | None = await self.markets.get_by_token(token_id)
        except Exception:
            log.exception("market lookup failed for %s", token_id)
            return None
        return market

    def _watch_book(self, token_id: str, market: Market | None) -> bool:
        """Ask the market channel for the book of a traded market (each trade renews the
        interest; the channel drops tokens nobody wants any more). False for a closed,
        settled or unsupported market: its book is not needed and is not asked for."""
        if self.clob is None:
            return False
        tokens = [token_id]
        if market is not None:
            if market.closed or market.unsupported or market.condition_id in self._resolved:
                return False
            tokens = [o.token_id for o in market.outcomes] or tokens
        self.clob.subscribe(tokens)
        return True

    def book_tokens_in_use(self) -> set[str]:
        """Tokens whose book the engine needs whatever their age: held positions, orders in
        flight and trades awaiting approval (the market channel keeps these subscribed)."""
        tokens = {p.token_id for p in self.portfolio.positions_by_resolution(self.clock.now())}
        tokens.update(token for _cid, token, _usd in self._pending_buys.values())
        tokens.update(intent.token_id for intent in self.strategy.approvals.pending())
        return tokens

    def _remember_signal(self, signal: Signal) -> None:
        if signal.id not in self._signals:
            self._signal_order.append(signal.id)
            while len(self._signal_order) > SIGNALS_KEPT:
                self._signals.pop(self._signal_order.popleft(), None)
        self._signals[signal.id] = signal
        self.bus.publish(ev.SignalUpdated(signal))

    def _set_signal_status(self, intent_id: str, status: SignalStatus, reason: str) -> None:
        signal_id = self._intent_signal.get(intent_id)
        signal = self._signals.get(signal_id) if signal_id else None
        if signal is None:
            return
        updated = replace(signal, status=status, reason=reason)
        self._signals[signal.id] = updated
        self.bus.publish(ev.SignalUpdated(updated))

    def _publish_intent_if_known(self, intent_id: str) -> None:
        intent = self.strategy.approvals.get(intent_id)
        if intent is not None:
            self.bus.publish(ev.IntentUpdated(intent))
            if intent.status is not IntentStatus.PENDING:
                self._set_signal_status(intent.id, SignalStatus(intent.status.value), intent.reason)

    def _publish_portfolio(self) -> None:
        now = self.clock.now()
        self.bus.publish(ev.PositionsChanged(tuple(self.portfolio.positions_by_resolution(now))))
        self.bus.publish(ev.PnLChanged(self.portfolio.pnl()))

    def _publish_state(self) -> None:
        risk = self.strategy.risk
        self._state = EngineState(
            mode=self.mode,
            paused=risk.paused,
            killed=risk.killed,
            halted=risk.halted or bool(self._journal_failing()),
            halt_reason=self._journal_failing() or risk.halt_reason,
            demo=self.demo,
        )
        self.bus.publish(ev.EngineStateChanged(self._state))

    def _notice(self, level: str, message: str, component: str = "engine") -> None:
        getattr(log, level if level != "warn" else "warning")(message)
        self.bus.publish(ev.Notice(level, message, component))

    def _journal_order(self, order: Order, *, durable: bool = True) -> None:
        self.journal.append("order", order_to_record(order), ref=order.id, durable=durable)
        self.bus.publish(ev.OrderUpdated(order))

    def _journal_records(self, records: Any) -> None:
        for kind, ref, payload in records or ():
            self.journal.append(kind, payload, ref=ref)

    async def _persist_flags(self) -> str:
        """Save the flags before the command is answered: "" when durable, else why not.

        Group commit: the commands answered in one turn of the loop share one fsync, and each
        waits for it without holding the loop, so a flood of pause/resume lines neither costs
        one synchronous fsync apiece in a row nor starves the other clients meanwhile.
        """
        self.journal.set_state("strategy", self.strategy.export_state())
        self.journal.set_state("portfolio", self.portfolio.export_state())
        if self._group_commit is None:
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self._group_commit = future
            asyncio.get_running_loop().call_soon(self._commit_group, future)
        if await asyncio.shield(self._group_commit) is False:
            return f" (not saved: {self._journal_failing()}; retried every second)"
        return ""

    def _commit_group(self, future: asyncio.Future[bool]) -> None:
        self._group_commit = None
        try:
            durable = self.journal.flush(force=True) is not False
        except Exception as exc:  # a bug in the journal must answer the commands, not hang them
            future.set_exception(exc)
            return
        future.set_result(durable)

    def _persist_state(self) -> bool | None:
        """Save strategy and portfolio state; the journal's events remain the record."""
        self.journal.set_state("strategy", self.strategy.export_state())
        self.journal.set_state("portfolio", self.portfolio.export_state())
        return self.journal.flush()

    def _restore(self) -> None:
        """Resume queue, scores, flags and positions saved by the previous run."""
        strategy_state = self.journal.get_state("strategy")
        if strategy_state:
            self.strategy.restore_state(strategy_state, self.clock.now())
        portfolio_state = self.journal.get_state("portfolio")
        if portfolio_state:
            self.portfolio.restore_state(portfolio_state)
        folder = Path(getattr(self.journal, "path", "") or ".").parent
        if getattr(self.journal, "path", None) and datadir.marker_present(folder):
            # A kill acknowledged while the journal could not be written: come back paused.
            self.strategy.risk.paused = True
            self._notice("warning", "the kill switch was on when the journal failed: paused")
            if self._persist_state() is not False:
                datadir.clear_marker(folder)


def build_engine(
    loaded: Any, live: bool = False, demo: bool = False, clock: Clock | None = None, **kw: Any
) -> Engine:
    """Assemble a real engine from a loaded config (see ``polytui.wiring``)."""
    from polytui.wiring import build_engine as assemble

    engine: Engine = assemble(loaded, live=live, demo=demo, clock=clock, **kw)
    return engine
