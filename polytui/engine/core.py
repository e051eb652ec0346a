"""The engine: the only owner of trading state, and its only writer.

It runs on one asyncio loop (hosted by the Textual app as workers, or by ``asyncio.run`` in the
daemon), takes whale trades and market results from its inbox, asks the strategy for signals
and sized intents, queues them for approval, sends approved orders through the order desk,
applies fills to the portfolio, journals every decision and publishes events on the bus. It
is the only object that appends to the journal, applies a fill or publishes. It imports
nothing from the UI.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable, Mapping
from decimal import Decimal
from typing import Any

from polytui import display
from polytui import events as ev
from polytui.bus import Subscription
from polytui.engine.cold import ColdMarkets, Readiness
from polytui.engine.commands import Commands
from polytui.engine.inbox import (
    LateFill,
    Message,
    Noticed,
    Resolved,
    Retracted,
    Reviewed,
    TradeArrived,
    TxGone,
    TxMined,
)
from polytui.engine.parts import EngineParts
from polytui.engine.pending import PendingTrades
from polytui.engine.ports import AsyncReports, Feed, Review
from polytui.engine.publish import Publisher
from polytui.engine.settlement import Settlement
from polytui.engine.store import StateStore
from polytui.engine.supervisor import FeedSupervisor
from polytui.engine.upkeep import Upkeep
from polytui.model import (
    CommandResult,
    EngineState,
    FeedStatus,
    Fill,
    IntentStatus,
    Market,
    Order,
    PortfolioView,
    Resolution,
    RiskSnapshot,
    SignalStatus,
    TradeIntent,
    WhaleTrade,
)
from polytui.model.records import fill_to_record, intent_to_record, order_to_record
from polytui.settings import Settings
from polytui.strategy.pipeline import Record

log = logging.getLogger(__name__)

SHUTDOWN_WAIT_S = 10.0


class Engine:
    """Feeds → strategy → approvals → broker → portfolio, journal and bus; built whole from
    its parts (``polytui.wiring`` assembles the real ones)."""

    def __init__(self, parts: EngineParts) -> None:
        self.settings = parts.settings
        self.journal = parts.journal
        self.strategy = parts.strategy
        self.broker = parts.broker
        self.portfolio = parts.portfolio
        self.books = parts.books
        self.markets = parts.markets
        self.stream = parts.stream
        self.clob = parts.channel
        self.bus = parts.bus
        self.clock = parts.clock
        self.tick_s = parts.tick_s
        self.mode = parts.mode
        self.demo = parts.demo
        self.journal_path = parts.journal_path
        self.advisors = parts.advisors
        self.inbox = parts.inbox
        self.desk = parts.desk
        self.interest = parts.interest
        self.cursor = parts.cursor
        self._reports = parts.reports
        self.supervisor = FeedSupervisor(
            parts.feeds,
            sharded=parts.sharded,
            watchers=parts.watchers,
            channel=parts.channel,
            watch=parts.watch,
        )
        self.store = StateStore(parts.journal, parts.strategy, parts.portfolio)
        self.publisher = Publisher(
            parts.bus, parts.portfolio, parts.strategy, parts.clock, mode=self.mode, demo=self.demo
        )
        self.settlement = Settlement(
            journal=parts.journal,
            portfolio=parts.portfolio,
            strategy=parts.strategy,
            books=parts.books,
            clock=parts.clock,
            interest=parts.interest,
            store=self.store,
            supervisor=self.supervisor,
            publisher=self.publisher,
        )
        self._commands = Commands(self)
        self.pending = PendingTrades(
            parts.journal, parts.strategy, self.publisher, self._commands.reject
        )
        # Trades whose market is not ready wait beside the inbox (polytui.engine.cold).
        ready = Readiness(self.markets, self.books, self.supervisor, self.interest.settled)
        self.cold = ColdMarkets(self.inbox, ready=ready.ready, prepare=ready.prepare)
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = asyncio.Event()
        self._upkeep = Upkeep(self)
        self.trades_not_copied = 0  # whale trades dropped while the journal could not be written

    # --- EngineAPI ----------------------------------------------------------------------------

    def snapshot(self) -> ev.Snapshot:
        """Everything a newly attached client needs before the live stream."""
        return ev.Snapshot(
            state=self.publisher.state,
            positions=tuple(self.portfolio.positions_by_resolution(self.clock.now())),
            intents=tuple(self.strategy.approvals.pending()),
            signals=self.publisher.signals.recent(),
            pnl=self.portfolio.pnl(),
            feeds=self.feed_statuses(),
            risk=self.risk_snapshot(),
        )

    def subscribe(self, maxsize: int = 10_000) -> Subscription:
        """A bounded subscription to every event from now on."""
        return self.bus.subscribe(maxsize)

    async def command(self, name: str, **args: Any) -> CommandResult:
        """Run one operator command; bad input is answered, never raised."""
        return await self._commands.run(name, **args)

    @property
    def state(self) -> EngineState:
        """The flags as last published."""
        return self.publisher.state

    @property
    def feeds(self) -> Mapping[str, Feed]:
        """Every feed the engine runs, by name."""
        return self.supervisor.feeds

    # --- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run feeds and the engine loop until ``stop()``."""
        self.cursor.start(self.clock.now())
        self.restore()
        self.publish_state()
        self.notice("info", f"engine started in {self.mode} mode")
        reports = self._reports
        if reports is not None:
            # A broker that reports asynchronously (live) gets the journal and the portfolio.
            reports.bind(
                on_order=self.journal_order, on_fill=self.inbox.submit_fill, on_record=self._record
            )
        self._tasks.extend(self.supervisor.start())
        if reports is not None:
            self._spawn(self._start_broker(reports), "broker:start")
        self._spawn(self._tick_loop(), "engine:tick")
        self._spawn(self.inbox.serve(self._handle), "engine:inbox")
        self._spawn(self.supervisor.freeze_heap_when_up(), "engine:freeze-heap")
        try:
            await self._stopping.wait()
        finally:
            await self._shutdown()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def stop(self) -> None:
        """Stop new entries, let in-flight fills finish, flush, close feeds."""
        self._stopping.set()

    async def _shutdown(self) -> None:
        self.cold.close()
        self.store.save_due()
        await self.desk.wait(SHUTDOWN_WAIT_S)
        if self.advisors is not None:
            with contextlib.suppress(Exception):
                await self.advisors.stop()
        await self.supervisor.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._reports is not None:
            with contextlib.suppress(Exception):
                await self._reports.close()
        self.journal.flush()

    async def _start_broker(self, reports: AsyncReports) -> None:
        """Live: clock, balance and allowance checks, and reconciliation with the journal."""
        positions = self.portfolio_view().shares_by_token
        notices, balance = await self.desk.start(reports, positions, self.journal)
        for level, message in notices:
            self.notice(level, message)
        fresh = self.portfolio.untouched() and self.journal.count("fill") == 0
        if balance is not None and fresh:
            # A first live run starts from the exchange's pUSD balance, not a paper figure.
            self.portfolio.start_from(balance)
            self.store.save()
            self.publisher.portfolio_changed()

    def _record(self, kind: str, ref: str, payload: dict[str, Any]) -> None:
        self.journal.append(kind, payload, ref=ref, durable=True)

    # --- the inbox ----------------------------------------------------------------------------

    async def _handle(self, message: Message) -> None:
        match message:
            case TradeArrived(trade, None):
                if not self.cold.park(trade):  # its market is ready: decided now
                    await self.on_whale_trade(trade, "")
            case TradeArrived(trade, not_ready):  # back from waiting for its market
                self.cold.decided(trade)
                await self.on_whale_trade(trade, not_ready)
            case Resolved(resolution):
                await self.apply_resolution(resolution)
            case Retracted(key):
                self.notice("warning", f"chain reorg removed a whale trade: {key}")
            case LateFill(fill):
                self._apply_fill(fill, await self.market_for(fill.token_id))
                self.publisher.portfolio_changed()
            case Reviewed(review):
                await self._reconsidered(review)
            case TxMined(key, settled) if not self.cold.after(key, message):
                self.pending.confirm(key, settled)
            case TxGone(key, reason) if not self.cold.after(key, message):
                await self.pending.retract(key, reason)
            case Noticed(level, text, component):
                self.notice(level, text, component)

    def idle(self) -> bool:
        """Nothing queued, enriching or executing (replay and tests wait for this)."""
        return self.inbox.empty() and not self.desk.in_flight and self.stream.pending <= 0

    async def drain(self) -> None:
        """Process everything queued so far (tests and replay)."""
        await self.inbox.drain(self._handle)

    def reload(self, settings: Settings) -> None:
        """Apply new risk limits, whales and approval policy without dropping feeds."""
        self.strategy.reload(settings)  # first: it refuses settings it cannot run with whole
        self.settings = settings
        self.desk.reload(settings)
        if self.advisors is not None:
            note = self.advisors.reload(settings.advisors)
            if note:
                self.notice("warning", note)
        self.notice("info", "configuration reloaded")
        self.bus.publish(ev.RiskChanged(self.risk_snapshot()))

    def watch_wallets(self, wallets: Iterable[str]) -> None:
        """The watch list changed (after ``reload``): the whale sources follow it."""
        self.supervisor.watch_wallets(wallets)

    # --- trade flow ---------------------------------------------------------------------------

    async def on_whale_trade(self, trade: WhaleTrade, not_ready: str | None = None) -> None:
        """A deduplicated whale trade arrived on the merged stream. ``not_ready``: "" when its
        market is ready (no wait here), else why not (decided on what is known, unsized)."""
        if self._stopping.is_set():
            return  # stopping: new entries end first, orders in flight still finish
        self.bus.publish(ev.WhaleTradeSeen(trade))
        if self.store.fault():
            self.trades_not_copied += 1  # a restart's catch-up sees it again
            log.warning("whale trade not copied: %s", self.store.fault())
            return
        max_age_s = self.cursor.max_age_s(trade)
        book = None
        if not_ready:  # no lookup and no wait in the inbox: what is known now, and no book
            market = self.markets.cached(trade.token_id)
        else:
            market = await self.market_for(trade.token_id)
            watched = self.supervisor.watch_book(trade.token_id, market, self.interest.settled)
            if watched and not_ready is None:  # a direct call (tests): the old bounded wait
                await self.supervisor.watch.wait_for(trade.token_id)
            book = self.books.get(trade.token_id)
        view = self.portfolio_view()
        result = self.strategy.on_trade(trade, market, book, view, max_age_s=max_age_s)
        for kind, _ref, payload in result.journal_records if not_ready else ():
            if kind == "signal":
                payload["not_ready"] = not_ready
        self.journal_records(result.journal_records)
        signal = result.signal
        self.publisher.signal(signal)
        intent = result.intent
        if intent is None:
            return
        self.publisher.signals.link(intent.id, signal.id)
        self.journal.append("intent", intent_to_record(intent), ref=intent.id)
        reviewed = self.advisors is not None and self.advisors.wants(intent)
        if not reviewed and self.strategy.approvals.policy_for(intent.wallet) != "auto":
            # It waits for the operator: shown now, saved with the next tick like its signal
            # (a restart's catch-up sees the trade again if that commit never comes); an
            # approval commits before any order is sent.
            self.publisher.intent(intent)
            self.store.save_soon()
            return
        self.store.save()
        self.publisher.intent(intent)
        if self.advisors is not None and reviewed:
            # The decision waits for the review (at most advisors.budget_ms), never longer.
            self.advisors.request(intent, market, self.inbox.submit_review)
        else:
            await self.approve(intent.id, by="policy")

    async def _reconsidered(self, review: Review) -> None:
        """The advisors' review of a pending buy, applied through the strategy's bounded hook."""
        outcome = self.strategy.reconsider(
            review.intent_id, review.adjust, review.note, self.portfolio_view()
        )
        self.journal_records(outcome.journal_records)
        intent = outcome.intent
        if intent is None or not outcome.journal_records:
            return  # decided before the review came: the review is journaled, nothing more
        self.store.save()
        self.publisher.intent_if_known(intent.id)
        if intent.status is IntentStatus.PENDING and (
            self.strategy.approvals.policy_for(intent.wallet) == "auto"
        ):
            await self.approve(intent.id, by="policy")

    async def approve(self, intent_id: str, *, by: str) -> CommandResult:
        """Approve a pending intent and send its order (``by``: "operator" or "policy")."""
        if self._stopping.is_set():
            return CommandResult(False, "the engine is stopping; no new orders are sent")
        if self.store.fault():
            return CommandResult(False, f"new entries are halted: {self.store.fault()}")
        outcome = self.strategy.approve(intent_id, self.portfolio_view())
        self.journal_records(outcome.journal_records)
        if not outcome.ok or outcome.intent is None:
            self.publisher.intent_if_known(intent_id)
            return CommandResult(False, outcome.message)
        intent = outcome.intent
        self.journal.append(
            "decision",
            {"intent_id": intent.id, "action": "approved", "by": by, "reason": outcome.message},
            ref=intent.id,
        )
        self.store.save()
        self.publisher.intent(intent)
        self.publisher.signal_status(intent.id, SignalStatus.APPROVED, outcome.message)
        order = self.desk.entry_order(intent)
        work = self._send(order, intent.sized_price, intent.whale_price, intent)
        self.desk.launch(work, name=f"exec:{intent.id}")
        return CommandResult(
            True,
            f"approved {intent.id}: {display.shares(intent.shares)} shares · "
            f"{intent.side.value} {intent.outcome} in {intent.market_question}",
        )

    def start_exit(self, order: Order, why: str) -> None:
        """Sell ``order``'s shares (one exit per token at a time), priced at the best bid."""
        exit_order = self.desk.exit_order(order, why)
        if exit_order is None:
            return
        book = self.books.get(exit_order.token_id)
        reference = book.best_bid if book is not None and book.best_bid else order.limit_price
        work = self._send(exit_order, reference, reference, None)
        self.desk.launch(work, name=f"exit:{exit_order.token_id}")

    async def _send(
        self,
        order: Order,
        sized_price: Decimal,
        whale_price: Decimal,
        intent: TradeIntent | None,
    ) -> None:
        """One order's whole path: journaled, executed, its fills applied, its intent ended."""
        market = await self.market_for(order.token_id)
        self.journal_order(order)
        report = await self.desk.execute(
            order, market, sized_price=sized_price, whale_price=whale_price
        )
        # With fills to follow, the statuses join the fills' transaction: a crash between
        # two commits would leave an order journaled as filled with no fill.
        for status_order in report.orders:
            self.journal_order(status_order, durable=not report.fills)
        for fill in report.fills:
            self._apply_fill(fill, market)
        if intent is not None:
            filled = bool(report.fills)
            reason = report.reason
            final = self.strategy.finish(intent.id, filled=filled, reason=reason)
            if final is not None:
                self.journal.append("intent", intent_to_record(final), ref=final.id, durable=True)
                self.publisher.intent(final)
            self.publisher.signal_status(
                intent.id,
                SignalStatus.FILLED if filled else SignalStatus.REJECTED,
                reason or ("filled" if filled else "not filled"),
            )
        self.publisher.portfolio_changed()

    def _apply_fill(self, fill: Fill, market: Market | None) -> None:
        # The fill and the portfolio state it produces commit in one transaction, so a crash
        # can never leave one without the other.
        self.portfolio.apply_fill(fill, market)
        self.strategy.on_fill(fill)
        self.journal.append("fill", fill_to_record(fill), ref=fill.id)
        self.store.save()
        self.bus.publish(ev.FillReceived(fill))
        self.notice("info", display.fill_text(fill, market))

    async def apply_resolution(self, resolution: Resolution) -> None:
        """Settle positions and score wallets once per market, whichever source spoke first."""
        self.settlement.apply(resolution)

    # --- periodic work ------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while True:
            try:
                self.tick()
            except Exception:  # the tick must survive a bug in one of its parts
                log.exception("engine tick failed")
            await asyncio.sleep(self.tick_s)

    def tick(self) -> None:
        """Expire intents, mark positions, publish health, snapshot equity, flush."""
        self._upkeep.tick()

    @property
    def stopping(self) -> bool:
        """``stop()`` was called: no new entries, orders in flight still finish."""
        return self._stopping.is_set()

    # --- views --------------------------------------------------------------------------------

    def feed_statuses(self) -> tuple[FeedStatus, ...]:
        """Every feed's health rows (see ``FeedSupervisor.statuses``)."""
        return self.supervisor.statuses()

    def risk_snapshot(self) -> RiskSnapshot:
        """RiskGuard's limits and their use."""
        return self.strategy.risk_snapshot(self.portfolio_view())

    def portfolio_view(self) -> PortfolioView:
        """The portfolio as the limits see it: buys on their way are exposure already."""
        stale = self.supervisor.whales_stale(self.settings.risk.stale_feed_halt_s)
        return self.desk.view(self.portfolio.view(self.clock.now(), stale))

    async def market_for(self, token_id: str) -> Market | None:
        """The market of ``token_id``, or None when the lookup fails (logged)."""
        # The directory answers from its cache within the TTL and asks Gamma again after it,
        # so fees, ticks and the closed state of a long-running engine follow the market.
        try:
            return await self.markets.get_by_token(token_id)
        except Exception:
            log.exception("market lookup failed for %s", token_id)
            return None

    # --- journaling ---------------------------------------------------------------------------

    def notice(self, level: str, message: str, component: str = "engine") -> None:
        """Log and publish a line for the operator."""
        self.publisher.notice(level, message, component)

    def publish_state(self) -> None:
        """Publish the engine's flags (paused, killed, halted and why)."""
        self.publisher.flags(self.store.fault())

    def journal_order(self, order: Order, *, durable: bool = True) -> None:
        """Journal one status of an order, and publish it."""
        self.journal.append("order", order_to_record(order), ref=order.id, durable=durable)
        self.publisher.order(order)

    def journal_records(self, records: list[Record]) -> None:
        """Journal what the strategy asked to (kind, ref, payload)."""
        for kind, ref, payload in records or ():
            self.journal.append(kind, payload, ref=ref)

    def restore(self) -> None:
        """Resume queue, scores, flags and positions saved by the previous run."""
        warning = self.store.restore(self.clock.now())
        if warning:
            self.notice("warning", warning)
